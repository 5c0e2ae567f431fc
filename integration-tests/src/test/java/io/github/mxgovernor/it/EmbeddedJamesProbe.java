package io.github.mxgovernor.it;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.Username;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.mailbox.MessageManager;
import org.apache.james.mailbox.exception.MailboxException;
import org.apache.james.mailbox.model.FetchGroup;
import org.apache.james.mailbox.model.MailboxPath;
import org.apache.james.mailbox.model.MessageRange;
import org.apache.james.mailbox.model.MessageResult;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.mailrepository.api.MailRepositoryStore;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.utils.GuiceProbe;
import org.apache.mailet.Mail;

import reactor.core.publisher.Mono;

/** Reads the embedded James's mailboxes, mail queues and mail repositories; see {@link EmbeddedJames}. */
public class EmbeddedJamesProbe implements GuiceProbe {
    private final MailboxManager mailboxManager;
    private final MailQueueFactory<? extends ManageableMailQueue> queues;
    private final MailRepositoryStore repositories;

    @Inject
    public EmbeddedJamesProbe(MailboxManager mailboxManager, MailQueueFactory<? extends ManageableMailQueue> queues,
                              MailRepositoryStore repositories) {
        this.mailboxManager = mailboxManager;
        this.queues = queues;
        this.repositories = repositories;
    }

    /** The full content of every message in {@code user}'s INBOX, oldest first; empty when there is no INBOX yet. */
    public List<byte[]> inboxMessages(String user) throws MailboxException, IOException {
        MailboxSession session = mailboxManager.createSystemSession(Username.of(user));
        try {
            MailboxPath inbox = MailboxPath.inbox(session);
            if (!Mono.from(mailboxManager.mailboxExists(inbox, session)).block()) {
                return List.of();
            }
            MessageManager messageManager = mailboxManager.getMailbox(inbox, session);
            List<byte[]> contents = new ArrayList<>();
            Iterator<MessageResult> results = messageManager.getMessages(MessageRange.all(), FetchGroup.FULL_CONTENT,
                session);
            while (results.hasNext()) {
                try (InputStream content = results.next().getFullContent().getInputStream()) {
                    contents.add(content.readAllBytes());
                }
            }
            return contents;
        } finally {
            mailboxManager.endProcessingRequest(session);
        }
    }

    /**
     * Mails in the queue, waiting or taken by a consumer that has not finished with them (James's memory queue counts
     * both); 0 for a queue never created.
     */
    public long queueSize(String queueName) throws MessagingException {
        return queue(queueName).map(this::size).orElse(0L);
    }

    /** Makes every waiting mail of the queue due now. */
    public void flushQueue(String queueName) throws MessagingException {
        ManageableMailQueue queue = queue(queueName)
            .orElseThrow(() -> new IllegalArgumentException("no mail queue named '" + queueName + "'"));
        queue.flush();
    }

    private Optional<? extends ManageableMailQueue> queue(String queueName) {
        return queues.getQueue(MailQueueName.of(queueName));
    }

    private long size(ManageableMailQueue queue) {
        try {
            return queue.getSize();
        } catch (MessagingException e) {
            throw new IllegalStateException("cannot read the size of mail queue " + queue.getName(), e);
        }
    }

    public long repositorySize(String url) throws MessagingException, MailRepositoryStore.MailRepositoryStoreException {
        return repositories.select(MailRepositoryUrl.from(url)).size();
    }

    /** The mails stored in the repository at {@code url}, e.g. {@code memory://var/mail/error/}. */
    public List<Mail> repositoryMails(String url)
        throws MessagingException, MailRepositoryStore.MailRepositoryStoreException {
        MailRepository repository = repositories.select(MailRepositoryUrl.from(url));
        List<Mail> mails = new ArrayList<>();
        Iterator<MailKey> keys = repository.list();
        while (keys.hasNext()) {
            Mail mail = repository.retrieve(keys.next());
            if (mail != null) {
                mails.add(mail);
            }
        }
        return mails;
    }
}

package io.github.mxgovernor.bench;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;

import javax.inject.Inject;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.mailrepository.api.MailRepositoryStore;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.utils.GuiceProbe;
import org.apache.mailet.Mail;

/**
 * Moves mails held in a repository onto a mail queue, all due at one instant, so that a benchmark measures delivery
 * from a full queue rather than SMTP submission.
 */
public class BenchProbe implements GuiceProbe {
    private final MailQueueFactory<? extends ManageableMailQueue> queues;
    private final MailRepositoryStore repositories;

    @Inject
    public BenchProbe(MailQueueFactory<? extends ManageableMailQueue> queues, MailRepositoryStore repositories) {
        this.queues = queues;
        this.repositories = repositories;
    }

    /**
     * Moves every mail of the repository at {@code repositoryUrl} onto {@code queueName}, due at {@code dueAt}
     * (exactly what the delivery mailets' {@code service()} would have enqueued, only later).
     *
     * @return how many mails were moved
     */
    public int moveToQueue(String repositoryUrl, String queueName, Instant dueAt) throws Exception {
        MailRepository repository = repositories.select(MailRepositoryUrl.from(repositoryUrl));
        ManageableMailQueue queue = queue(queueName);
        List<MailKey> keys = new ArrayList<>();
        repository.list().forEachRemaining(keys::add);
        int moved = 0;
        for (MailKey key : keys) {
            Mail mail = repository.retrieve(key);
            if (mail == null) {
                continue;
            }
            try {
                queue.enQueue(mail, Duration.between(Instant.now(), dueAt));
                repository.remove(key);
                moved++;
            } finally {
                LifecycleUtil.dispose(mail);
            }
        }
        return moved;
    }

    /** Mails of the queue not yet due at {@code instant}. */
    public long waitingAt(String queueName, Instant instant) throws Exception {
        ZonedDateTime limit = instant.atZone(ZoneOffset.UTC);
        long waiting = 0;
        ManageableMailQueue.MailQueueIterator items = queue(queueName).browse();
        try {
            while (items.hasNext()) {
                if (items.next().getNextDelivery().map(due -> !due.isBefore(limit)).orElse(false)) {
                    waiting++;
                }
            }
        } finally {
            items.close();
        }
        return waiting;
    }

    public long repositorySize(String repositoryUrl) throws Exception {
        return repositories.select(MailRepositoryUrl.from(repositoryUrl)).size();
    }

    private ManageableMailQueue queue(String queueName) {
        return queues.getQueue(MailQueueName.of(queueName))
            .orElseThrow(() -> new IllegalStateException("no mail queue named '" + queueName + "'"));
    }
}

package io.github.mxgovernor.james;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import javax.mail.internet.AddressException;

import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A queue item the queue runner took and has not let go of: its mail, the identity of its queue entry and the
 * entry's progress. {@link #release()} ends the runner's hold on it exactly once, after the item was completed
 * (acknowledged or handed back) or abandoned to the queue.
 */
final class TakenItem {
    private static final Logger LOGGER = LoggerFactory.getLogger(TakenItem.class);

    private final MailQueue.MailQueueItem item;
    private final Mail mail;
    private final String entry;
    private final Consumer<TakenItem> onRelease;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile ItemProgress progress = new ItemProgress();
    private volatile boolean holdsEntry;

    TakenItem(MailQueue.MailQueueItem item, String entry, Consumer<TakenItem> onRelease) {
        this.item = Objects.requireNonNull(item, "item");
        this.mail = item.getMail();
        this.entry = Objects.requireNonNull(entry, "entry");
        this.onRelease = Objects.requireNonNull(onRelease, "onRelease");
    }

    Mail mail() {
        return mail;
    }

    String name() {
        return mail.getName();
    }

    String entry() {
        return entry;
    }

    /** This item holds its entry in the ledger (see {@link DeliveryLedger#claim}). */
    void holdsEntry() {
        holdsEntry = true;
    }

    boolean isHoldingEntry() {
        return holdsEntry;
    }

    ItemProgress progress() {
        return progress;
    }

    void progress(ItemProgress progress) {
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    /** Completes the queue item; throws as the queue does. */
    void done(MailQueue.MailQueueItem.CompletionStatus status) throws MailQueue.MailQueueException {
        item.done(status);
    }

    /** Recipients of the mail not yet ended, in the mail's order. */
    List<String> openRecipients() {
        Set<String> handled = progress.ended();
        List<String> open = new ArrayList<>();
        for (MailAddress recipient : mail.getRecipients()) {
            if (!handled.contains(recipient.asString())) {
                open.add(recipient.asString());
            }
        }
        return open;
    }

    /**
     * Leaves only {@code recipients} on the mail, so that James's memory queue, which gives back this very object
     * after {@code RETRY}, never gives back a recipient that was already served.
     */
    void keepRecipients(Collection<String> recipients) {
        List<MailAddress> addresses = new ArrayList<>(recipients.size());
        for (String recipient : recipients) {
            try {
                addresses.add(new MailAddress(recipient));
            } catch (AddressException e) {
                throw new IllegalStateException("a recipient of " + name() + " is no longer an address: " + recipient, e);
            }
        }
        mail.setRecipients(addresses);
    }

    /** Ends the runner's hold on the item: once only; later calls are a bug, logged and ignored. */
    void release() {
        if (!released.compareAndSet(false, true)) {
            LOGGER.error("Queue item of mail {} released twice", name(), new IllegalStateException("released twice"));
            return;
        }
        try {
            onRelease.accept(this);
        } finally {
            LifecycleUtil.dispose(mail);
        }
    }

    boolean isReleased() {
        return released.get();
    }

    @Override
    public String toString() {
        return name() + " [" + entry + "]";
    }
}

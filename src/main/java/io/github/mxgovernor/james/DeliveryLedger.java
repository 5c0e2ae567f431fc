package io.github.mxgovernor.james;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * What became of the recipients of queue entries whose end is not settled yet, kept in memory for every governed
 * mailet of this JVM. A persistent queue (ActiveMQ, RabbitMQ) gives back the entry as it stored it, without the
 * changes made to the mail, after {@code RETRY}, a failed acknowledgement or a lost consumer; the ledger tells which
 * of its recipients must not be sent it again.
 *
 * <p>An entry is known by the {@value #ENTRY_NAME} attribute (a String) each governed mailet stamps on what it puts on
 * the queue: the original in {@code service()}, and every copy put back to wait, each with an identity of its own (a
 * copy keeps the mail's name). A mail on the queue without the stamp is known by its name and recipients, which the
 * queue gives back unchanged.
 *
 * <p>Each entry is handled by one item at a time ({@link #claim}): should the queue give it again while the first
 * hand-over is still being handled, the second waits. Entries acknowledged but possibly given again (a copy whose
 * enqueue failed and was tried again, an item whose acknowledgement failed) are remembered as settled, so that a
 * second copy is acknowledged without being sent. At most 100,000 of each are kept, for 7 days; nothing survives the
 * JVM.
 */
final class DeliveryLedger {
    static final String ENTRY_NAME = "mxgovernor.queueEntry";
    static final AttributeName ENTRY = AttributeName.of(ENTRY_NAME);
    /** The recipients a mail was delivered to so far, a Collection of Strings: for operators reading the queue. */
    static final String DELIVERED_NAME = "mxgovernor.delivered";
    static final AttributeName DELIVERED = AttributeName.of(DELIVERED_NAME);

    private static final int MAX_ENTRIES = 100_000;
    private static final Duration KEPT = Duration.ofDays(7);
    private static final DeliveryLedger JVM_WIDE = new DeliveryLedger();

    private final Cache<String, ItemProgress> unsettled = cache();
    private final Cache<String, Boolean> mayComeAgain = cache();
    private final Cache<String, Boolean> settled = cache();
    private final Set<String> claims = ConcurrentHashMap.newKeySet();

    DeliveryLedger() {
    }

    /** The ledger every governed mailet of this JVM shares, so that a mailet started again finds its progress. */
    static DeliveryLedger jvmWide() {
        return JVM_WIDE;
    }

    private static <V> Cache<String, V> cache() {
        return Caffeine.newBuilder().maximumSize(MAX_ENTRIES).expireAfterWrite(KEPT).build();
    }

    static String newEntry() {
        return UUID.randomUUID().toString();
    }

    static void stamp(Mail mail, String entry) {
        mail.setAttribute(new Attribute(ENTRY, AttributeValue.of(entry)));
    }

    /**
     * The identity of the queue entry {@code mail} was given from. A mail without a stamp is stamped with the identity
     * its name and recipients give, so that the queue's copy and a memory queue's hand-back of this very object agree.
     */
    static String entryOf(Mail mail) {
        return mail.getAttribute(ENTRY)
            .map(attribute -> attribute.getValue().value())
            .filter(String.class::isInstance)
            .map(String.class::cast)
            .orElseGet(() -> {
                List<String> recipients = new ArrayList<>();
                for (MailAddress recipient : mail.getRecipients()) {
                    recipients.add(recipient.asString());
                }
                recipients.sort(null);
                String entry = "unstamped:" + mail.getName() + ":" + String.join(",", recipients);
                stamp(mail, entry);
                return entry;
            });
    }

    /** Writes the recipients delivered so far on the mail, for operators. */
    static void noteDelivered(Mail mail, Collection<String> recipients) {
        List<AttributeValue<?>> values = new ArrayList<>();
        for (String recipient : recipients) {
            values.add(AttributeValue.of(recipient));
        }
        mail.setAttribute(new Attribute(DELIVERED, AttributeValue.of(values)));
    }

    /** Takes the entry for one item; false while another item of the same entry holds it. */
    boolean claim(String entry) {
        return claims.add(entry);
    }

    void release(String entry) {
        claims.remove(entry);
    }

    /** The entry's progress so far, or a new one (recorded once {@link #record} is called). */
    ItemProgress progress(String entry) {
        ItemProgress known = unsettled.getIfPresent(entry);
        return known != null ? known : new ItemProgress();
    }

    /** Keeps the entry's progress until it is settled: from the first recipient that reached an end. */
    void record(String entry, ItemProgress progress) {
        unsettled.put(entry, progress);
    }

    /** The entry may be given again once settled: a copy whose enqueue failed, an item whose ack failed. */
    void mayComeAgain(String entry) {
        mayComeAgain.put(entry, Boolean.TRUE);
    }

    /** The entry's item was acknowledged: its progress is dropped, and it is remembered if it may come again. */
    void settled(String entry) {
        unsettled.invalidate(entry);
        if (mayComeAgain.getIfPresent(entry) != null) {
            settled.put(entry, Boolean.TRUE);
        }
    }

    /** Whether the entry was settled before (so the queue gave a second copy of it). */
    boolean settledBefore(String entry) {
        return settled.getIfPresent(entry) != null;
    }
}

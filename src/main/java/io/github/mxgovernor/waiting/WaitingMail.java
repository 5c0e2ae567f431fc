package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;

import java.time.Instant;
import java.util.Objects;

/**
 * One mail in the waiting index: the key it is stored under, its destination and reason, when it is due. Kept small
 * (the index holds one per waiting mail): the key is rebuilt from the other fields when the key carries them all.
 * What changes while it waits (when it goes, its failures) belongs to the {@link WaitingIndex} and changes under its
 * lock only.
 */
public final class WaitingMail {
    private final long identity;
    private final long keyDueMillis;
    private final DeferralReason reason;
    /** Replaced once by the index with its canonical copy, so that 100,000 mails to one host share one string. */
    String destination;
    /** The key as stored, when it cannot be rebuilt from the fields above. */
    private final String unusualKey;
    private final boolean recovered;
    long releaseAtMillis;
    boolean early;
    boolean releasing;
    int failures;

    private WaitingMail(long identity, long keyDueMillis, DeferralReason reason, String destination,
                        String unusualKey, boolean recovered, long releaseAtMillis) {
        this.identity = identity;
        this.keyDueMillis = keyDueMillis;
        this.reason = Objects.requireNonNull(reason, "reason");
        this.destination = Objects.requireNonNull(destination, "destination");
        this.unusualKey = unusualKey;
        this.recovered = recovered;
        this.releaseAtMillis = releaseAtMillis;
    }

    /**
     * A mail stored under {@code key}. {@code due} is when it goes back on the queue, normally the key's due time; a
     * mail whose record cannot be read goes at once.
     *
     * @param recovered whether it was found in the repository at start rather than stored by this JVM (it may have been
     *                  put back on the queue already, just before a crash)
     */
    public static WaitingMail of(WaitingKey key, DeferralReason reason, String destination, Instant due,
                                 boolean recovered) {
        boolean rebuildable = key.isComplete() && key.reason().get() == reason
            && key.destination().get().equals(destination);
        return new WaitingMail(key.identity(), key.dueMillis(), reason, destination,
            rebuildable ? null : key.asString(), recovered, due.toEpochMilli());
    }

    /** A mail stored under a key that is not a {@link WaitingKey} (put there by hand, say); it goes at once. */
    public static WaitingMail foreign(String key, long identity, DeferralReason reason, String destination,
                                      Instant due) {
        return new WaitingMail(identity, due.toEpochMilli(), reason, destination, key, true, due.toEpochMilli());
    }

    /** The key the mail is stored under. */
    public String key() {
        if (unusualKey != null) {
            return unusualKey;
        }
        return WaitingKey.of(identity, Instant.ofEpochMilli(keyDueMillis), reason, destination).asString();
    }

    /** Which mail this is (see {@link WaitingKey#identity}); one waiting mail per identity. */
    public long identity() {
        return identity;
    }

    public DeferralReason reason() {
        return reason;
    }

    public String destination() {
        return destination;
    }

    /** When the mail was stored to go back on the queue. */
    public Instant storedDue() {
        return Instant.ofEpochMilli(keyDueMillis);
    }

    long storedDueMillis() {
        return keyDueMillis;
    }

    /** Found in the repository at start: it may have been put back on the queue already before a crash. */
    public boolean recovered() {
        return recovered;
    }

    @Override
    public String toString() {
        return key() + " (" + destination + ", " + reason + ", due " + Instant.ofEpochMilli(releaseAtMillis) + ")";
    }
}

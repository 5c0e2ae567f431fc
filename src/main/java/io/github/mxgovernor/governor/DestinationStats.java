package io.github.mxgovernor.governor;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.tls.SessionSecurity;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What happened at one destination, or, for the governor's totals, everywhere (mail that never reached a
 * destination, such as a failed MX lookup, included). Each counter has one meaning, the same on the JMX beans and in
 * James's metrics:
 *
 * <ul>
 *   <li><b>delivered</b>: recipients a server accepted (a 2xx to the content);</li>
 *   <li><b>deferred</b>, by {@link DeferralReason}: recipients put back to wait. A recipient deferred three times,
 *       then delivered, counts three deferrals and one delivery; a 421 counts under the reason its recipients were
 *       given ({@code SMTP_TEMPORARY_FAILURE} during a transaction, {@code CONNECTION_FAILED} at the greeting when no
 *       other MX host took the mail);</li>
 *   <li><b>bounced</b>: recipients that bounced: refused for good (a 5xx no response rule holds, or refused by us
 *       because the server cannot take the mail), or out of retries or of time;</li>
 *   <li><b>sessions</b>, by {@link TlsOutcome} ({@code VERIFIED}, {@code ENCRYPTED}, {@code PLAINTEXT}): sessions
 *       opened, by how well they are protected;</li>
 *   <li><b>failed attempts</b>, by cause: attempts in which no recipient was delivered and the destination is to
 *       blame (the session failed, or the server deferred the mail), by the deferral reason the attempt gave its
 *       recipients; an attempt that fails on one MX host counts there, even when the next one delivers;</li>
 *   <li><b>MTA-STS testing failures</b>: sessions that carried mail a recipient domain's MTA-STS {@code testing}
 *       policy would have refused under {@code enforce}, once per session and domain.</li>
 * </ul>
 * Every recipient of an attempt ends once: delivered, deferred or bounced. Counts never go down; a destination's stats
 * also count in its parent (the governor's totals), whose listeners hear of every end as it is counted. Thread-safe;
 * a destination's counters take no memory until its first count.
 */
public final class DestinationStats {
    private static final DeferralReason[] REASONS = DeferralReason.values();
    private static final int DELIVERED = 0;
    private static final int BOUNCED = 1;
    private static final int MTA_STS_TESTING_FAILED = 2;
    private static final int DEFERRED = 3;
    private static final int FAILED = DEFERRED + REASONS.length;
    private static final int SESSIONS = FAILED + REASONS.length;
    private static final int SLOTS = SESSIONS + TlsOutcome.values().length;

    private final DestinationStats parent;
    private final List<EndListener> listeners;
    private volatile AtomicLongArray counts;

    /** Hears each recipient's end as it is counted. */
    public interface EndListener {
        void delivered(int recipients);

        void deferred(DeferralReason reason, int recipients);

        void bounced(int recipients);
    }

    private DestinationStats(DestinationStats parent, List<EndListener> listeners) {
        this.parent = parent;
        this.listeners = listeners;
    }

    /** Totals that listeners may hear. */
    static DestinationStats totals() {
        return new DestinationStats(null, new CopyOnWriteArrayList<>());
    }

    /** A destination's stats, also counted in {@code parent}. */
    static DestinationStats of(DestinationStats parent) {
        return new DestinationStats(Objects.requireNonNull(parent, "parent"), List.of());
    }

    void addListener(EndListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    void removeListener(EndListener listener) {
        listeners.remove(listener);
    }

    public void recordDelivered(int recipients) {
        add(DELIVERED, recipients);
    }

    public void recordDeferred(DeferralReason reason, int recipients) {
        add(DEFERRED + Objects.requireNonNull(reason, "reason").ordinal(), recipients);
    }

    public void recordBounced(int recipients) {
        add(BOUNCED, recipients);
    }

    /** Counts a session opened, by its protection ({@code DANE_VERIFIED} counts as {@code VERIFIED}). */
    public void recordSession(SessionSecurity.Protection protection) {
        TlsOutcome outcome;
        switch (protection) {
            case PLAINTEXT:
                outcome = TlsOutcome.PLAINTEXT;
                break;
            case ENCRYPTED:
                outcome = TlsOutcome.ENCRYPTED;
                break;
            default:
                outcome = TlsOutcome.VERIFIED;
                break;
        }
        add(SESSIONS + outcome.ordinal(), 1);
    }

    /** Counts a failed attempt; {@code cause} is the deferral reason it gave its recipients. */
    public void recordFailedAttempt(DeferralReason cause) {
        if (Objects.requireNonNull(cause, "cause").isLocal()) {
            throw new IllegalArgumentException("a failed attempt's cause is never a local reason, was " + cause);
        }
        add(FAILED + cause.ordinal(), 1);
    }

    /** Counts a session that carried mail an MTA-STS {@code testing} policy would refuse. */
    public void recordMtaStsTestingFailure() {
        add(MTA_STS_TESTING_FAILED, 1);
    }

    public long delivered() {
        return get(DELIVERED);
    }

    public long bounced() {
        return get(BOUNCED);
    }

    /** Deferrals for every reason. */
    public long deferred() {
        return sum(DEFERRED);
    }

    public long deferred(DeferralReason reason) {
        return get(DEFERRED + reason.ordinal());
    }

    /** Every reason, zeros included, in the order {@link DeferralReason} declares them. */
    public Map<DeferralReason, Long> deferredByReason() {
        return byReason(DEFERRED);
    }

    /** Failed attempts, every cause. */
    public long failedAttempts() {
        return sum(FAILED);
    }

    public long failedAttempts(DeferralReason cause) {
        return get(FAILED + cause.ordinal());
    }

    /** Failed attempts by cause: the reasons a failed attempt can give (the local ones never), zeros included. */
    public Map<DeferralReason, Long> failedAttemptsByCause() {
        Map<DeferralReason, Long> byCause = byReason(FAILED);
        byCause.keySet().removeIf(DeferralReason::isLocal);
        return byCause;
    }

    /**
     * Sessions by TLS outcome: {@code VERIFIED}, {@code ENCRYPTED}, {@code PLAINTEXT} (sessions opened),
     * {@code FAILED} (failed attempts whose cause is {@code TLS_POLICY_FAILURE}) and {@code MTA_STS_TESTING_FAILED}.
     */
    public long tlsCount(TlsOutcome outcome) {
        switch (outcome) {
            case FAILED:
                return failedAttempts(DeferralReason.TLS_POLICY_FAILURE);
            case MTA_STS_TESTING_FAILED:
                return get(MTA_STS_TESTING_FAILED);
            default:
                return get(SESSIONS + outcome.ordinal());
        }
    }

    private void add(int slot, int amount) {
        if (amount < 0) {
            throw new IllegalArgumentException("a count never goes down, was " + amount);
        }
        if (amount == 0) {
            return;
        }
        AtomicLongArray current = counts;
        if (current == null) {
            synchronized (this) {
                current = counts;
                if (current == null) {
                    current = new AtomicLongArray(SLOTS);
                    counts = current;
                }
            }
        }
        current.addAndGet(slot, amount);
        tell(slot, amount);
        if (parent != null) {
            parent.add(slot, amount);
        }
    }

    /** Tells the listeners of an end counted. */
    private void tell(int slot, int amount) {
        if (listeners.isEmpty()) {
            return;
        }
        if (slot == DELIVERED) {
            listeners.forEach(listener -> listener.delivered(amount));
        } else if (slot == BOUNCED) {
            listeners.forEach(listener -> listener.bounced(amount));
        } else if (slot >= DEFERRED && slot < FAILED) {
            DeferralReason reason = REASONS[slot - DEFERRED];
            listeners.forEach(listener -> listener.deferred(reason, amount));
        }
    }

    private long get(int slot) {
        AtomicLongArray current = counts;
        return current == null ? 0 : current.get(slot);
    }

    private long sum(int first) {
        long total = 0;
        for (int i = 0; i < REASONS.length; i++) {
            total += get(first + i);
        }
        return total;
    }

    private Map<DeferralReason, Long> byReason(int first) {
        Map<DeferralReason, Long> counted = new EnumMap<>(DeferralReason.class);
        for (DeferralReason reason : REASONS) {
            counted.put(reason, get(first + reason.ordinal()));
        }
        return counted;
    }
}

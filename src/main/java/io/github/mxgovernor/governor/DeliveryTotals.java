package io.github.mxgovernor.governor;

import io.github.mxgovernor.deferral.DeferralReason;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * How every recipient handed to delivery ended, counted since the governor was created and whatever happens to
 * the destinations it tracks: delivered, deferred (by reason) or bounced. One recipient counts once per end it
 * reaches, so a recipient deferred twice then delivered counts two deferrals and one delivery. Thread-safe.
 */
public final class DeliveryTotals {
    private static final DeferralReason[] REASONS = DeferralReason.values();

    private final LongAdder delivered = new LongAdder();
    private final LongAdder bounced = new LongAdder();
    private final LongAdder[] deferred = new LongAdder[REASONS.length];

    DeliveryTotals() {
        for (int i = 0; i < deferred.length; i++) {
            deferred[i] = new LongAdder();
        }
    }

    public void recordDelivered(int recipients) {
        delivered.add(recipients);
    }

    public void recordDeferred(DeferralReason reason, int recipients) {
        deferred[Objects.requireNonNull(reason, "reason").ordinal()].add(recipients);
    }

    public void recordBounced(int recipients) {
        bounced.add(recipients);
    }

    public long delivered() {
        return delivered.sum();
    }

    public long bounced() {
        return bounced.sum();
    }

    /** Deferrals for every reason. */
    public long deferred() {
        long total = 0;
        for (LongAdder count : deferred) {
            total += count.sum();
        }
        return total;
    }

    public long deferred(DeferralReason reason) {
        return deferred[reason.ordinal()].sum();
    }

    /** Every reason, zeros included, in the order {@link DeferralReason} declares them. */
    public Map<DeferralReason, Long> deferredByReason() {
        Map<DeferralReason, Long> byReason = new EnumMap<>(DeferralReason.class);
        for (DeferralReason reason : REASONS) {
            byReason.put(reason, deferred(reason));
        }
        return byReason;
    }
}

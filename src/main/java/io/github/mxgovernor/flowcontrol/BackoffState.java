package io.github.mxgovernor.flowcontrol;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reduced limits, with a budget of its own when the backoff lowers the rate, until a time or until
 * {@code probesNeeded} successful deliveries in a row.
 */
final class BackoffState extends FlowState {
    final DeliveryLimits limits;
    private final MessageBudget budget;
    final int probesNeeded;
    private final AtomicInteger probes = new AtomicInteger();

    BackoffState(long sinceMillis, long endMillis, FlowCause cause, Origin origin, DeliveryLimits limits,
                 MessageBudget budget, int probesNeeded) {
        super(sinceMillis, endMillis, cause, origin);
        this.limits = limits;
        this.budget = budget;
        this.probesNeeded = probesNeeded;
    }

    @Override
    public Kind kind() {
        return Kind.BACKOFF;
    }

    /** Counts an attempt toward recovery; true when this success completes the probes. */
    boolean probe(FlowSignal signal) {
        if (probesNeeded == 0) {
            return false;
        }
        if (signal.isFailure()) {
            probes.set(0);
            return false;
        }
        return signal == FlowSignal.SUCCEEDED && probes.incrementAndGet() == probesNeeded;
    }

    int probesSucceeded() {
        return probes.get();
    }

    MessageBudget ownBudget() {
        return budget;
    }

    @Override
    DeliveryLimits limitsIn(DeliveryLimits normal) {
        return limits;
    }

    @Override
    MessageBudget budget(MessageBudget normal) {
        return budget == null ? normal : budget;
    }
}

package io.github.mxgovernor.flowcontrol;

import java.time.Instant;
import java.util.Optional;

/**
 * One state of a destination's flow control. Each state is an immutable object (the probe count of a backoff
 * aside); a change of state replaces the object atomically. The limits a state imposes are asked of the state
 * itself, so that the delivery path reads one reference and calls one method.
 */
public abstract class FlowState {
    /** The three states. */
    public enum Kind {
        /** The rule's limits, adapted by adaptive concurrency. */
        NORMAL,
        /** Reduced limits until a time, or until recovery probes succeed. */
        BACKOFF,
        /** No attempt at all until a time. */
        SUSPENDED
    }

    /** Who put the destination in its state. Automatic triggers never override an operator's state. */
    public enum Origin { AUTOMATIC, OPERATOR }

    /** {@link #endMillis} of a state that has no end in time. */
    static final long OPEN_ENDED = Long.MAX_VALUE;

    final long sinceMillis;
    final long endMillis;
    final FlowCause cause;
    final Origin origin;

    FlowState(long sinceMillis, long endMillis, FlowCause cause, Origin origin) {
        this.sinceMillis = sinceMillis;
        this.endMillis = endMillis;
        this.cause = cause;
        this.origin = origin;
    }

    public abstract Kind kind();

    public Instant since() {
        return Instant.ofEpochMilli(sinceMillis);
    }

    /** When the state ends by time; empty for normal and for a backoff that ends by probes only. */
    public Optional<Instant> until() {
        return endMillis == OPEN_ENDED ? Optional.empty() : Optional.of(Instant.ofEpochMilli(endMillis));
    }

    public FlowCause cause() {
        return cause;
    }

    public Origin origin() {
        return origin;
    }

    /** The limits in force, given the rule's normal ones; null while suspended. */
    abstract DeliveryLimits limitsIn(DeliveryLimits normal);

    /** The limits in force, given the rule's normal ones; empty while suspended. */
    final Optional<DeliveryLimits> limits(DeliveryLimits normal) {
        return Optional.ofNullable(limitsIn(normal));
    }

    /** Connections allowed in this state, before adaptive concurrency; 0 while suspended. */
    final int maxConnections(DeliveryLimits normal) {
        DeliveryLimits limits = limitsIn(normal);
        return limits == null ? 0 : limits.maxConnections();
    }

    /** Mails one connection may carry in this state; 0 while suspended. */
    final int maxMessagesPerConnection(DeliveryLimits normal) {
        DeliveryLimits limits = limitsIn(normal);
        return limits == null ? 0 : limits.maxMessagesPerConnection();
    }

    /** The budget messages are taken from in this state. */
    abstract MessageBudget budget(MessageBudget normal);

    @Override
    public String toString() {
        return kind() + " since " + since() + until().map(end -> " until " + end).orElse("") + " (" + origin + ": "
            + cause + ")";
    }
}

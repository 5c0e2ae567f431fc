package io.github.mxgovernor.flowcontrol;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** One change of a destination's flow-control state. An open, serialisable value. Immutable. */
public final class FlowControlEvent implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String destination;
    private final FlowState.Kind from;
    private final FlowState.Kind to;
    private final Instant at;
    private final Instant until;
    private final FlowState.Origin origin;
    private final FlowCause cause;

    FlowControlEvent(String destination, FlowState previous, FlowState next) {
        this.destination = destination;
        this.from = previous.kind();
        this.to = next.kind();
        this.at = next.since();
        this.until = next.until().orElse(null);
        this.origin = next.origin();
        this.cause = next.cause();
    }

    public String destination() {
        return destination;
    }

    public FlowState.Kind from() {
        return from;
    }

    public FlowState.Kind to() {
        return to;
    }

    public Instant at() {
        return at;
    }

    /** When the new state ends by time, if it does. */
    public Optional<Instant> until() {
        return Optional.ofNullable(until);
    }

    public FlowState.Origin origin() {
        return origin;
    }

    public FlowCause cause() {
        return cause;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FlowControlEvent)) {
            return false;
        }
        FlowControlEvent that = (FlowControlEvent) o;
        return destination.equals(that.destination) && from == that.from && to == that.to && at.equals(that.at)
            && Objects.equals(until, that.until) && origin == that.origin && cause.equals(that.cause);
    }

    @Override
    public int hashCode() {
        return Objects.hash(destination, from, to, at, until, origin, cause);
    }

    @Override
    public String toString() {
        return destination + ": " + from + " -> " + to + " at " + at + (until == null ? "" : " until " + until)
            + " (" + origin + ": " + cause + ")";
    }
}

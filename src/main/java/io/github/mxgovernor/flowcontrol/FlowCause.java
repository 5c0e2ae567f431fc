package io.github.mxgovernor.flowcontrol;

import java.io.Serializable;
import java.util.Objects;
import java.util.Optional;

/**
 * Why a destination is in its flow-control state: which trigger fired (and where it is written), or that an
 * operator or the passing of time put it there. An open, serialisable value. Immutable.
 */
public final class FlowCause implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MAX_REPLY_LENGTH = 1000;

    /** What brought the state about. */
    public enum Kind {
        /** The destination has been normal since it was first used. */
        INITIAL,
        /** The error-rate trigger fired. */
        ERROR_RATE,
        /** A response rule fired. */
        RESPONSE_RULE,
        /** A suspension ended; the destination runs half-open with its backoff limits. */
        HALF_OPEN,
        /** The previous state's time was up. */
        EXPIRED,
        /** Enough successful deliveries in a row ended a backoff early. */
        PROBES,
        /** An operator forced, resumed or reset the state. */
        OPERATOR
    }

    private final Kind kind;
    private final String description;
    private final String source;
    private final String reply;

    FlowCause(Kind kind, String description, String source, String reply) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.description = Objects.requireNonNull(description, "description");
        this.source = source;
        this.reply = reply == null || reply.length() <= MAX_REPLY_LENGTH ? reply : reply.substring(0, MAX_REPLY_LENGTH);
    }

    static FlowCause of(Kind kind, String description) {
        return new FlowCause(kind, description, null, null);
    }

    public Kind kind() {
        return kind;
    }

    /** One sentence for operators, such as {@code 2 replies matching '421[- ]4\.7\.28' within PT1H}. */
    public String description() {
        return description;
    }

    /** Where the trigger is written, such as {@code mx-rules.xml:40}; empty for causes that are no trigger. */
    public Optional<String> source() {
        return Optional.ofNullable(source);
    }

    /** The server reply that fired a response rule, as sent. */
    public Optional<String> reply() {
        return Optional.ofNullable(reply);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FlowCause)) {
            return false;
        }
        FlowCause that = (FlowCause) o;
        return kind == that.kind && description.equals(that.description) && Objects.equals(source, that.source)
            && Objects.equals(reply, that.reply);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, description, source, reply);
    }

    @Override
    public String toString() {
        return description + (source == null ? "" : " (" + source + ")") + (reply == null ? "" : ", reply: " + reply);
    }
}

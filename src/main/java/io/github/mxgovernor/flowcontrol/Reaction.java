package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a trigger does when it fires: an {@link FlowAction action}, how long its effect lasts, and for the
 * {@code limit…} actions the limit. Immutable; made by the static factories, which check every value.
 *
 * <p>A backoff without a duration lasts until the recovery probes succeed; whether that can ever happen is
 * checked by {@link FlowControlPolicy}. A suspension always has a duration: a suspended destination makes no
 * attempt, so only time can end it. {@code reconnect} acts on one connection at once and has no duration.
 */
public final class Reaction {
    /** The shortest duration an action may have. */
    public static final Duration MIN_DURATION = Duration.ofSeconds(1);
    /** The longest duration an action may have. */
    public static final Duration MAX_DURATION = Duration.ofDays(7);
    static final String DURATION_REQUIREMENT = "must be from 1s to 7d";

    private static final Reaction RECONNECT = new Reaction(FlowAction.RECONNECT, Optional.empty(), 0);

    private final FlowAction action;
    private final Optional<Duration> duration;
    private final int limit;

    private Reaction(FlowAction action, Optional<Duration> duration, int limit) {
        this.action = action;
        this.duration = duration;
        this.limit = limit;
    }

    /** Backs off with the rule's backoff limits for {@code duration}, or until the probes succeed when empty. */
    public static Reaction backoff(Optional<Duration> duration) {
        return new Reaction(FlowAction.BACKOFF, checkDuration(duration), 0);
    }

    /** Suspends the destination for {@code duration}; the end is jittered. */
    public static Reaction suspend(Duration duration) {
        Objects.requireNonNull(duration, "duration");
        return new Reaction(FlowAction.SUSPEND, checkDuration(Optional.of(duration)), 0);
    }

    /** Caps connections at {@code maxConnections} (1..10000), the other limits unchanged. */
    public static Reaction limitConnections(int maxConnections, Optional<Duration> duration) {
        return new Reaction(FlowAction.LIMIT_CONNECTIONS, checkDuration(duration),
            checkLimit("maxConnections", maxConnections, BackoffLimits.MAX_CONNECTIONS_BOUND));
    }

    /** Closes connections after {@code maxMessagesPerConnection} mails (1..100000), the other limits unchanged. */
    public static Reaction limitMessagesPerConnection(int maxMessagesPerConnection, Optional<Duration> duration) {
        return new Reaction(FlowAction.LIMIT_MESSAGES_PER_CONNECTION, checkDuration(duration),
            checkLimit("maxMessagesPerConnection", maxMessagesPerConnection,
                BackoffLimits.MAX_MESSAGES_PER_CONNECTION_BOUND));
    }

    /** Closes the connection that got the reply and retries the mail once on a fresh connection. */
    public static Reaction reconnect() {
        return RECONNECT;
    }

    public FlowAction action() {
        return action;
    }

    /** How long the effect lasts; empty for {@code reconnect} and for a backoff that ends by probes only. */
    public Optional<Duration> duration() {
        return duration;
    }

    /** The K of {@code limitConnections} and {@code limitMessagesPerConnection}; 0 for the other actions. */
    public int limit() {
        return limit;
    }

    /** The limits this reaction imposes on top of the rule's normal ones (meaningful for backoff actions). */
    DeliveryLimits limits(DeliveryLimits normal, BackoffLimits backoff) {
        switch (action) {
            case LIMIT_CONNECTIONS:
                return normal.withMaxConnections(limit);
            case LIMIT_MESSAGES_PER_CONNECTION:
                return normal.withMaxMessagesPerConnection(limit);
            default:
                return backoff.applyTo(normal);
        }
    }

    private static Optional<Duration> checkDuration(Optional<Duration> duration) {
        Objects.requireNonNull(duration, "duration");
        duration.ifPresent(value -> {
            if (value.compareTo(MIN_DURATION) < 0 || value.compareTo(MAX_DURATION) > 0) {
                throw new IllegalArgumentException("duration " + DURATION_REQUIREMENT + ", was " + value);
            }
        });
        return duration;
    }

    private static int checkLimit(String name, int value, int max) {
        if (value < 1 || value > max) {
            throw new IllegalArgumentException(name + " must be from 1 to " + max + ", was " + value);
        }
        return value;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Reaction)) {
            return false;
        }
        Reaction that = (Reaction) o;
        return action == that.action && duration.equals(that.duration) && limit == that.limit;
    }

    @Override
    public int hashCode() {
        return Objects.hash(action, duration, limit);
    }

    @Override
    public String toString() {
        return action.configValue() + (limit > 0 ? " " + limit : "")
            + duration.map(value -> " for " + value).orElse(action.backsOff() ? " until recovered" : "");
    }
}

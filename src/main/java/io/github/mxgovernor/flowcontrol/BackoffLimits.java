package io.github.mxgovernor.flowcontrol;

import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The limits of the {@code <backoff>} element: what a destination runs with in {@link FlowState.Kind#BACKOFF}.
 * A limit left unset keeps the rule's own; a limit set above the rule's own has no effect (backoff never raises a
 * limit). Immutable.
 */
public final class BackoffLimits {
    static final int MAX_CONNECTIONS_BOUND = 10_000;
    static final int MAX_MESSAGES_PER_CONNECTION_BOUND = 100_000;
    static final long MESSAGES_PER_HOUR_BOUND = 100_000_000L;

    private static final BackoffLimits BUILT_IN = new BackoffLimits(OptionalInt.of(1), OptionalInt.empty(),
        OptionalLong.empty());

    private final OptionalInt maxConnections;
    private final OptionalInt maxMessagesPerConnection;
    private final OptionalLong messagesPerHour;

    /**
     * @throws IllegalArgumentException if a value is out of its range (connections 1..10000, mails per connection
     *         1..100000, messages per hour 1..100000000), naming the value
     */
    public BackoffLimits(OptionalInt maxConnections, OptionalInt maxMessagesPerConnection,
                         OptionalLong messagesPerHour) {
        this.maxConnections = check("maxConnections", maxConnections, MAX_CONNECTIONS_BOUND);
        this.maxMessagesPerConnection = check("maxMessagesPerConnection", maxMessagesPerConnection,
            MAX_MESSAGES_PER_CONNECTION_BOUND);
        Objects.requireNonNull(messagesPerHour, "messagesPerHour");
        if (messagesPerHour.isPresent()
            && (messagesPerHour.getAsLong() < 1 || messagesPerHour.getAsLong() > MESSAGES_PER_HOUR_BOUND)) {
            throw new IllegalArgumentException("messagesPerHour must be from 1 to " + MESSAGES_PER_HOUR_BOUND
                + ", was " + messagesPerHour.getAsLong());
        }
        this.messagesPerHour = messagesPerHour;
    }

    /** The built-in backoff: one connection, the rule's own mails per connection and rate. */
    public static BackoffLimits builtIn() {
        return BUILT_IN;
    }

    public OptionalInt maxConnections() {
        return maxConnections;
    }

    public OptionalInt maxMessagesPerConnection() {
        return maxMessagesPerConnection;
    }

    public OptionalLong messagesPerHour() {
        return messagesPerHour;
    }

    /** These limits over the rule's normal ones: each set limit replaces the normal one when it is lower. */
    public DeliveryLimits applyTo(DeliveryLimits normal) {
        OptionalLong rate = normal.messagesPerHour();
        if (messagesPerHour.isPresent()) {
            rate = OptionalLong.of(rate.isPresent() ? Math.min(rate.getAsLong(), messagesPerHour.getAsLong())
                : messagesPerHour.getAsLong());
        }
        return new DeliveryLimits(Math.min(normal.maxConnections(), maxConnections.orElse(Integer.MAX_VALUE)),
            Math.min(normal.maxMessagesPerConnection(), maxMessagesPerConnection.orElse(Integer.MAX_VALUE)), rate);
    }

    private static OptionalInt check(String name, OptionalInt value, int max) {
        Objects.requireNonNull(value, name);
        if (value.isPresent() && (value.getAsInt() < 1 || value.getAsInt() > max)) {
            throw new IllegalArgumentException(name + " must be from 1 to " + max + ", was " + value.getAsInt());
        }
        return value;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BackoffLimits)) {
            return false;
        }
        BackoffLimits that = (BackoffLimits) o;
        return maxConnections.equals(that.maxConnections)
            && maxMessagesPerConnection.equals(that.maxMessagesPerConnection)
            && messagesPerHour.equals(that.messagesPerHour);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxConnections, maxMessagesPerConnection, messagesPerHour);
    }

    @Override
    public String toString() {
        return "backoff{maxConnections=" + text(maxConnections) + ", maxMessagesPerConnection="
            + text(maxMessagesPerConnection) + ", messagesPerHour="
            + (messagesPerHour.isPresent() ? String.valueOf(messagesPerHour.getAsLong()) : "rule's") + "}";
    }

    private static String text(OptionalInt value) {
        return value.isPresent() ? String.valueOf(value.getAsInt()) : "rule's";
    }
}

package io.github.mxgovernor.flowcontrol;

import java.io.Serializable;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The limits a destination runs with at one moment: connections, mails per connection, and messages per hour
 * ({@code 0} for unlimited). Immutable.
 */
final class DeliveryLimits implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int maxConnections;
    private final int maxMessagesPerConnection;
    private final long messagesPerHour;

    /**
     * @param messagesPerHour the rate, or empty for unlimited
     * @throws IllegalArgumentException if a value is below 1
     */
    public DeliveryLimits(int maxConnections, int maxMessagesPerConnection, OptionalLong messagesPerHour) {
        this(maxConnections, maxMessagesPerConnection, messagesPerHour.orElse(0));
        if (messagesPerHour.isPresent() && messagesPerHour.getAsLong() < 1) {
            throw new IllegalArgumentException("messagesPerHour must be at least 1, was " + messagesPerHour.getAsLong());
        }
    }

    private DeliveryLimits(int maxConnections, int maxMessagesPerConnection, long messagesPerHour) {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, was " + maxConnections);
        }
        if (maxMessagesPerConnection < 1) {
            throw new IllegalArgumentException("maxMessagesPerConnection must be at least 1, was "
                + maxMessagesPerConnection);
        }
        this.maxConnections = maxConnections;
        this.maxMessagesPerConnection = maxMessagesPerConnection;
        this.messagesPerHour = messagesPerHour;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public int maxMessagesPerConnection() {
        return maxMessagesPerConnection;
    }

    /** Empty when unlimited. */
    public OptionalLong messagesPerHour() {
        return messagesPerHour == 0 ? OptionalLong.empty() : OptionalLong.of(messagesPerHour);
    }

    DeliveryLimits withMaxConnections(int value) {
        return new DeliveryLimits(Math.min(maxConnections, value), maxMessagesPerConnection, messagesPerHour);
    }

    DeliveryLimits withMaxMessagesPerConnection(int value) {
        return new DeliveryLimits(maxConnections, Math.min(maxMessagesPerConnection, value), messagesPerHour);
    }

    /** Each limit the lower of the two, an unlimited rate counting as the highest. */
    DeliveryLimits tightest(DeliveryLimits other) {
        long rate;
        if (messagesPerHour == 0) {
            rate = other.messagesPerHour;
        } else if (other.messagesPerHour == 0) {
            rate = messagesPerHour;
        } else {
            rate = Math.min(messagesPerHour, other.messagesPerHour);
        }
        return new DeliveryLimits(Math.min(maxConnections, other.maxConnections),
            Math.min(maxMessagesPerConnection, other.maxMessagesPerConnection), rate);
    }

    boolean sameRate(DeliveryLimits other) {
        return messagesPerHour == other.messagesPerHour;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DeliveryLimits)) {
            return false;
        }
        DeliveryLimits that = (DeliveryLimits) o;
        return maxConnections == that.maxConnections && maxMessagesPerConnection == that.maxMessagesPerConnection
            && messagesPerHour == that.messagesPerHour;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxConnections, maxMessagesPerConnection, messagesPerHour);
    }

    @Override
    public String toString() {
        return maxConnections + " connections, " + maxMessagesPerConnection + " mails per connection, "
            + (messagesPerHour == 0 ? "unlimited" : messagesPerHour + " mails") + " per hour";
    }
}

package io.github.mxgovernor.flowcontrol;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What flow control has in effect for one destination and why: its state, since and until when, the cause, the
 * limits in force, the adaptive connection limit, the recovery probes and the error-rate window's counts. An
 * open, serialisable value (strings, numbers, instants and enums only) for operators' tools. Immutable.
 */
public final class FlowControlStatus implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String destination;
    private final String rule;
    private final FlowState.Kind state;
    private final FlowState.Origin origin;
    private final Instant since;
    private final Instant until;
    private final FlowCause cause;
    private final DeliveryLimits limits;
    private final int adaptiveConnectionLimit;
    private final int probesSucceeded;
    private final int probesNeeded;
    private final long attemptsInWindow;
    private final long failuresInWindow;

    FlowControlStatus(String destination, String rule, FlowState state, DeliveryLimits limits,
                      int adaptiveConnectionLimit, int probesSucceeded, int probesNeeded, long attemptsInWindow,
                      long failuresInWindow) {
        this.destination = Objects.requireNonNull(destination, "destination");
        this.rule = Objects.requireNonNull(rule, "rule");
        this.state = state.kind();
        this.origin = state.origin();
        this.since = state.since();
        this.until = state.until().orElse(null);
        this.cause = state.cause();
        this.limits = limits;
        this.adaptiveConnectionLimit = adaptiveConnectionLimit;
        this.probesSucceeded = probesSucceeded;
        this.probesNeeded = probesNeeded;
        this.attemptsInWindow = attemptsInWindow;
        this.failuresInWindow = failuresInWindow;
    }

    public String destination() {
        return destination;
    }

    /** The MX rule whose limits and triggers apply. */
    public String rule() {
        return rule;
    }

    public FlowState.Kind state() {
        return state;
    }

    public FlowState.Origin origin() {
        return origin;
    }

    public Instant since() {
        return since;
    }

    /** When the state ends by time; empty for normal and for a backoff that ends by probes only. */
    public Optional<Instant> until() {
        return Optional.ofNullable(until);
    }

    public FlowCause cause() {
        return cause;
    }

    /** The limits in force (before adaptive concurrency); empty while suspended. */
    Optional<DeliveryLimits> limits() {
        return Optional.ofNullable(limits);
    }

    /**
     * The limits in force, adaptive concurrency included, in words:
     * {@code 3 connections, 100 mails per connection, 600 mails per hour}; {@code none: suspended} while suspended.
     */
    public String limitsInForce() {
        return limits().map(inForce -> Math.min(inForce.maxConnections(), adaptiveConnectionLimit)
                + " connections, " + inForce.maxMessagesPerConnection() + " mails per connection, "
                + (inForce.messagesPerHour().isPresent() ? inForce.messagesPerHour().getAsLong() + " mails per hour"
                    : "no hourly rate"))
            .orElse("none: suspended");
    }

    /** The connections adaptive concurrency allows now (the rule's cap when it is disabled). */
    public int adaptiveConnectionLimit() {
        return adaptiveConnectionLimit;
    }

    /** Successful deliveries in a row counted toward ending a backoff early. */
    public int probesSucceeded() {
        return probesSucceeded;
    }

    /** How many are needed; 0 when the state does not end by probes. */
    public int probesNeeded() {
        return probesNeeded;
    }

    /** Attempts counted by the error-rate trigger in its window; 0 without the trigger. */
    public long attemptsInWindow() {
        return attemptsInWindow;
    }

    public long failuresInWindow() {
        return failuresInWindow;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FlowControlStatus)) {
            return false;
        }
        FlowControlStatus that = (FlowControlStatus) o;
        return destination.equals(that.destination) && rule.equals(that.rule) && state == that.state
            && origin == that.origin && since.equals(that.since) && Objects.equals(until, that.until)
            && cause.equals(that.cause) && Objects.equals(limits, that.limits)
            && adaptiveConnectionLimit == that.adaptiveConnectionLimit && probesSucceeded == that.probesSucceeded
            && probesNeeded == that.probesNeeded && attemptsInWindow == that.attemptsInWindow
            && failuresInWindow == that.failuresInWindow;
    }

    @Override
    public int hashCode() {
        return Objects.hash(destination, rule, state, origin, since, until, cause, limits, adaptiveConnectionLimit,
            probesSucceeded, probesNeeded, attemptsInWindow, failuresInWindow);
    }

    @Override
    public String toString() {
        return destination + " (rule " + rule + "): " + state + " since " + since
            + (until == null ? "" : " until " + until) + ", " + origin + ": " + cause
            + (limits == null ? "" : ", " + limits) + ", adaptive limit " + adaptiveConnectionLimit
            + (probesNeeded > 0 ? ", probes " + probesSucceeded + "/" + probesNeeded : "");
    }
}

package io.github.mxgovernor.flowcontrol;

/**
 * What one attempt against a destination says about the destination, as flow control counts it. The reply
 * classifier gives every attempt exactly one.
 */
public enum FlowSignal {
    /** At least one recipient was delivered. */
    SUCCEEDED,
    /**
     * No recipient was delivered and no server reply says why: the connection failed (refused, reset, timed out, not
     * SMTP), or TLS could not be had as the policy requires.
     */
    FAILED,
    /** Every recipient was refused for good (5xx): an attempt, but no sign of trouble at the destination. */
    REFUSED,
    /**
     * No recipient was delivered and the server deferred at least one with its reply (a 4xx, a 421 at any stage, or a
     * 5xx that a response rule holds): the destination asks us to slow down.
     */
    THROTTLED;

    /** Whether the attempt counts as failed for the error rate, recovery probes and adaptive concurrency. */
    public boolean isFailure() {
        return this == FAILED || this == THROTTLED;
    }
}

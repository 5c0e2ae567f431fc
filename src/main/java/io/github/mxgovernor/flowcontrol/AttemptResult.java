package io.github.mxgovernor.flowcontrol;

/** How one attempt against a destination ended, as flow control counts it. */
public enum AttemptResult {
    /** At least one recipient was delivered. */
    SUCCEEDED,
    /**
     * No recipient was delivered and the destination is to blame: the connection failed (refused, reset, timed
     * out, TLS handshake), or the server deferred the mail with a 4xx.
     */
    FAILED,
    /** Every recipient was refused for good (5xx): an attempt, but no sign of throttling. */
    REFUSED
}

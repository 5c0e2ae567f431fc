package io.github.mxgovernor.it;

/**
 * How a {@link FakeMxServer} misbehaves. Read at every point where the server would answer, so a change takes effect
 * on open connections too.
 */
public enum MxBehaviour {
    /** Speaks SMTP. */
    NORMAL,
    /** Accepts connections and reads, but never answers (not even the greeting). */
    HANG,
    /** Drops the socket as soon as the first line of message content arrives; the message is not accepted. */
    CLOSE_MID_DATA,
    /** Answers every burst with bytes that are not an SMTP reply. */
    GARBAGE
}

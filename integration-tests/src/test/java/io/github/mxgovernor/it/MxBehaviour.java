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
    GARBAGE,
    /** Begins its greeting and never ends it: a {@code 220-} continuation line every 100 ms while the client listens. */
    ENDLESS_GREETING,
    /** Answers EHLO and HELO with {@code 250-} continuation lines as fast as the client reads them, never a last one. */
    ENDLESS_EHLO_REPLY,
    /**
     * Offers STARTTLS (with a {@linkplain FakeMxServer.Builder#tls TLS context}), answers 220, then sends its side of
     * the TLS handshake one byte every 100 ms: a handshake that takes minutes, each byte in time for any read timeout.
     */
    DRIP_TLS_HANDSHAKE,
    /** Speaks SMTP, but never answers QUIT: the connection stays open until the client closes it. */
    SILENT_QUIT
}

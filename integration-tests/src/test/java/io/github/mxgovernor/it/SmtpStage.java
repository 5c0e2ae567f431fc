package io.github.mxgovernor.it;

/**
 * The points of an SMTP dialogue at which {@link FakeMxServer} answers, and where a {@link ReplyPolicy} may step in.
 */
public enum SmtpStage {
    GREETING,
    EHLO,
    HELO,
    MAIL,
    RCPT,
    DATA,
    /** A BDAT chunk that is not the last one, once all its bytes have arrived. */
    BDAT,
    /**
     * The final dot of the content, or the end of the {@code BDAT ... LAST} chunk: the reply that accepts or refuses
     * the message.
     */
    END_OF_DATA,
    RSET,
    NOOP,
    QUIT
}

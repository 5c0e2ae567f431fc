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
    /** The final dot of the content: the reply that accepts or refuses the message. */
    END_OF_DATA,
    RSET,
    NOOP,
    QUIT
}

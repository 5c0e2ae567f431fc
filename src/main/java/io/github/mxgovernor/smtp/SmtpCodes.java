package io.github.mxgovernor.smtp;

/** The SMTP reply codes (RFC 5321 section 4.2.3, RFC 4954) the client acts on by number. */
final class SmtpCodes {
    /** Greeting, and the go-ahead for the TLS handshake after STARTTLS (RFC 3207). */
    static final int SERVICE_READY = 220;
    /** Authentication succeeded (RFC 4954). */
    static final int AUTHENTICATED = 235;
    /** A SASL challenge: the server waits for the next step of AUTH (RFC 4954). */
    static final int AUTH_CHALLENGE = 334;
    /** Start mail input: the answer to DATA that lets the content go. */
    static final int START_MAIL_INPUT = 354;
    /** The server is closing the transmission channel: the session ends, whatever command it answers. */
    static final int SERVICE_CLOSING = 421;
    /** Syntax error, command unrecognized. */
    static final int COMMAND_UNRECOGNIZED = 500;
    /** Command not implemented. */
    static final int COMMAND_NOT_IMPLEMENTED = 502;
    /** Command parameter not implemented. */
    static final int PARAMETER_NOT_IMPLEMENTED = 504;

    private SmtpCodes() {
    }

    /** Whether {@code reply} says the server does not know the command at all (to BDAT: CHUNKING is a lie). */
    static boolean isUnknownCommand(SmtpReply reply) {
        int code = reply.code();
        return code == COMMAND_UNRECOGNIZED || code == COMMAND_NOT_IMPLEMENTED || code == PARAMETER_NOT_IMPLEMENTED;
    }
}

package io.github.mxgovernor.smtp;

import java.util.Objects;

/**
 * A transaction the session refused to send, before any command of it went out, because the server said
 * (in its EHLO reply) that it cannot take it. Such a refusal is permanent: the same server would refuse the
 * same mail again. No server reply is behind it, so response rules never see it.
 */
public final class LocalRefusal {

    /** Why the transaction was not sent. */
    public enum Reason {
        /** The message is larger than the server's declared SIZE limit (RFC 1870). */
        MESSAGE_TOO_LARGE(new EnhancedStatusCode(5, 3, 4)),
        /**
         * The message has 8-bit bytes, the server did not offer 8BITMIME (RFC 6152), and the message could not
         * be converted to 7 bits.
         */
        EIGHT_BIT_NOT_SUPPORTED(new EnhancedStatusCode(5, 6, 3)),
        /** An envelope address has non-ASCII characters and the server did not offer SMTPUTF8 (RFC 6531). */
        UTF8_ADDRESS_NOT_SUPPORTED(new EnhancedStatusCode(5, 6, 7)),
        /** The sender asked for REQUIRETLS and the server did not offer it after STARTTLS (RFC 8689). */
        REQUIRETLS_NOT_SUPPORTED(new EnhancedStatusCode(5, 7, 30));

        private final EnhancedStatusCode enhancedCode;

        Reason(EnhancedStatusCode enhancedCode) {
            this.enhancedCode = enhancedCode;
        }

        /** The RFC 3463 code a bounce reports for this reason. */
        public EnhancedStatusCode enhancedCode() {
            return enhancedCode;
        }
    }

    private final Reason reason;
    private final String message;

    public LocalRefusal(Reason reason, String message) {
        this.reason = Objects.requireNonNull(reason, "reason");
        this.message = Objects.requireNonNull(message, "message");
        if (message.isBlank()) {
            throw new IllegalArgumentException("a local refusal needs a message");
        }
    }

    public Reason reason() {
        return reason;
    }

    /** One line for operators and bounces, naming the server's limit or missing extension. */
    public String message() {
        return message;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LocalRefusal)) {
            return false;
        }
        LocalRefusal that = (LocalRefusal) o;
        return reason == that.reason && message.equals(that.message);
    }

    @Override
    public int hashCode() {
        return Objects.hash(reason, message);
    }

    /** The refusal as a bounce would quote it: {@code 5.3.4 message is 20000000 bytes, ...}. */
    @Override
    public String toString() {
        return reason.enhancedCode() + " " + message;
    }
}

package io.github.mxgovernor.tls;

/** An MTA-STS TXT record or policy that cannot be used: malformed, too large, not fetched. The message says why. */
public final class MtaStsException extends Exception {
    private static final long serialVersionUID = 1L;

    public MtaStsException(String message) {
        super(message);
    }

    public MtaStsException(String message, Throwable cause) {
        super(message, cause);
    }
}

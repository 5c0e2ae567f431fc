package io.github.mxgovernor.tls;

/**
 * How a rule wants the SMTP session to be protected.
 *
 * <ul>
 *   <li>{@link #DISABLED}: never STARTTLS, even when offered.</li>
 *   <li>{@link #OPPORTUNISTIC}: STARTTLS when the server offers it, certificate not checked; plaintext otherwise.</li>
 *   <li>{@link #REQUIRED}: STARTTLS must succeed (certificate not checked); never plaintext.</li>
 *   <li>{@link #VERIFY}: STARTTLS must succeed with a PKIX-valid chain whose names match the MX host name.</li>
 * </ul>
 */
public enum TlsMode {
    DISABLED,
    OPPORTUNISTIC,
    REQUIRED,
    VERIFY;

    /** Whether a session under this mode may carry mail in plaintext. */
    public boolean allowsPlaintext() {
        return this == DISABLED || this == OPPORTUNISTIC;
    }
}

package io.github.mxgovernor.governor;

/**
 * How the TLS of a destination's sessions ended, as {@link DestinationStats#tlsCount(TlsOutcome)} counts it: sessions
 * opened, by protection; attempts that could not meet the TLS policy; and what MTA-STS {@code testing} policies would
 * have refused.
 */
public enum TlsOutcome {
    /** Encrypted, and the certificate was verified (PKIX and host name, or DANE). */
    VERIFIED,
    /** Encrypted without verifying the certificate. */
    ENCRYPTED,
    /** The session carries mail in plaintext (TLS not offered, or disabled by the rule). */
    PLAINTEXT,
    /** The TLS policy could not be met: no mail was sent on the session (a failed attempt, cause TLS_POLICY_FAILURE). */
    FAILED,
    /**
     * The session carried mail to a recipient domain whose MTA-STS {@code testing} policy {@code enforce} would have
     * refused there (MX host not listed, no TLS, certificate failures): counted once per session and domain, on top
     * of the session's protection.
     */
    MTA_STS_TESTING_FAILED
}

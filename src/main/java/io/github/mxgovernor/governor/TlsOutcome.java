package io.github.mxgovernor.governor;

/**
 * How the TLS of one SMTP session to a destination ended, as counted by {@link Destination#recordTls(TlsOutcome)};
 * and what MTA-STS {@code testing} policies would have refused on it.
 * Counted by the SMTP sessions' TLS handling; every count stays zero until that handling records them.
 */
public enum TlsOutcome {
    /** Encrypted, and the certificate was verified (PKIX and host name, or DANE). */
    VERIFIED,
    /** Encrypted without verifying the certificate. */
    ENCRYPTED,
    /** The session carried mail in plaintext (TLS not offered, or disabled by the rule). */
    PLAINTEXT,
    /** The TLS policy could not be met: no mail was sent on the session. */
    FAILED,
    /**
     * The session carried mail to a recipient domain whose MTA-STS {@code testing} policy {@code enforce} would have
     * refused there (MX host not listed, no TLS, certificate failures): counted once per session and domain, on top
     * of the session's protection.
     */
    MTA_STS_TESTING_FAILED
}

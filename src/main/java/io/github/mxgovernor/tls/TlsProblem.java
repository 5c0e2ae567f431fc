package io.github.mxgovernor.tls;

/**
 * What kept a TLS policy from being met: the second half of a {@code TLS_POLICY_FAILURE} deferral's message (the
 * first half says which policy asked for TLS).
 */
public enum TlsProblem {
    /** The server's EHLO reply does not offer STARTTLS. */
    NO_STARTTLS("STARTTLS not offered"),
    /** The server answered STARTTLS with something other than 220. */
    STARTTLS_REFUSED("STARTTLS refused"),
    /** The TLS handshake failed for another reason than the certificate (protocol, cipher suites, reset). */
    HANDSHAKE("TLS handshake failed"),
    /** The certificate chain does not lead to a trusted anchor (self-signed, unknown CA, incomplete chain). */
    UNTRUSTED_CHAIN("certificate chain not trusted"),
    /** The server's certificate has expired or is not valid yet. */
    EXPIRED_CERTIFICATE("certificate expired or not yet valid"),
    /** The certificate does not name the MX host. */
    HOST_NAME_MISMATCH("certificate does not name the MX host"),
    /** The certificate matches none of the MX host's DNSSEC-signed TLSA records. */
    TLSA_MISMATCH("certificate matches no TLSA record"),
    /** The TLSA lookup was bogus (failed DNSSEC validation) or failed: DANE status unknown. */
    TLSA_LOOKUP("TLSA lookup bogus or failed"),
    /** MTA-STS {@code enforce}: the MX host is not one the policy lists. */
    MX_NOT_IN_POLICY("MX host not listed in the MTA-STS policy");

    private final String description;

    TlsProblem(String description) {
        this.description = description;
    }

    /** A few words for operators, such as "certificate chain not trusted". */
    public String description() {
        return description;
    }
}

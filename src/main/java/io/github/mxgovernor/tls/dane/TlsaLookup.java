package io.github.mxgovernor.tls.dane;

/**
 * Finds the DANE TLSA records of an SMTP server, through a DNSSEC-validating resolver.
 * Implementations are thread-safe and never throw for DNS trouble: it is a {@link TlsaResult.Status#FAILED}
 * or {@link TlsaResult.Status#BOGUS} result.
 */
interface TlsaLookup {
    /**
     * Looks up {@code _<port>._tcp.<mxHost>} TLSA records (RFC 7672).
     *
     * @param mxHost the MX host name, as the MX record named it (a trailing dot is allowed)
     * @param port the SMTP port, 25 for MX delivery
     * @throws IllegalArgumentException when {@code mxHost} is not a DNS name or the port is outside 1..65535
     */
    TlsaResult lookup(String mxHost, int port);
}

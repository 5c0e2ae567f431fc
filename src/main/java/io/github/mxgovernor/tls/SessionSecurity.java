package io.github.mxgovernor.tls;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What one open SMTP session achieved: plaintext, encrypted, verified (PKIX chain and host name) or matched to
 * the host's TLSA records, with the negotiated protocol and cipher suite, the requirement it was opened under
 * (whose DANE verdict holds for every mail to that host), what a PKIX check of the certificate found (enforced only
 * when verified), and whether it is a plaintext fallback after a failed opportunistic handshake. Immutable.
 */
public final class SessionSecurity {
    /** How well a session is protected, weakest first. */
    public enum Protection {
        PLAINTEXT, ENCRYPTED, VERIFIED, DANE_VERIFIED;

        /** The name in the {@code mxgovernor.tls} attribute: {@code plaintext}, {@code dane-verified}, ... */
        public String configValue() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    private final String mxHost;
    private final Protection protection;
    private final Optional<String> protocol;
    private final Optional<String> cipherSuite;
    private final TlsRequirement openedFor;
    private final boolean plaintextFallback;
    private final Optional<CertificateCheck> certificate;

    private SessionSecurity(String mxHost, Protection protection, Optional<String> protocol,
                            Optional<String> cipherSuite, TlsRequirement openedFor, boolean plaintextFallback,
                            Optional<CertificateCheck> certificate) {
        this.mxHost = Objects.requireNonNull(mxHost, "mxHost");
        this.protection = protection;
        this.protocol = protocol;
        this.cipherSuite = cipherSuite;
        this.openedFor = Objects.requireNonNull(openedFor, "openedFor");
        this.plaintextFallback = plaintextFallback;
        this.certificate = certificate;
    }

    /** A session without TLS; {@code fallback} when TLS was tried and failed under an opportunistic policy. */
    public static SessionSecurity plaintext(String mxHost, TlsRequirement openedFor, boolean fallback) {
        return new SessionSecurity(mxHost, Protection.PLAINTEXT, Optional.empty(), Optional.empty(), openedFor,
            fallback, Optional.empty());
    }

    /**
     * An encrypted session.
     *
     * @param protection {@link Protection#ENCRYPTED}, {@link Protection#VERIFIED} or
     *     {@link Protection#DANE_VERIFIED}
     * @param certificate what the PKIX checks of the server's certificate found (valid, when verified)
     */
    public static SessionSecurity encrypted(String mxHost, Protection protection, String protocol,
                                            String cipherSuite, TlsRequirement openedFor,
                                            CertificateCheck certificate) {
        if (protection == Protection.PLAINTEXT) {
            throw new IllegalArgumentException("an encrypted session cannot be plaintext");
        }
        Objects.requireNonNull(certificate, "certificate");
        if (protection == Protection.VERIFIED && certificate.kind() != CertificateCheck.Kind.VALID) {
            throw new IllegalArgumentException("a verified session has a valid certificate, not " + certificate);
        }
        return new SessionSecurity(mxHost, protection, Optional.of(protocol), Optional.of(cipherSuite), openedFor,
            false, Optional.of(certificate));
    }

    public String mxHost() {
        return mxHost;
    }

    public Protection protection() {
        return protection;
    }

    /** The negotiated TLS protocol, such as {@code TLSv1.3}; empty in plaintext. */
    public Optional<String> protocol() {
        return protocol;
    }

    /** The negotiated cipher suite; empty in plaintext. */
    public Optional<String> cipherSuite() {
        return cipherSuite;
    }

    /** The requirement the session was opened under; its DANE verdict is the host's. */
    public TlsRequirement openedFor() {
        return openedFor;
    }

    /**
     * What the PKIX checks (chain, dates, MX host name) found of the server's certificate; empty in plaintext. Only
     * a {@link Protection#VERIFIED} session required them; the others record what MTA-STS {@code testing} reports.
     */
    public Optional<CertificateCheck> certificate() {
        return certificate;
    }

    /** True for a plaintext session opened because the opportunistic TLS handshake with this host failed. */
    public boolean plaintextFallback() {
        return plaintextFallback;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SessionSecurity)) {
            return false;
        }
        SessionSecurity that = (SessionSecurity) o;
        return mxHost.equals(that.mxHost) && protection == that.protection && protocol.equals(that.protocol)
            && cipherSuite.equals(that.cipherSuite) && openedFor.equals(that.openedFor)
            && plaintextFallback == that.plaintextFallback && certificate.equals(that.certificate);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mxHost, protection, protocol, cipherSuite, openedFor, plaintextFallback, certificate);
    }

    @Override
    public String toString() {
        return mxHost + ": " + protection.configValue() + protocol.map(p -> " " + p).orElse("")
            + cipherSuite.map(c -> " " + c).orElse("") + (plaintextFallback ? " (plaintext fallback)" : "");
    }
}

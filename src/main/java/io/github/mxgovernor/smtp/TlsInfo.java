package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.CertificateCheck;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** What a STARTTLS negotiation produced. */
public final class TlsInfo {
    private final String protocol;
    private final String cipherSuite;
    private final List<X509Certificate> peerCertificates;
    private final CertificateCheck certificateCheck;

    public TlsInfo(String protocol, String cipherSuite, List<X509Certificate> peerCertificates,
                   CertificateCheck certificateCheck) {
        this.protocol = Objects.requireNonNull(protocol, "protocol");
        this.cipherSuite = Objects.requireNonNull(cipherSuite, "cipherSuite");
        this.peerCertificates = List.copyOf(peerCertificates);
        this.certificateCheck = Objects.requireNonNull(certificateCheck, "certificateCheck");
    }

    public String protocol() {
        return protocol;
    }

    public String cipherSuite() {
        return cipherSuite;
    }

    /** The peer's chain, leaf first, as presented in the handshake. */
    public List<X509Certificate> peerCertificates() {
        return peerCertificates;
    }

    /**
     * What the PKIX checks (chain, dates, MX host name) found: {@link CertificateCheck#valid()} in
     * {@link io.github.mxgovernor.tls.TlsMode#VERIFY}, where anything else ends the handshake; otherwise what they
     * would have found, recorded and not enforced.
     */
    public CertificateCheck certificateCheck() {
        return certificateCheck;
    }
}

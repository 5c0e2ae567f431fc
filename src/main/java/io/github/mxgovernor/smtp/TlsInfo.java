package io.github.mxgovernor.smtp;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** What a STARTTLS negotiation produced. */
public final class TlsInfo {
    private final String protocol;
    private final String cipherSuite;
    private final List<X509Certificate> peerCertificates;

    public TlsInfo(String protocol, String cipherSuite, List<X509Certificate> peerCertificates) {
        this.protocol = Objects.requireNonNull(protocol, "protocol");
        this.cipherSuite = Objects.requireNonNull(cipherSuite, "cipherSuite");
        this.peerCertificates = List.copyOf(peerCertificates);
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
}

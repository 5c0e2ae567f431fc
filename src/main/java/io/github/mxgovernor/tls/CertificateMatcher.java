package io.github.mxgovernor.tls;

import java.security.cert.X509Certificate;
import java.util.List;

/** Decides whether a server's certificate chain is the one DNS says it must be (DANE's TLSA records). */
@FunctionalInterface
public interface CertificateMatcher {
    /**
     * @param chain the peer's chain as presented in the handshake, leaf first
     * @param mxHost the MX host name the session connected to (DANE-TA needs it for the name check)
     */
    boolean matches(List<X509Certificate> chain, String mxHost);
}

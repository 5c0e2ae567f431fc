package io.github.mxgovernor.tls.dane;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Objects;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that accepts a server exactly when its chain matches the TLSA records of a
 * {@link TlsaMatcher}, in place of PKIX, for sessions to an MX host with {@link TlsaResult.Status#SECURE}
 * records. It is an {@link X509ExtendedTrustManager} so that the JDK adds no checks of its own: in particular
 * no host name check, which DANE-EE(3) does not want and the matcher does itself for DANE-TA(2). A mismatch fails
 * the handshake with a {@link CertificateException} that says which records were tried and why each missed.
 */
final class DaneTrustManager extends X509ExtendedTrustManager {
    private final TlsaMatcher matcher;

    public DaneTrustManager(TlsaMatcher matcher) {
        this.matcher = Objects.requireNonNull(matcher, "matcher");
    }

    /** A new client TLS context (no client certificate) that trusts servers through this trust manager only. */
    public SSLContext sslContext() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {this}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot create a TLS context", e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server presented no certificate");
        }
        matcher.verify(Arrays.asList(chain));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("DANE authenticates servers; no client certificate is expected here");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}

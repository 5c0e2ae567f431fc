package io.github.mxgovernor.smtp;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust managers of the client side of SMTP's TLS: they judge servers only. A client certificate is refused, none
 * is ever expected, and no issuer is suggested. Extended, so the JDK does not wrap them with checks of its own.
 */
abstract class ServerTrustManager extends X509ExtendedTrustManager {
    private static final String NO_CLIENTS = "no client certificates are expected on the client side";

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException(NO_CLIENTS);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException(NO_CLIENTS);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException(NO_CLIENTS);
    }

    @Override
    public final X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.TlsMode;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JDK TLS contexts of a factory's sessions: one that verifies, for {@link TlsMode#VERIFY}, and one that accepts
 * every certificate, for {@link TlsMode#OPPORTUNISTIC} and {@link TlsMode#REQUIRED} (RFC 7435), but makes the same
 * checks to record what they found when it was given the trust anchors ({@link CheckingTrustManager}).
 */
final class TlsContexts {
    private final SSLContext verifying;
    private final SSLContext unverified;
    private final Optional<CheckingTrustManager> checks;

    private TlsContexts(SSLContext verifying, Optional<CheckingTrustManager> checks) {
        this.verifying = Objects.requireNonNull(verifying, "verifyingContext");
        this.checks = checks;
        this.unverified = context(checks.<TrustManager>map(check -> check).orElseGet(AcceptingTrustManager::new));
        if (checks.isPresent()) {
            // a resumed session finds the check of its full handshake only while it is remembered
            unverified.getClientSessionContext().setSessionTimeout((int) CheckingTrustManager.RETAINED.getSeconds());
        }
    }

    /** Verifies with {@code trust}: dates, PKIX chain, then host name, so a refusal says which failed. */
    static TlsContexts verifyingWith(X509ExtendedTrustManager trust) {
        return new TlsContexts(context(new VerifyingTrustManager(trust)),
            Optional.of(new CheckingTrustManager(new VerifyingTrustManager(trust))));
    }

    /** Verifies with a context built elsewhere; sessions that do not verify check nothing either. */
    static TlsContexts verifyingWith(SSLContext verifyingContext) {
        return new TlsContexts(verifyingContext, Optional.empty());
    }

    /** A client engine for {@code endpoint}: SNI and the host name check name the MX host. */
    SSLEngine engine(TlsMode mode, SmtpEndpoint endpoint) {
        SSLContext context = mode == TlsMode.VERIFY ? verifying : unverified;
        SSLEngine engine = context.createSSLEngine(endpoint.hostName(), endpoint.port());
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        // the host name check, enforced in VERIFY and only recorded otherwise
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        sniHostName(endpoint.hostName()).ifPresent(name -> parameters.setServerNames(List.of(name)));
        engine.setSSLParameters(parameters);
        return engine;
    }

    /** What the certificate checks found for a session that completed its handshake in {@code mode}. */
    CertificateCheck checkOf(TlsMode mode, SmtpEndpoint endpoint, List<X509Certificate> chain) {
        if (mode == TlsMode.VERIFY) {
            return CertificateCheck.valid();
        }
        if (checks.isEmpty()) {
            return CertificateCheck.notChecked("no trust anchors to check it against");
        }
        if (chain.isEmpty()) {
            return CertificateCheck.notChecked("the server presented no X.509 certificate");
        }
        return checks.get().checkOf(endpoint.hostName(), chain.get(0));
    }

    private static Optional<SNIHostName> sniHostName(String hostName) {
        String name = hostName.endsWith(".") ? hostName.substring(0, hostName.length() - 1) : hostName;
        try {
            return Optional.of(new SNIHostName(name));
        } catch (IllegalArgumentException notAHostName) {
            return Optional.empty();
        }
    }

    private static SSLContext context(TrustManager trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot create a TLS context", e);
        }
    }

    /**
     * Accepts every server certificate: OPPORTUNISTIC and REQUIRED encrypt without authenticating, as most MTAs do
     * (RFC 7435).
     */
    private static final class AcceptingTrustManager extends ServerTrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // accepted by design, see the class comment
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            // accepted by design, see the class comment
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            // accepted by design, see the class comment
        }
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.CertificateCheck;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Accepts every server certificate, as sessions that do not verify must (RFC 7435), but first makes the checks of
 * {@link VerifyingTrustManager} (dates, PKIX chain, host name) and remembers what they found, per host name and
 * certificate, until unused for {@link #RETAINED}. A session reads the result after its handshake with
 * {@link #checkOf}; a resumed TLS session (whose handshake presents no certificate) finds the result of the full
 * handshake before it, which is why the contexts using this class resume sessions for {@link #RETAINED} at most.
 */
final class CheckingTrustManager extends ServerTrustManager {
    /** How long a result is remembered: about the lifetime of a resumable TLS session, at most. */
    static final Duration RETAINED = Duration.ofHours(1);
    private static final int HOSTS = 10_000;

    private final VerifyingTrustManager verifying;
    private final Cache<Map.Entry<String, X509Certificate>, CertificateCheck> results = Caffeine.newBuilder()
        .maximumSize(HOSTS)
        .expireAfterAccess(RETAINED)
        .build();

    CheckingTrustManager(VerifyingTrustManager verifying) {
        this.verifying = Objects.requireNonNull(verifying, "verifying");
    }

    /** What the checks found for this host's certificate (the leaf of the chain it presented). */
    CertificateCheck checkOf(String hostName, X509Certificate leaf) {
        CertificateCheck check = results.getIfPresent(key(hostName, leaf));
        return check != null ? check
            : CertificateCheck.notChecked("the TLS session was resumed and its first handshake is forgotten");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        if (socket instanceof SSLSocket) {
            record(chain, ((SSLSocket) socket).getHandshakeSession(),
                () -> verifying.checkServerTrusted(chain, authType, socket));
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        if (engine != null) {
            record(chain, engine.getHandshakeSession(), () -> verifying.checkServerTrusted(chain, authType, engine));
        }
    }

    /** A check of the verifying trust manager, which throws what it refuses. */
    @FunctionalInterface
    private interface Verification {
        void run() throws CertificateException;
    }

    private void record(X509Certificate[] chain, SSLSession handshake, Verification verification) {
        if (chain == null || chain.length == 0 || handshake == null || handshake.getPeerHost() == null) {
            return;
        }
        CertificateCheck check;
        try {
            verification.run();
            check = CertificateCheck.valid();
        } catch (CertificateException e) {
            check = CertificateCheck.failed(VerifyingTrustManager.problemOf(e), String.valueOf(causeMessage(e)));
        }
        results.put(key(handshake.getPeerHost(), chain[0]), check);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
        // no host to check against: accepted, as every certificate is
    }





    private static Map.Entry<String, X509Certificate> key(String hostName, X509Certificate leaf) {
        return Map.entry(hostName.toLowerCase(Locale.ROOT), leaf);
    }

    /** The JDK's own words, without the "what failed" prefix our problem description already gives. */
    private static String causeMessage(CertificateException e) {
        return e instanceof VerifyingTrustManager.CertificateProblem && e.getCause() != null
            ? e.getCause().getMessage() : e.getMessage();
    }
}

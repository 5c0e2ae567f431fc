package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.TlsProblem;

import java.net.Socket;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Objects;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a server's certificate for {@link io.github.mxgovernor.tls.TlsMode#VERIFY} in three steps, so that a
 * refusal says what failed: the leaf's validity dates, then the PKIX chain (the delegate without a socket), then the
 * host name (the delegate with the socket, whose parameters ask for HTTPS identification). Each refusal is a
 * {@link CertificateProblem} carrying its {@link TlsProblem}.
 */
final class VerifyingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;

    VerifyingTrustManager(X509ExtendedTrustManager delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkChain(chain, authType);
        checkHostName(() -> delegate.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkChain(chain, authType);
        checkHostName(() -> delegate.checkServerTrusted(chain, authType, engine));
    }

    /** The JDK's host name check (the chain passed already), its failure said as such. */
    private static void checkHostName(HostNameCheck check) throws CertificateException {
        try {
            check.run();
        } catch (CertificateException e) {
            throw new CertificateProblem(TlsProblem.HOST_NAME_MISMATCH, e);
        }
    }

    @FunctionalInterface
    private interface HostNameCheck {
        void run() throws CertificateException;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkChain(chain, authType);
    }

    private void checkChain(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateProblem(TlsProblem.UNTRUSTED_CHAIN, new CertificateException("no certificate"));
        }
        try {
            chain[0].checkValidity();
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new CertificateProblem(TlsProblem.EXPIRED_CERTIFICATE, e);
        }
        try {
            delegate.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            throw new CertificateProblem(expired(e) ? TlsProblem.EXPIRED_CERTIFICATE : TlsProblem.UNTRUSTED_CHAIN, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }

    /**
     * What a failed handshake says went wrong: the {@link CertificateProblem} this class threw, else (for a
     * verifying context built elsewhere) what the JDK's exceptions tell, else {@link TlsProblem#HANDSHAKE}.
     */
    static TlsProblem problemOf(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateProblem) {
                return ((CertificateProblem) t).problem();
            }
        }
        if (expired(failure)) {
            return TlsProblem.EXPIRED_CERTIFICATE;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof CertificateException
                && (message.contains("subject alternative") || message.contains("no name matching"))) {
                return TlsProblem.HOST_NAME_MISMATCH;
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof CertPathBuilderException
                || t instanceof CertPathValidatorException) {
                return TlsProblem.UNTRUSTED_CHAIN;
            }
        }
        return TlsProblem.HANDSHAKE;
    }

    private static boolean expired(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                return true;
            }
            if (t instanceof CertPathValidatorException) {
                CertPathValidatorException.Reason reason = ((CertPathValidatorException) t).getReason();
                if (reason == CertPathValidatorException.BasicReason.EXPIRED
                    || reason == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A refused certificate, and which of the checks refused it. */
    static final class CertificateProblem extends CertificateException {
        private static final long serialVersionUID = 1L;

        private final TlsProblem problem;

        CertificateProblem(TlsProblem problem, Throwable cause) {
            super(problem.description() + ": " + cause.getMessage(), cause);
            this.problem = problem;
        }

        TlsProblem problem() {
            return problem;
        }
    }
}

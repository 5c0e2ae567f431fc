package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;
import io.netty.handler.ssl.SslHandler;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * STARTTLS (RFC 3207) as the session's {@link TlsMode} says, on Netty's {@link SslHandler} over a JDK
 * {@link SSLEngine}. The handshake has no deadline of its own: the opening's deadline bounds it, with everything
 * else from connect to the EHLO after it. Runs on the connection's event loop.
 */
final class StartTlsStep {
    /** How long a closing TLS session waits for its close_notify to go out before the socket closes anyway. */
    static final long CLOSE_NOTIFY_FLUSH_MILLIS = 1000;

    private final SmtpConnection connection;
    private final TlsMode mode;
    private final TlsContexts contexts;
    private final long commandTimeoutMillis;

    StartTlsStep(SmtpConnection connection, TlsMode mode, TlsContexts contexts, long commandTimeoutMillis) {
        this.connection = connection;
        this.mode = mode;
        this.contexts = contexts;
        this.commandTimeoutMillis = commandTimeoutMillis;
    }

    /**
     * Completes with what the handshake produced, or empty when the session goes on in plaintext (TLS disabled, or
     * not offered or refused where the mode allows plaintext). Fails with a {@link Kind#TLS_FAILURE} saying what
     * failed when the mode requires TLS and it cannot be had, or the handshake fails, and with a
     * {@link Kind#PROTOCOL_ERROR} when the server sent bytes after its 220 and before the handshake.
     */
    CompletableFuture<Optional<TlsInfo>> negotiate(EhloCapabilities server) {
        if (mode == TlsMode.DISABLED) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        if (!server.offers(EhloCapabilities.STARTTLS)) {
            if (mode.allowsPlaintext()) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
            return CompletableFuture.failedFuture(refuse("STARTTLS not offered, but TLS mode " + mode
                + " requires it", null, TlsProblem.NO_STARTTLS));
        }
        return connection.command("STARTTLS", Stage.STARTTLS, commandTimeoutMillis).thenCompose(reply -> {
            if (reply.code() != SmtpCodes.SERVICE_READY) {
                if (mode.allowsPlaintext()) {
                    return CompletableFuture.completedFuture(Optional.empty());
                }
                throw new CompletionException(refuse("STARTTLS refused, but TLS mode " + mode + " requires it",
                    reply, TlsProblem.STARTTLS_REFUSED));
            }
            if (connection.hasUnreadInput()) {
                // plaintext sent after the 220 would be read as if it came through TLS (CVE-2011-0411 style)
                throw new CompletionException(connection.fail(Stage.STARTTLS, Kind.PROTOCOL_ERROR,
                    "server sent data after its STARTTLS reply", null, null));
            }
            return handshake();
        });
    }

    private CompletableFuture<Optional<TlsInfo>> handshake() {
        SSLEngine engine = contexts.engine(mode, connection.endpoint());
        SslHandler tls = new SslHandler(engine);
        tls.setHandshakeTimeoutMillis(0);
        tls.setCloseNotifyFlushTimeoutMillis(CLOSE_NOTIFY_FLUSH_MILLIS);
        CompletableFuture<Optional<TlsInfo>> negotiated = new CompletableFuture<>();
        tls.handshakeFuture().addListener(handshake -> {
            if (handshake.isSuccess()) {
                negotiated.complete(Optional.of(info(engine.getSession())));
                return;
            }
            Throwable cause = handshake.cause();
            TlsProblem problem = VerifyingTrustManager.problemOf(cause);
            connection.abort(problem.description());
            negotiated.completeExceptionally(new SmtpSessionException(Stage.STARTTLS, connection.endpoint() + ": "
                + problem.description() + " (TLS mode " + mode + "): " + cause.getMessage(), Optional.empty(), cause,
                problem));
        });
        // first in the pipeline, under the reply decoder; the client speaks first, so no TLS byte came before
        connection.channel().pipeline().addFirst("tls", tls);
        return negotiated;
    }

    private TlsInfo info(SSLSession session) {
        List<X509Certificate> chain = new ArrayList<>();
        try {
            for (Certificate certificate : session.getPeerCertificates()) {
                if (certificate instanceof X509Certificate) {
                    chain.add((X509Certificate) certificate);
                }
            }
        } catch (SSLPeerUnverifiedException anonymous) {
            // no certificate: the check says so
        }
        return new TlsInfo(session.getProtocol(), session.getCipherSuite(), chain,
            contexts.checkOf(mode, connection.endpoint(), chain));
    }

    /** Ends the session, in good order, because TLS cannot be had. */
    private SmtpSessionException refuse(String message, SmtpReply reply, TlsProblem problem) {
        connection.quit();
        String detail = reply == null ? message : message + ": " + reply;
        return new SmtpSessionException(Stage.STARTTLS, connection.endpoint() + ": " + detail,
            Optional.ofNullable(reply), null, problem);
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;

import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Opens one session on a connecting channel: the connection, the greeting, EHLO (HELO fallback), STARTTLS as the
 * settings say and EHLO again, all within {@link SessionSettings#openTimeout()}, each reply within
 * {@code commandTimeout}. Runs on the channel's event loop.
 */
final class SessionOpening {
    private final SmtpConnection connection;
    private final SessionSettings settings;
    private final TlsContexts tls;
    private final PeerQuirks quirks;
    private final Executor contentExecutor;
    private final int contentBufferBytes;
    private final long commandTimeoutMillis;
    private final CompletableFuture<SmtpSession> opened = new CompletableFuture<>();
    private volatile Stage stage = Stage.CONNECT;

    SessionOpening(SmtpConnection connection, SessionSettings settings, TlsContexts tls, PeerQuirks quirks,
                   Executor contentExecutor, int contentBufferBytes) {
        this.connection = connection;
        this.settings = settings;
        this.tls = tls;
        this.quirks = quirks;
        this.contentExecutor = contentExecutor;
        this.contentBufferBytes = contentBufferBytes;
        this.commandTimeoutMillis = SmtpConnection.millis(settings.commandTimeout());
    }

    /** Opens the session on {@code connecting}; the future completes with it, or with why it could not be opened. */
    CompletableFuture<SmtpSession> start(ChannelFuture connecting) {
        if (connecting.isDone() && !connecting.isSuccess()) {
            // no channel, or no event loop to run it on (out of file descriptors, the factory closing)
            connectFailed(connecting.cause());
            return opened;
        }
        long openMillis = SmtpConnection.millis(settings.openTimeout());
        ScheduledFuture<?> deadline;
        try {
            deadline = connecting.channel().eventLoop().schedule(() -> timedOut(openMillis), openMillis,
                TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException shutDown) {
            connecting.channel().close();
            opened.completeExceptionally(new IllegalStateException("the SMTP client is closed", shutDown));
            return opened;
        }
        opened.whenComplete((session, failure) -> {
            deadline.cancel(false);
            if (failure instanceof CancellationException) {
                connection.abort("the opening was cancelled");
            }
        });
        connecting.addListener(connected -> {
            if (connected.isSuccess()) {
                greet();
            } else {
                connectFailed(connected.cause());
            }
        });
        return opened;
    }

    private void connectFailed(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            opened.completeExceptionally(connection.exception(Stage.CONNECT, Kind.TIMEOUT, "no connection within "
                + SmtpConnection.millis(settings.connectTimeout()) + " ms", null, cause));
        } else {
            opened.completeExceptionally(connection.exception(Stage.CONNECT, Kind.CONNECTION_REFUSED,
                "could not connect: " + cause.getMessage(), null, cause));
        }
    }

    private void timedOut(long openMillis) {
        SmtpSessionException late = connection.exception(stage, Kind.TIMEOUT, "the session was not open within "
            + openMillis + " ms (still at " + stage + ")", null, null);
        if (opened.completeExceptionally(late)) {
            connection.abort("the opening took more than " + openMillis + " ms");
        }
    }

    private void greet() {
        stage = Stage.GREETING;
        connection.reply(Stage.GREETING, "greeting", commandTimeoutMillis)
            .thenCompose(greeting -> {
                if (greeting.code() != SmtpCodes.SERVICE_READY) {
                    throw new CompletionException(connection.refuse(Stage.GREETING, Kind.REFUSED_BY_SERVER,
                        "server refused the session", greeting));
                }
                return hello();
            })
            .thenCompose(server -> {
                stage = Stage.STARTTLS;
                return new StartTlsStep(connection, settings.tlsMode(), tls, commandTimeoutMillis).negotiate(server)
                    .thenCompose(negotiated -> negotiated.isEmpty()
                        ? CompletableFuture.completedFuture(open(server, negotiated))
                        : hello().thenApply(again -> open(again, negotiated)));
            })
            .whenComplete((session, failure) -> {
                if (failure != null) {
                    opened.completeExceptionally(TransactionWriter.unwrap(failure));
                    if (connection.isOpen()) {
                        connection.abort("the opening failed");
                    }
                } else if (!opened.complete(session)) {
                    // too late: the deadline passed or the caller gave up
                    connection.abort("the opening was abandoned");
                }
            });
    }

    private SmtpSession open(EhloCapabilities server, Optional<TlsInfo> negotiated) {
        return new NettySmtpSession(connection, settings, server, negotiated, quirks, contentExecutor,
            new ContentBuffer(contentBufferBytes, 0));
    }

    /** EHLO, and HELO when EHLO gets a 5xx; what the server announced. */
    private CompletableFuture<EhloCapabilities> hello() {
        stage = Stage.EHLO;
        String heloName = settings.heloName();
        return connection.command("EHLO " + heloName, Stage.EHLO, commandTimeoutMillis).thenCompose(ehlo -> {
            if (ehlo.isPositiveCompletion()) {
                return CompletableFuture.completedFuture(EhloCapabilities.parse(ehlo.lines()));
            }
            if (!ehlo.isPermanentFailure()) {
                throw new CompletionException(connection.refuse(Stage.EHLO, Kind.REFUSED_BY_SERVER, "EHLO refused",
                    ehlo));
            }
            return connection.command("HELO " + heloName, Stage.EHLO, commandTimeoutMillis).thenApply(helo -> {
                if (!helo.isPositiveCompletion()) {
                    throw new CompletionException(connection.refuse(Stage.EHLO, Kind.REFUSED_BY_SERVER,
                        "EHLO and HELO refused", helo));
                }
                return EhloCapabilities.NONE;
            });
        });
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * An open SMTP session on a Netty channel; the behaviour is documented on {@link NettySmtpSessionFactory}. The
 * protocol runs on the channel's event loop; the content is read, scanned and converted on the content executor.
 */
final class NettySmtpSession implements SmtpSession {
    private final SmtpConnection connection;
    private final EhloCapabilities server;
    private final Optional<TlsInfo> tls;
    private final Executor contentExecutor;
    private final ContentBuffer buffer;
    private final long commandTimeoutMillis;
    private final long transactionTimeoutMillis;
    private final TransactionWriter writer;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;
    private volatile int transactionCount;
    private boolean deadlinePassed;

    NettySmtpSession(SmtpConnection connection, SessionSettings settings, EhloCapabilities server,
                     Optional<TlsInfo> tls, PeerQuirks quirks, Executor contentExecutor, ContentBuffer buffer) {
        this.connection = connection;
        this.server = server;
        this.tls = tls;
        this.contentExecutor = contentExecutor;
        this.buffer = buffer;
        this.commandTimeoutMillis = SmtpConnection.millis(settings.commandTimeout());
        this.transactionTimeoutMillis = SmtpConnection.millis(settings.transactionTimeout());
        long dataTimeoutMillis = SmtpConnection.millis(settings.dataTimeout());
        SmtpEndpoint endpoint = connection.endpoint();
        DataContent data = new DataContent(connection, buffer, contentExecutor, commandTimeoutMillis,
            dataTimeoutMillis);
        boolean pipelining = server.offers(EhloCapabilities.PIPELINING)
            && !quirks.distrusts(endpoint, PeerQuirks.Extension.PIPELINING);
        // BDAT saves a round trip only when it rides in the pipelined burst; alone, DATA does as well
        boolean chunking = pipelining && server.offers(EhloCapabilities.CHUNKING)
            && !quirks.distrusts(endpoint, PeerQuirks.Extension.CHUNKING);
        this.writer = pipelining
            ? new PipelinedTransaction(connection, server, data, chunking
                ? new BdatContent(connection, buffer, contentExecutor, quirks, dataTimeoutMillis) : null, quirks,
                commandTimeoutMillis)
            : new StepByStepTransaction(connection, server, data, commandTimeoutMillis);
    }

    @Override
    public SmtpEndpoint endpoint() {
        return connection.endpoint();
    }

    @Override
    public Set<String> extensions() {
        return server.extensions();
    }

    @Override
    public Optional<TlsInfo> tls() {
        return tls;
    }

    @Override
    public int transactionCount() {
        return transactionCount;
    }

    @Override
    public boolean isReusable() {
        return !closed && connection.isOpen();
    }

    @Override
    public CompletableFuture<Void> authenticate(SmtpCredentials credentials) {
        Objects.requireNonNull(credentials, "credentials");
        IllegalStateException unusable = unusable();
        if (unusable != null) {
            return CompletableFuture.failedFuture(unusable);
        }
        return finish(onEventLoop(() -> new AuthStep(connection, server, tls.isPresent(), commandTimeoutMillis)
            .authenticate(credentials)));
    }

    @Override
    public CompletableFuture<TransactionResult> send(SmtpTransaction transaction) {
        Objects.requireNonNull(transaction, "transaction");
        List<String> recipients;
        try {
            recipients = PreparedTransaction.distinctRecipients(transaction);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        IllegalStateException unusable = unusable();
        if (unusable != null) {
            return CompletableFuture.failedFuture(unusable);
        }
        CompletableFuture<PreparedTransaction> prepared;
        try {
            prepared = CompletableFuture.supplyAsync(() -> PreparedTransaction.prepare(transaction, recipients,
                connection.endpoint(), server, tls.isPresent(), buffer), contentExecutor);
        } catch (RejectedExecutionException e) {
            busy.set(false);
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<TransactionResult> sent = prepared.thenComposeAsync(this::run, connection.executor());
        return finish(sent.whenComplete((result, failure) -> buffer.release()));
    }

    /** Claims the session for one call, or says why it cannot take one. */
    private IllegalStateException unusable() {
        if (closed) {
            return new IllegalStateException(endpoint() + ": session is closed");
        }
        if (!connection.isOpen()) {
            return new IllegalStateException(endpoint() + ": session failed earlier and cannot carry a transaction");
        }
        if (!busy.compareAndSet(false, true)) {
            return new IllegalStateException(endpoint() + ": a transaction or AUTH is already in progress");
        }
        return null;
    }

    /** On the event loop: the transaction prepared, under its overall deadline. */
    private CompletableFuture<TransactionResult> run(PreparedTransaction prepared) {
        if (prepared.refusal().isPresent()) {
            return CompletableFuture.completedFuture(TransactionResult.refusedLocally(prepared.refusal().get()));
        }
        transactionCount++;
        deadlinePassed = false;
        ScheduledFuture<?> deadline = connection.eventLoop().schedule(() -> {
            deadlinePassed = true;
            connection.abort("the transaction took more than " + transactionTimeoutMillis + " ms in all");
        }, transactionTimeoutMillis, TimeUnit.MILLISECONDS);
        CompletableFuture<TransactionResult> sent;
        try {
            sent = writer.send(prepared);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((result, failure) -> {
            deadline.cancel(false);
            if (failure == null) {
                return CompletableFuture.completedFuture(result);
            }
            Throwable cause = TransactionWriter.unwrap(failure);
            if (deadlinePassed && cause instanceof SmtpSessionException) {
                SmtpSessionException e = (SmtpSessionException) cause;
                cause = new SmtpSessionException(e.stage(), Kind.TIMEOUT, endpoint() + ": the transaction took more"
                    + " than " + transactionTimeoutMillis + " ms in all (" + e.getMessage() + ")", Optional.empty(), e);
            } else if (!(cause instanceof SmtpSessionException) && connection.isOpen()) {
                // the session cannot tell where the server stands
                connection.abort("the transaction failed: " + cause);
            }
            return CompletableFuture.<TransactionResult>failedFuture(cause);
        }).thenCompose(result -> result);
    }

    @Override
    public CompletableFuture<Void> close() {
        if (!closed) {
            closed = true;
            try {
                connection.eventLoop().execute(() -> {
                    if (busy.get()) {
                        connection.abort("the session was closed during a transaction");
                    } else {
                        connection.quit();
                    }
                });
            } catch (RejectedExecutionException shutDown) {
                connection.abort("the client is shutting down");
            }
        }
        return connection.closeFuture();
    }

    @Override
    public void abort() {
        closed = true;
        connection.abort("the session was aborted");
    }

    /** Runs {@code call} on the event loop; the session is free again once it completed. */
    private <T> CompletableFuture<T> onEventLoop(Supplier<CompletableFuture<T>> call) {
        try {
            return CompletableFuture.supplyAsync(call, connection.executor()).thenCompose(started -> started);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Frees the session for the next call, and completes with the failure itself, not wrapped. */
    private <T> CompletableFuture<T> finish(CompletableFuture<T> call) {
        CompletableFuture<T> finished = new CompletableFuture<>();
        call.whenComplete((result, failure) -> {
            busy.set(false);
            if (failure != null) {
                finished.completeExceptionally(TransactionWriter.unwrap(failure));
            } else {
                finished.complete(result);
            }
        });
        return finished;
    }
}

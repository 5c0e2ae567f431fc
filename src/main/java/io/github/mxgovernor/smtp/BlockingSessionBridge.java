package io.github.mxgovernor.smtp;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Adapts the blocking {@link BlockingSmtpSessionFactory} to the non-blocking {@link SmtpSessionFactory}: every
 * blocking call runs on {@code executor}. A stop-gap while the engine moves to non-blocking sessions; it holds one
 * thread per call in progress, which is exactly what non-blocking sessions do away with.
 */
public final class BlockingSessionBridge implements SmtpSessionFactory {
    private final BlockingSmtpSessionFactory sessions;
    private final Executor executor;

    public BlockingSessionBridge(BlockingSmtpSessionFactory sessions, Executor executor) {
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public CompletableFuture<SmtpSession> open(SmtpEndpoint endpoint, SessionSettings settings) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new Bridged(sessions.open(endpoint, settings));
            } catch (SmtpSessionException e) {
                throw new CompletionException(e);
            }
        }, executor);
    }

    private final class Bridged implements SmtpSession {
        private final BlockingSmtpSession session;

        Bridged(BlockingSmtpSession session) {
            this.session = session;
        }

        @Override
        public SmtpEndpoint endpoint() {
            return session.endpoint();
        }

        @Override
        public Set<String> extensions() {
            return session.extensions();
        }

        @Override
        public Optional<TlsInfo> tls() {
            return session.tls();
        }

        @Override
        public CompletableFuture<Void> authenticate(SmtpCredentials credentials) {
            if (!(session instanceof SocketSmtpSession)) {
                return CompletableFuture.failedFuture(new UnsupportedOperationException(
                    "SMTP AUTH needs a socket session, not " + session.getClass().getSimpleName()));
            }
            return CompletableFuture.runAsync(() -> {
                try {
                    ((SocketSmtpSession) session).authenticate(credentials);
                } catch (SmtpSessionException e) {
                    throw new CompletionException(e);
                }
            }, executor);
        }

        @Override
        public CompletableFuture<TransactionResult> send(SmtpTransaction transaction) {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return session.send(transaction);
                } catch (SmtpSessionException e) {
                    throw new CompletionException(e);
                }
            }, executor);
        }

        @Override
        public int transactionCount() {
            return session.transactionCount();
        }

        @Override
        public boolean isReusable() {
            return session.isReusable();
        }

        @Override
        public CompletableFuture<Void> close() {
            return CompletableFuture.runAsync(session::close, executor);
        }

        @Override
        public void abort() {
            if (session instanceof SocketSmtpSession) {
                ((SocketSmtpSession) session).abort();
            } else {
                executor.execute(session::close);
            }
        }
    }
}

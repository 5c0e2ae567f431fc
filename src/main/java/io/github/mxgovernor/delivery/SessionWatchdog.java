package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.time.Scheduler;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's own deadline on every session future, whatever the session implementation does: opening within
 * {@link SessionSettings#openTimeout()}, SMTP AUTH within it too, each transaction within
 * {@link SessionSettings#transactionTimeout()}, closing within {@link #CLOSE_LIMIT}, each plus {@link #MARGIN} so that
 * a session that keeps its own deadlines reports its failure first. A future that overruns completes exceptionally
 * with a {@link SmtpSessionException.Kind#TIMEOUT} (closing: normally) and the session is aborted; a session that
 * arrives after its opening overran, or after the caller cancelled it, is aborted at once. Cancelling an opening
 * (which {@link #refuseOpens()} does) cancels the factory's future too: a factory should then give the connection up.
 *
 * <p>It also turns what a factory or a session throws instead of returning a future (a {@link RuntimeException} or
 * an {@link Error}) into a failed future, so callers have one path for every failure. After
 * {@link SmtpSession#abort()}, a watched session calls nothing on the session it wraps, and its pending futures
 * complete at once.
 */
final class SessionWatchdog implements SmtpSessionFactory {
    private static final Logger LOGGER = LoggerFactory.getLogger(SessionWatchdog.class);
    /** Added to each deadline, for the session's own deadline to fire first. */
    static final Duration MARGIN = Duration.ofSeconds(1);
    /** How long closing may take (QUIT and its reply) before the connection is aborted. */
    static final Duration CLOSE_LIMIT = Duration.ofSeconds(10);

    private final SmtpSessionFactory sessions;
    private final Scheduler scheduler;
    private final Set<CompletableFuture<SmtpSession>> openings = ConcurrentHashMap.newKeySet();
    private final Set<Watched> live = ConcurrentHashMap.newKeySet();
    private volatile boolean refusing;

    SessionWatchdog(SmtpSessionFactory sessions, Scheduler scheduler) {
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    /**
     * For an engine that stops: openings in progress are cancelled (the factory's future too), a session that arrives
     * later is aborted at once, and no session is opened any more.
     */
    void refuseOpens() {
        refusing = true;
        for (CompletableFuture<SmtpSession> pending : openings) {
            pending.cancel(true);
        }
    }

    /** Aborts every session handed out and not yet ended: no byte of them goes out once this returns. */
    void abortAll() {
        for (Watched session : live) {
            session.abort();
        }
    }

    @Override
    public CompletableFuture<SmtpSession> open(SmtpEndpoint endpoint, SessionSettings settings) {
        if (refusing) {
            return CompletableFuture.failedFuture(new SmtpSessionException(SmtpSessionException.Stage.CONNECT,
                SmtpSessionException.Kind.CONNECTION_REFUSED, endpoint + ": not opened, delivery is stopping"));
        }
        return watchOpening(endpoint, settings);
    }

    private CompletableFuture<SmtpSession> watchOpening(SmtpEndpoint endpoint, SessionSettings settings) {
        CompletableFuture<SmtpSession> opening;
        try {
            opening = Objects.requireNonNull(sessions.open(endpoint, settings), "the session factory returned null");
        } catch (Throwable thrown) {
            return CompletableFuture.failedFuture(thrown);
        }
        CompletableFuture<SmtpSession> result = new CompletableFuture<>();
        openings.add(result);
        result.whenComplete((session, error) -> openings.remove(result));
        if (refusing) {
            result.cancel(true);
        }
        Duration limit = settings.openTimeout();
        // Past the deadline the opening is left to end (the session it may yet bring is aborted then): cancelling
        // the factory's future could lose a session that a blocking factory opens anyway.
        Scheduler.Scheduled deadline = scheduler.schedule(limit.plus(MARGIN), () ->
            result.completeExceptionally(new SmtpSessionException(SmtpSessionException.Stage.CONNECT,
                SmtpSessionException.Kind.TIMEOUT, endpoint + ": session not opened within " + limit.toMillis()
                    + " ms (connect to EHLO)")));
        result.whenComplete((session, error) -> {
            if (result.isCancelled()) {
                deadline.cancel();
                opening.cancel(true);
            }
        });
        opening.whenComplete((session, error) -> {
            deadline.cancel();
            if (error != null) {
                result.completeExceptionally(unwrap(error));
                return;
            }
            if (session == null) {
                result.completeExceptionally(new IllegalStateException("the session factory opened a null session"));
                return;
            }
            Watched watched = new Watched(session, settings);
            live.add(watched);
            if (refusing || !result.complete(watched)) {
                LOGGER.debug("Session to {} opened after its deadline or after it was given up: aborted", endpoint);
                result.cancel(true);
                watched.abort();
            }
        });
        return result;
    }

    static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static void abortQuietly(SmtpSession session) {
        try {
            session.abort();
        } catch (RuntimeException e) {
            LOGGER.warn("Aborting the session to {} failed", session.endpoint(), e);
        }
    }

    /** A session whose every future has a deadline. */
    private final class Watched implements SmtpSession {
        private final SmtpSession session;
        private final SessionSettings settings;
        private volatile boolean aborted;
        /** The future of the call in progress (one at a time), failed at once by {@link #abort()}. */
        private volatile CompletableFuture<?> pending;
        private volatile SmtpSessionException.Stage pendingStage = SmtpSessionException.Stage.CONTENT;
        /** The future of {@link #close()}, completed (normally) at once by {@link #abort()}. */
        private volatile CompletableFuture<Void> closingFuture;

        Watched(SmtpSession session, SessionSettings settings) {
            this.session = session;
            this.settings = settings;
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
            return watch(() -> session.authenticate(credentials), settings.openTimeout(),
                SmtpSessionException.Stage.AUTH, "SMTP AUTH");
        }

        @Override
        public CompletableFuture<TransactionResult> send(SmtpTransaction transaction) {
            // Stage CONTENT: past the deadline the server may have the mail, so its fate is unknown.
            return watch(() -> session.send(transaction), settings.transactionTimeout(),
                SmtpSessionException.Stage.CONTENT, "transaction");
        }

        @Override
        public int transactionCount() {
            return session.transactionCount();
        }

        @Override
        public boolean isReusable() {
            return !aborted && session.isReusable();
        }

        @Override
        public synchronized CompletableFuture<Void> close() {
            if (aborted) {
                return CompletableFuture.completedFuture(null);
            }
            if (closingFuture != null) {
                return closingFuture;
            }
            CompletableFuture<Void> closed = new CompletableFuture<>();
            CompletableFuture<Void> closing;
            try {
                closing = Objects.requireNonNull(session.close(), "close() returned null");
            } catch (Throwable thrown) {
                abort();
                return CompletableFuture.completedFuture(null);
            }
            Scheduler.Scheduled deadline = scheduler.schedule(CLOSE_LIMIT.plus(MARGIN), () -> {
                if (!closing.isDone()) {
                    LOGGER.debug("Session to {} not closed within {} ms: aborted", session.endpoint(),
                        CLOSE_LIMIT.toMillis());
                    abort();
                    closed.complete(null);
                }
            });
            closing.whenComplete((ignored, error) -> {
                deadline.cancel();
                live.remove(this);
                closed.complete(null);
            });
            closingFuture = closed;
            return closed;
        }

        @Override
        public void abort() {
            if (aborted) {
                return;
            }
            aborted = true;
            live.remove(this);
            abortQuietly(session);
            CompletableFuture<?> inProgress = pending;
            if (inProgress != null) {
                inProgress.completeExceptionally(new SmtpSessionException(pendingStage,
                    SmtpSessionException.Kind.CONNECTION_LOST, session.endpoint() + ": session aborted"));
            }
            CompletableFuture<Void> closed = closingFuture;
            if (closed != null) {
                closed.complete(null);
            }
        }

        private <T> CompletableFuture<T> watch(FutureCall<T> call, Duration limit, SmtpSessionException.Stage stage,
                                               String what) {
            if (aborted) {
                return CompletableFuture.failedFuture(new SmtpSessionException(stage,
                    SmtpSessionException.Kind.CONNECTION_LOST, session.endpoint() + ": session aborted"));
            }
            CompletableFuture<T> result = new CompletableFuture<>();
            pending = result;
            pendingStage = stage;
            CompletableFuture<T> inner;
            try {
                inner = Objects.requireNonNull(call.start(), "the session returned a null future");
            } catch (Throwable thrown) {
                // Whatever state the session is in, nothing more is sent on it.
                result.completeExceptionally(thrown);
                abort();
                return result;
            }
            Scheduler.Scheduled deadline = scheduler.schedule(limit.plus(MARGIN), () -> {
                if (result.completeExceptionally(new SmtpSessionException(stage, SmtpSessionException.Kind.TIMEOUT,
                    session.endpoint() + ": " + what + " did not end within " + limit.toMillis() + " ms"))) {
                    abort();
                }
            });
            inner.whenComplete((value, error) -> {
                deadline.cancel();
                if (error != null) {
                    result.completeExceptionally(unwrap(error));
                } else {
                    result.complete(value);
                }
            });
            return result;
        }

        @Override
        public String toString() {
            return session.toString();
        }
    }

    @FunctionalInterface
    private interface FutureCall<T> {
        CompletableFuture<T> start();
    }
}

package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.tls.TlsMode;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;

/** The engine's deadline on every session future, with sessions whose futures never complete, on fake time. */
class SessionWatchdogTest {
    private static final Duration OPEN = Duration.ofSeconds(20);
    private static final Duration TRANSACTION = Duration.ofSeconds(60);

    private final FakeScheduler time = new FakeScheduler();
    private final FakeSmtpSessions sessions = new FakeSmtpSessions();
    private final SessionWatchdog watchdog = new SessionWatchdog(sessions, time);
    private final SmtpEndpoint endpoint = endpoint();
    private final SessionSettings settings = new SessionSettings("client.test", Optional.empty(),
        Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(10), TlsMode.DISABLED)
        .withOpenTimeout(OPEN).withTransactionTimeout(TRANSACTION);

    @Test
    void anOpeningThatNeverEndsShouldFailAfterTheOpenTimeoutAndItsLateSessionBeAborted() {
        sessions.holdOpens = true;
        CompletableFuture<SmtpSession> opening = watchdog.open(endpoint, settings);

        time.advance(OPEN);
        assertThat(opening).isNotDone();
        time.advance(SessionWatchdog.MARGIN);

        assertThat(failure(opening)).isInstanceOfSatisfying(SmtpSessionException.class, failure -> {
            assertThat(failure.kind()).isEqualTo(SmtpSessionException.Kind.TIMEOUT);
            assertThat(failure.stage()).isEqualTo(SmtpSessionException.Stage.CONNECT);
            assertThat(failure.getMessage()).endsWith("session not opened within 20000 ms (connect to EHLO)");
        });
        sessions.releaseAll();
        assertThat(sessions.sessions).singleElement().satisfies(late ->
            assertThat(late.calls).containsExactly("abort"));
    }

    @Test
    void aTransactionThatNeverEndsShouldFailAfterTheTransactionTimeoutAndAbortTheSession() {
        SmtpSession session = watchdog.open(endpoint, settings).join();
        sessions.holdTransactions = true;
        CompletableFuture<TransactionResult> sent = session.send(transaction());

        time.advance(TRANSACTION);
        assertThat(sent).isNotDone();
        time.advance(SessionWatchdog.MARGIN);

        assertThat(failure(sent)).isInstanceOfSatisfying(SmtpSessionException.class, failure -> {
            assertThat(failure.kind()).isEqualTo(SmtpSessionException.Kind.TIMEOUT);
            assertThat(failure.stage()).isEqualTo(SmtpSessionException.Stage.CONTENT);
        });
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "abort");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void aCloseThatNeverEndsShouldAbortTheSessionAfterTheCloseLimitAndStillComplete() {
        SmtpSession session = watchdog.open(endpoint, settings).join();
        sessions.holdCloses = true;
        CompletableFuture<Void> closed = session.close();

        time.advance(SessionWatchdog.CLOSE_LIMIT);
        assertThat(closed).isNotDone();
        time.advance(SessionWatchdog.MARGIN);

        assertThat(closed).isCompleted();
        assertThat(sessions.sessions.get(0).calls).containsExactly("close", "abort");
    }

    @Test
    void whatAFactoryOrASessionThrowsShouldComeBackAsAFailedFuture() {
        sessions.openThrows = () -> new IllegalStateException("factory broken");
        assertThat(failure(watchdog.open(endpoint, settings))).hasMessage("factory broken");
        sessions.openThrows = () -> new StackOverflowError("deep");
        assertThat(failure(watchdog.open(endpoint, settings))).isInstanceOf(StackOverflowError.class);

        sessions.openThrows = null;
        SmtpSession session = watchdog.open(endpoint, new SessionSettings("client.test", Optional.empty(),
            Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), TlsMode.DISABLED)).join();
        SmtpSession throwing = new ThrowingSession(session);
        SessionWatchdog wrapping = new SessionWatchdog((at, with) -> CompletableFuture.completedFuture(throwing), time);
        SmtpSession watched = wrapping.open(endpoint, settings).join();

        assertThat(failure(watched.send(transaction()))).hasMessage("send broken");
        assertThat(watched.isReusable()).as("aborted, state unknown").isFalse();
    }

    @Test
    void afterAnAbortNothingShouldBeCalledOnTheSessionAndPendingFuturesShouldEnd() {
        SmtpSession session = watchdog.open(endpoint, settings).join();
        sessions.holdTransactions = true;
        CompletableFuture<TransactionResult> sent = session.send(transaction());

        session.abort();
        session.abort();
        CompletableFuture<TransactionResult> after = session.send(transaction());
        CompletableFuture<Void> closed = session.close();
        time.advance(TRANSACTION.multipliedBy(2));

        assertThat(failure(sent)).isInstanceOf(SmtpSessionException.class).hasMessageEndingWith("session aborted");
        assertThat(failure(after)).isInstanceOf(SmtpSessionException.class);
        assertThat(closed).isCompleted();
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "abort");
    }

    @Test
    void refusingOpensShouldCancelThoseInProgressAndAbortSessionsThatArriveLater() {
        sessions.holdOpens = true;
        CompletableFuture<SmtpSession> opening = watchdog.open(endpoint, settings);

        watchdog.refuseOpens();
        sessions.releaseAll();

        assertThat(opening).isCancelled();
        assertThat(sessions.cancelledOpens).as("the factory's future cancelled too").hasValue(1);
        assertThat(sessions.sessions).isEmpty();
        assertThat(failure(watchdog.open(endpoint, settings))).hasMessageEndingWith("delivery is stopping");
        assertThat(sessions.opened.get()).isZero();
    }

    @Test
    void abortAllShouldAbortEverySessionHandedOutAndNotYetEnded() {
        SmtpSession first = watchdog.open(endpoint, settings).join();
        SmtpSession second = watchdog.open(endpoint, settings).join();
        second.close().join();

        watchdog.abortAll();

        assertThat(first.isReusable()).isFalse();
        assertThat(sessions.sessions.get(0).calls).containsExactly("abort");
        assertThat(sessions.sessions.get(1).calls).containsExactly("close");
    }

    private static Throwable failure(CompletableFuture<?> future) {
        assertThat(future).isCompletedExceptionally();
        try {
            future.join();
            throw new AssertionError("not failed");
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    private static SmtpTransaction transaction() {
        return new SmtpTransaction("sender@local.test", List.of("a@example.com"), out -> out.write('x'), false);
    }

    private static SmtpEndpoint endpoint() {
        try {
            return new SmtpEndpoint("mx.example.com", InetAddress.getByName("127.0.0.2"), 25);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A session whose send throws instead of returning a future. */
    private static final class ThrowingSession implements SmtpSession {
        private final SmtpSession session;

        ThrowingSession(SmtpSession session) {
            this.session = session;
        }

        @Override
        public SmtpEndpoint endpoint() {
            return session.endpoint();
        }

        @Override
        public java.util.Set<String> extensions() {
            return session.extensions();
        }

        @Override
        public Optional<io.github.mxgovernor.smtp.TlsInfo> tls() {
            return Optional.empty();
        }

        @Override
        public CompletableFuture<Void> authenticate(io.github.mxgovernor.smtp.SmtpCredentials credentials) {
            return session.authenticate(credentials);
        }

        @Override
        public CompletableFuture<TransactionResult> send(SmtpTransaction transaction) {
            throw new IllegalStateException("send broken");
        }

        @Override
        public int transactionCount() {
            return 0;
        }

        @Override
        public boolean isReusable() {
            return true;
        }

        @Override
        public CompletableFuture<Void> close() {
            return session.close();
        }

        @Override
        public void abort() {
            session.abort();
        }
    }
}

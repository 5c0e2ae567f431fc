package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.smtp.TransactionResult;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * In-memory non-blocking SMTP sessions that count connections and transactions exactly and answer as a test scripts
 * them. By default every future completes at once; {@link #holdTransactions} (or {@link #holdOpens},
 * {@link #holdCloses}) keeps them pending until the test {@link #release releases} them, or for ever. Thread-safe.
 */
final class FakeSmtpSessions implements SmtpSessionFactory {
    final AtomicInteger openNow = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger cancelledOpens = new AtomicInteger();
    final AtomicInteger sendingNow = new AtomicInteger();
    final AtomicInteger peakSending = new AtomicInteger();
    final List<String> delivered = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> transactionsPerSession = Collections.synchronizedList(new ArrayList<>());
    final List<SmtpTransaction> transactions = Collections.synchronizedList(new ArrayList<>());
    final List<SessionSettings> settings = Collections.synchronizedList(new ArrayList<>());
    final List<FakeSession> sessions = Collections.synchronizedList(new ArrayList<>());
    final List<String> authenticatedHosts = Collections.synchronizedList(new ArrayList<>());
    final Set<String> unreachableHosts = ConcurrentHashMap.newKeySet();
    volatile Function<String, SmtpReply> rcptReplies = recipient -> SmtpReply.of(250, "2.1.5 ok");
    volatile boolean holdTransactions;
    volatile boolean holdOpens;
    volatile boolean holdCloses;
    volatile boolean staleAfterFirstTransaction;
    volatile LocalRefusal localRefusal;
    /** What opening throws, at once, instead of returning a future; null for none. */
    volatile Supplier<Throwable> openThrows;
    /** What opening's future fails with; null for none. */
    volatile Supplier<Throwable> openFails;
    /** What a transaction's future fails with (a 421 mid-transaction, say), the session then unusable; null for none. */
    volatile Function<SmtpTransaction, Throwable> sendFails;
    /** The hosts {@link #openThrows} and {@link #openFails} apply to; all by default. */
    volatile Predicate<String> faultyHosts = host -> true;
    /** What the sessions report of their TLS. */
    volatile Optional<TlsInfo> tls = Optional.empty();
    private final Deque<Runnable> held = new ArrayDeque<>();

    @Override
    public CompletableFuture<SmtpSession> open(SmtpEndpoint endpoint, SessionSettings sessionSettings) {
        settings.add(sessionSettings);
        boolean faulty = faultyHosts.test(endpoint.hostName());
        Supplier<Throwable> thrown = openThrows;
        if (thrown != null && faulty) {
            throwUnchecked(thrown.get());
        }
        Supplier<Throwable> failure = openFails;
        if (failure != null && faulty) {
            return CompletableFuture.failedFuture(failure.get());
        }
        if (unreachableHosts.contains(endpoint.hostName())) {
            return CompletableFuture.failedFuture(new SmtpSessionException(SmtpSessionException.Stage.CONNECT,
                SmtpSessionException.Kind.CONNECTION_REFUSED, "Connection refused: " + endpoint));
        }
        CompletableFuture<SmtpSession> result = new CompletableFuture<>();
        Runnable open = () -> {
            if (result.isCancelled()) {
                // as a factory that honours cancelling: the connection is given up
                cancelledOpens.incrementAndGet();
                return;
            }
            opened.incrementAndGet();
            peak.accumulateAndGet(openNow.incrementAndGet(), Math::max);
            FakeSession session = new FakeSession(endpoint);
            sessions.add(session);
            result.complete(session);
        };
        if (holdOpens) {
            hold(open);
        } else {
            open.run();
        }
        return result;
    }

    private static void throwUnchecked(Throwable thrown) {
        if (thrown instanceof RuntimeException) {
            throw (RuntimeException) thrown;
        }
        throw (Error) thrown;
    }

    private void hold(Runnable completion) {
        synchronized (held) {
            held.addLast(completion);
        }
    }

    /** Completes the oldest pending future; false when none is pending. */
    boolean releaseOne() {
        Runnable next;
        synchronized (held) {
            next = held.pollFirst();
        }
        if (next == null) {
            return false;
        }
        next.run();
        return true;
    }

    /** Completes the pending futures, those that become pending meanwhile included, until none is left. */
    int releaseAll() {
        int released = 0;
        while (releaseOne()) {
            released++;
        }
        return released;
    }

    int pending() {
        synchronized (held) {
            return held.size();
        }
    }

    /** A session of this factory; {@link #calls} lists what was called on it, in order. */
    final class FakeSession implements SmtpSession {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        private final SmtpEndpoint endpoint;
        private volatile int transactionCount;
        private volatile boolean usable = true;
        private volatile boolean closed;

        FakeSession(SmtpEndpoint endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public SmtpEndpoint endpoint() {
            return endpoint;
        }

        @Override
        public Set<String> extensions() {
            return Set.of("PIPELINING");
        }

        @Override
        public Optional<TlsInfo> tls() {
            return tls;
        }

        @Override
        public CompletableFuture<Void> authenticate(SmtpCredentials credentials) {
            calls.add("authenticate");
            authenticatedHosts.add(endpoint.hostName());
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<TransactionResult> send(SmtpTransaction transaction) {
            calls.add("send");
            if (transactionCount > 0 && staleAfterFirstTransaction) {
                usable = false;
                return CompletableFuture.failedFuture(new SmtpSessionException(SmtpSessionException.Stage.RSET,
                    SmtpSessionException.Kind.CONNECTION_LOST, "Connection closed by peer"));
            }
            Function<SmtpTransaction, Throwable> failure = sendFails;
            if (failure != null) {
                usable = false;
                return CompletableFuture.failedFuture(failure.apply(transaction));
            }
            peakSending.accumulateAndGet(sendingNow.incrementAndGet(), Math::max);
            CompletableFuture<TransactionResult> result = new CompletableFuture<>();
            Runnable answer = () -> {
                sendingNow.decrementAndGet();
                result.complete(answer(transaction));
            };
            if (holdTransactions) {
                hold(answer);
            } else {
                answer.run();
            }
            return result;
        }

        private TransactionResult answer(SmtpTransaction transaction) {
            transactions.add(transaction);
            LocalRefusal refusal = localRefusal;
            if (refusal != null) {
                return TransactionResult.refusedLocally(refusal);
            }
            transactionCount++;
            Map<String, SmtpReply> replies = new LinkedHashMap<>();
            boolean anyAccepted = false;
            for (String recipient : transaction.recipients()) {
                SmtpReply reply = rcptReplies.apply(recipient);
                replies.put(recipient, reply);
                if (reply.isPositiveCompletion()) {
                    anyAccepted = true;
                    delivered.add(recipient);
                }
            }
            return new TransactionResult(SmtpReply.of(250, "2.1.0 ok"), replies,
                anyAccepted ? Optional.of(SmtpReply.of(250, "2.0.0 queued")) : Optional.empty());
        }

        @Override
        public int transactionCount() {
            return transactionCount;
        }

        @Override
        public boolean isReusable() {
            return usable && !closed;
        }

        @Override
        public CompletableFuture<Void> close() {
            calls.add("close");
            CompletableFuture<Void> result = new CompletableFuture<>();
            Runnable close = () -> {
                end();
                result.complete(null);
            };
            if (holdCloses) {
                hold(close);
            } else {
                close.run();
            }
            return result;
        }

        @Override
        public void abort() {
            calls.add("abort");
            end();
        }

        private synchronized void end() {
            if (!closed) {
                closed = true;
                transactionsPerSession.add(transactionCount);
                openNow.decrementAndGet();
            }
        }

        boolean isClosed() {
            return closed;
        }
    }
}

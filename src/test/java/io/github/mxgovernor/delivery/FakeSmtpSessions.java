package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.BlockingSmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.BlockingSmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.smtp.TransactionResult;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/** In-memory SMTP sessions that count connections exactly and answer as a test scripts them. */
final class FakeSmtpSessions implements BlockingSmtpSessionFactory {
    final AtomicInteger openNow = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger aborted = new AtomicInteger();
    final List<String> delivered = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> transactionsPerSession = Collections.synchronizedList(new ArrayList<>());
    final List<SmtpTransaction> transactions = Collections.synchronizedList(new ArrayList<>());
    final Set<String> unreachableHosts = ConcurrentHashMap.newKeySet();
    volatile Function<String, SmtpReply> rcptReplies = recipient -> SmtpReply.of(250, "2.1.5 ok");
    volatile CountDownLatch gate;
    volatile boolean staleAfterFirstTransaction;
    volatile LocalRefusal localRefusal;

    @Override
    public BlockingSmtpSession open(SmtpEndpoint endpoint, SessionSettings settings) throws SmtpSessionException {
        if (unreachableHosts.contains(endpoint.hostName())) {
            throw new SmtpSessionException(SmtpSessionException.Stage.CONNECT,
                SmtpSessionException.Kind.CONNECTION_REFUSED, "Connection refused: " + endpoint);
        }
        opened.incrementAndGet();
        peak.accumulateAndGet(openNow.incrementAndGet(), Math::max);
        return new FakeSession(endpoint);
    }

    private final class FakeSession implements BlockingSmtpSession {
        private final SmtpEndpoint endpoint;
        private int transactions;
        private boolean usable = true;
        private boolean closed;
        private volatile boolean abortedNow;

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
            return Optional.empty();
        }

        @Override
        public TransactionResult send(SmtpTransaction transaction) throws SmtpSessionException {
            if (transactions > 0 && staleAfterFirstTransaction) {
                usable = false;
                throw new SmtpSessionException(SmtpSessionException.Stage.RSET,
                    SmtpSessionException.Kind.CONNECTION_LOST, "Connection closed by peer");
            }
            CountDownLatch wait = gate;
            if (wait != null) {
                // as a socket read: an interrupt does not end the wait, an abort does
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (wait.getCount() > 0 && System.nanoTime() < deadline) {
                    if (abortedNow) {
                        throw new SmtpSessionException(SmtpSessionException.Stage.MAIL,
                            SmtpSessionException.Kind.CONNECTION_LOST, "Socket closed");
                    }
                    try {
                        wait.await(5, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.interrupted();
                    }
                }
            }
            FakeSmtpSessions.this.transactions.add(transaction);
            LocalRefusal refusal = localRefusal;
            if (refusal != null) {
                return TransactionResult.refusedLocally(refusal);
            }
            transactions++;
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
            return transactions;
        }

        @Override
        public boolean isReusable() {
            return usable && !closed;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                transactionsPerSession.add(transactions);
                openNow.decrementAndGet();
            }
        }

        @Override
        public void abort() {
            abortedNow = true;
            aborted.incrementAndGet();
            usable = false;
        }
    }
}

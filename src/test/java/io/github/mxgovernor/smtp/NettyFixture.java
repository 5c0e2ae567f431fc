package io.github.mxgovernor.smtp;

import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.tls.TlsTrust;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;

/**
 * What the tests of {@link NettySmtpSessionFactory} share: a bounded content pool, factories closed after each test,
 * and {@link #await} for the futures of sessions.
 */
final class NettyFixture implements AutoCloseable {
    static final int IO_THREADS = 2;
    private static final long WAIT_SECONDS = 10;

    private final ExecutorService content = Executors.newFixedThreadPool(2, task -> {
        Thread thread = new Thread(task, "test-smtp-content-" + COUNT.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });
    private static final AtomicInteger COUNT = new AtomicInteger();
    private final List<NettySmtpSessionFactory> factories = new ArrayList<>();
    final FakeClock clock = new FakeClock(Instant.parse("2024-05-01T10:00:00Z"));

    ExecutorService contentExecutor() {
        return content;
    }

    /** Verifies against the JDK's trust store, as the mailet does by default. */
    NettySmtpSessionFactory jdkTrust() {
        return keep(new NettySmtpSessionFactory(TlsTrust.jdkDefault().trustManager(), content, IO_THREADS));
    }

    /** Verifies with a context built elsewhere (checks nothing in sessions that do not verify). */
    NettySmtpSessionFactory verifyingWith(SSLContext context) {
        return keep(new NettySmtpSessionFactory(context, content, IO_THREADS));
    }

    /** With the fixture's fake clock (for what is remembered of servers) and a content buffer of this size. */
    NettySmtpSessionFactory withBuffer(int bufferBytes) throws Exception {
        return keep(new NettySmtpSessionFactory(TlsContexts.verifyingWith(SSLContext.getDefault()), content,
            IO_THREADS, clock, bufferBytes));
    }

    NettySmtpSessionFactory keep(NettySmtpSessionFactory factory) {
        factories.add(factory);
        return factory;
    }

    /** The future's value, or its failure thrown as it is (not wrapped), within a few seconds. */
    static <T> T await(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw (Error) cause;
        } catch (TimeoutException e) {
            throw new AssertionError("the future did not complete within " + WAIT_SECONDS + " s", e);
        }
    }

    /** Closes a session, waiting for its socket to be closed. */
    static void closeQuietly(SmtpSession session) throws Exception {
        if (session != null) {
            session.close().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        factories.forEach(NettySmtpSessionFactory::close);
        content.shutdownNow();
    }
}

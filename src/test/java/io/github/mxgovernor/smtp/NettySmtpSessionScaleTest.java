package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.TlsMode;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Thousands of sessions on one factory and its two I/O threads: the JVM's thread count does not follow the number
 * of open connections. The figures are printed for the README.
 */
class NettySmtpSessionScaleTest {
    private static final int SESSIONS = 2000;
    private static final int WARM_UP = 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final NettyFixture fixture = new NettyFixture();
    private final NettySmtpSessionFactory factory = fixture.jdkTrust();

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    @Test
    void twoThousandSessionsEachCarryingATransactionShouldNotGrowTheThreadCount() throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (LoopbackSmtpServer server = LoopbackSmtpServer.start("PIPELINING", "CHUNKING", "8BITMIME")) {
            // every thread the run needs is started: I/O, content, the server's
            closeAll(openAndSend(server, WARM_UP));
            int before = threads.getThreadCount();
            threads.resetPeakThreadCount();
            long start = System.nanoTime();

            List<SmtpSession> sessions = openAndSend(server, SESSIONS);
            int openAtPeak = server.openConnections();
            int atPeak = threads.getThreadCount();
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            closeAll(sessions);
            int peak = threads.getPeakThreadCount();

            System.out.printf("%d sessions open at once on %d I/O threads, one transaction each, in %d ms;"
                    + " JVM threads: %d before, %d with all open, %d at peak%n", openAtPeak, NettyFixture.IO_THREADS,
                elapsed.toMillis(), before, atPeak, peak);
            assertThat(openAtPeak).isEqualTo(SESSIONS);
            assertThat(server.messagesReceived()).isEqualTo(WARM_UP + SESSIONS);
            assertThat(sessions).allSatisfy(session -> assertThat(session.transactionCount()).isEqualTo(1));
            // nothing the sessions do starts a thread; a few JVM housekeeping threads may come and go
            assertThat(peak).isLessThanOrEqualTo(before + 3);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.openConnections() == 0);
        }
    }

    /** Opens {@code count} sessions at once, each sending one mail as soon as it is open; waits for all. */
    private List<SmtpSession> openAndSend(LoopbackSmtpServer server, int count) throws Exception {
        SessionSettings settings = settings(TlsMode.DISABLED, Duration.ofSeconds(10), Duration.ofSeconds(10));
        List<CompletableFuture<SmtpSession>> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sent.add(factory.open(server.endpoint(), settings).thenCompose(session ->
                session.send(transaction("a" + session.hashCode() + "@mx.test")).thenApply(result -> {
                    assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
                    return session;
                })));
        }
        CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        List<SmtpSession> sessions = new ArrayList<>();
        for (CompletableFuture<SmtpSession> session : sent) {
            sessions.add(session.join());
        }
        return sessions;
    }

    private static void closeAll(List<SmtpSession> sessions) throws Exception {
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (SmtpSession session : sessions) {
            closing.add(session.close());
        }
        CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0])).get(TIMEOUT.toSeconds(),
            TimeUnit.SECONDS);
    }
}

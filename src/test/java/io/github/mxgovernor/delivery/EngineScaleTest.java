package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.LoopbackSmtpServer;
import io.github.mxgovernor.smtp.NettySmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsTrust;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * One node keeping 2,000 destinations open with two connections each, on the engine as the mailet runs it: its own
 * threads, the non-blocking SMTP client on two I/O threads, the default settings. 2,000 MX host names, each its own
 * destination under a per-MX rule capped at two connections, all lead to one loopback server (two threads of its own,
 * greeting after 100 ms so that both mails of a destination are under way before either connection is open). The
 * JVM's thread count does not follow the connections; the figures are printed for the README.
 */
class EngineScaleTest {
    private static final int DESTINATIONS = 2000;
    /** Destinations served first, so that every pool of the engine has the threads it makes on demand. */
    private static final int WARM_UP = 200;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void twoThousandDestinationsWithTwoOpenConnectionsEachShouldNotGrowTheThreadCount() throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        ExecutorService content = Executors.newFixedThreadPool(4, new DaemonThreadFactory("scale-test-content"));
        try (LoopbackSmtpServer server = LoopbackSmtpServer.greetingAfter(Duration.ofMillis(100), "PIPELINING",
                "CHUNKING", "8BITMIME");
             NettySmtpSessionFactory sessions = new NettySmtpSessionFactory(TlsTrust.jdkDefault().trustManager(),
                 content, 2)) {
            SmtpEndpoint loopback = server.endpoint();
            MxResolver resolver = domain -> MxResolution.found(List.of(
                new SmtpEndpoint("mx." + domain, loopback.address(), loopback.port())));
            MxRule rule = MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").maxConnections(2)
                .idleTimeout(Duration.ofMinutes(10)).tlsMode(TlsMode.DISABLED).build();
            Governor governor = new Governor(Clock.systemUTC());
            DeliveryEngine engine = new DeliveryEngine(governor, RuleSet.of(rule, List.of()), resolver, sessions,
                new ReplyClassifier(), EngineSettings.builder().heloName("scale.test").build());
            try {
                deliverTwoToEach(engine, "warm", WARM_UP);
                int before = threads.getThreadCount();
                threads.resetPeakThreadCount();
                long start = System.nanoTime();

                deliverTwoToEach(engine, "d", DESTINATIONS);
                Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
                int open = server.openConnections();
                int atPeak = threads.getThreadCount();
                int peak = threads.getPeakThreadCount();

                System.out.printf("%d destinations with 2 connections each (%d open, %d idle sessions), %d mails in"
                        + " %d ms; JVM threads: %d before (with %d connections open), %d with all open, %d at peak%n",
                    DESTINATIONS + WARM_UP, open, engine.idleSessions(), 2 * DESTINATIONS, elapsed.toMillis(), before,
                    2 * WARM_UP, atPeak, peak);
                assertThat(open).isEqualTo(2 * (DESTINATIONS + WARM_UP));
                assertThat(engine.idleSessions()).isEqualTo(2 * (DESTINATIONS + WARM_UP));
                assertThat(governor.find("mx.d1999.test").orElseThrow().connections().inUse()).isEqualTo(2);
                assertThat(server.messagesReceived()).isEqualTo(2 * (DESTINATIONS + WARM_UP));
                // nothing the connections do starts a thread; a few JVM housekeeping threads may come and go
                assertThat(peak).isLessThanOrEqualTo(before + 3);
            } finally {
                engine.close(Duration.ofSeconds(10));
            }
        } finally {
            content.shutdownNow();
        }
    }

    /** Two mails to each of {@code count} domains at once; waits until every one is delivered. */
    private static void deliverTwoToEach(DeliveryEngine engine, String prefix, int count) throws Exception {
        List<CompletableFuture<Map<String, Outcome>>> parts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String domain = prefix + i + ".test";
            for (String user : List.of("a", "b")) {
                parts.add(engine.deliver(EngineHarness.part(user + "@" + domain, domain, new SmtpTransaction(
                    "sender@scale.test", List.of(user + "@" + domain), out -> out.write(("Subject: scale\r\n\r\nto "
                    + domain + "\r\n").getBytes(StandardCharsets.US_ASCII)), false), false)));
            }
        }
        CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        for (CompletableFuture<Map<String, Outcome>> part : parts) {
            assertThat(part.join().values()).allSatisfy(outcome ->
                assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED));
        }
    }
}

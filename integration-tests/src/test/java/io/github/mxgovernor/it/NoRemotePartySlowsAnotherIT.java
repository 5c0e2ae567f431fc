package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.testing.TestPki;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import javax.management.ObjectName;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Promise 2 end to end: an embedded James whose governed mailet resolves through a real name server on loopback
 * (James's own dnsjava service asking {@link LoopbackDnsServer} on port 53) and delivers to fake MX servers on port 25
 * of 127.0.15.x. Each hostile party runs beside a healthy destination, whose pace (mails a second at its MX over a
 * batch, on two connections with 50 ms round trips) must stay within 10% of its pace measured just before, without
 * the hostile party: a dripping TLS handshake, QUITs never answered, a greeting that never ends, an endless
 * multi-line reply, 64 KiB reply lines, a name server that hangs for one domain, 12 hanging MTA-STS policy hosts.
 * Then: a gateway with a self-signed certificate never sees AUTH; a reload that lowers a cap with idle sessions open
 * never lets more sessions carry mail than the new cap; and every mail sent to a hostile party is delivered exactly
 * once when it behaves again.
 *
 * <p>Why the pace is a robust measure on a shared two-core machine: the healthy destination is bound by round trips
 * (one per mail on a reused connection: at most 40 mails a second), not by CPU, so another process's load moves it
 * little, while anything the hostile party held (an engine thread, an I/O thread, the timer, the lookup pool) would
 * stop it outright. A batch lasts some 2.5 s, so that a short pause of the machine weighs a few percent; a batch
 * during which the machine stopped the whole JVM for longer (seen by a thread that only sleeps, and woke late) is
 * run again. A measurement beside the hostile party that falls short is taken four more times, and the median of the
 * five decides: the hostile party is at work during each (checked before and after every batch), so a slowdown it
 * causes shows in all of them, while a load spike from elsewhere shows in one or two.
 *
 * <p>A session factory that throws while opening (a RuntimeException or an Error) cannot be brought about from
 * outside the JVM; {@code EngineIsolationTest} covers it at engine level (slot count back to 0, a healthy
 * destination still served).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NoRemotePartySlowsAnotherIT {
    private static final String NAME_SERVER = "127.0.15.53";
    private static final int SMTP = 25;
    private static final Duration LONG = Duration.ofSeconds(60);
    private static final Duration HEALTHY_LATENCY = Duration.ofMillis(50);
    private static final int HEALTHY_CONNECTIONS = 2;
    /** Mails per pace measurement (some 2.5 s), and the first ones left out of it (the lane filling up). */
    private static final int BATCH = 100;
    private static final int RAMP = 10;
    private static final double TOLERANCE = 0.9;
    /** Measurements beside a hostile party when the first falls short; the median of all decides. */
    private static final int RUNS_WHEN_SHORT = 5;
    /** Batches tried for one measurement while the machine keeps stopping the JVM. */
    private static final int PAUSED_BATCHES = 4;
    /** James's dnsjava gives up on a name server after 10 s: a lookup that began within this is still waiting. */
    private static final Duration DNS_STILL_WAITING = Duration.ofSeconds(9);
    /** Long enough for every measurement while the policy hosts hang. */
    private static final Duration MTA_STS_TIMEOUT = Duration.ofSeconds(20);
    private static final int STS_DOMAINS = 12;
    /**
     * Mails sent to a hostile party at its start: each comes back half a second after every failed attempt, so the
     * party stays at work, and as busy, for the whole scenario.
     */
    private static final int HOSTILE_MAILS = 4;
    private static final String GATEWAY_USER = "relay-user";
    private static final String GATEWAY_PASSWORD = "relay-secret";

    @TempDir
    static Path temp;

    private static final List<FakeMxServer> servers = new ArrayList<>();
    private static final Map<String, List<String>> hostileMail = new ConcurrentHashMap<>();
    private static final AtomicLong mailNumbers = new AtomicLong();
    private static final CarryingGate reloadGate = new CarryingGate();
    private static final JvmPauses pauses = new JvmPauses();
    private static LoopbackDnsServer dns;
    private static ProxySelector previousProxySelector;
    private static FakeMxServer healthy;
    private static FakeMxServer drip;
    private static FakeMxServer quit;
    private static FakeMxServer greeting;
    private static FakeMxServer ehlo;
    private static FakeMxServer longLines;
    private static FakeMxServer sts;
    private static FakeMxServer hangMx;
    private static FakeMxServer policyProxy;
    private static FakeMxServer reload;
    private static FakeMxServer selfSignedGateway;
    private static FakeMxServer trustedGateway;
    private static Path rules;
    private static EmbeddedJames james;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.authority();
        dns = new LoopbackDnsServer(InetAddress.getByName(NAME_SERVER));
        healthy = mx("healthy", "127.0.15.10", FakeMxServer.builder("127.0.15.10").chunking(true)
            .latency(HEALTHY_LATENCY).retainContent(false));
        drip = mx("drip", "127.0.15.21", FakeMxServer.builder("127.0.15.21")
            .tls(pki.issue("mx.drip.test").serverContext()));
        quit = mx("quit", "127.0.15.22", FakeMxServer.builder("127.0.15.22").chunking(true));
        greeting = mx("greeting", "127.0.15.23", FakeMxServer.builder("127.0.15.23"));
        ehlo = mx("ehlo", "127.0.15.24", FakeMxServer.builder("127.0.15.24"));
        longLines = mx("longline", "127.0.15.25", FakeMxServer.builder("127.0.15.25"));
        sts = mx("sts", "127.0.15.26", FakeMxServer.builder("127.0.15.26"));
        hangMx = mx("hang", "127.0.15.27", FakeMxServer.builder("127.0.15.27"));
        reload = mx("reload", "127.0.15.30", FakeMxServer.builder("127.0.15.30").replyPolicy(reloadGate));
        selfSignedGateway = server(FakeMxServer.builder("127.0.15.40").port(SMTP).auth(true)
            .tls(pki.selfSigned("gw-self.test").serverContext()));
        trustedGateway = server(FakeMxServer.builder("127.0.15.41").port(SMTP).auth(true)
            .tls(pki.issue("gw-trusted.test").serverContext()));
        dns.a("gw-self.test", selfSignedGateway.address()).a("gw-trusted.test", trustedGateway.address());
        for (int i = 1; i <= STS_DOMAINS; i++) {
            dns.mx("sts" + i + ".test", "mx.sts.test").txt("_mta-sts.sts" + i + ".test", "v=STSv1; id=1;");
        }
        // The policy hosts mta-sts.stsN.test are reached through this "proxy", which never answers a CONNECT.
        policyProxy = server(FakeMxServer.builder("127.0.15.60").behaviour(MxBehaviour.HANG));
        previousProxySelector = ProxySelector.getDefault();
        ProxySelector.setDefault(new PolicyHostsProxySelector(new InetSocketAddress(policyProxy.address(),
            policyProxy.port())));

        Path trustStore = temp.resolve("trust.p12");
        try (OutputStream out = Files.newOutputStream(trustStore)) {
            pki.trustStore().store(out, "changeit".toCharArray());
        }
        rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, rules(5));
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("rules", rules.toString());
        parameters.put("bounceProcessor", EmbeddedJames.BOUNCE_PROCESSOR);
        parameters.put("delayTime", "500");
        parameters.put("maxRetries", "1000");
        parameters.put("mtaStsTimeout", MTA_STS_TIMEOUT.toSeconds() + "s");
        parameters.put("trustStore", trustStore.toString());
        parameters.put("trustStorePassword", "changeit");
        Map<String, String> gatewayParameters = new LinkedHashMap<>(parameters);
        gatewayParameters.put("outgoing", "outgoing-gateway");
        gatewayParameters.put("gateway", "gw-self.test:" + SMTP + ", gw-trusted.test:" + SMTP);
        gatewayParameters.put("loadBalancing", "false");
        gatewayParameters.put("gatewayUsername", GATEWAY_USER);
        gatewayParameters.put("gatewayPassword", GATEWAY_PASSWORD);
        parameters.put("outgoing", EmbeddedJames.OUTGOING_QUEUE);
        String governed = "io.github.mxgovernor.james.GovernedRemoteDelivery";
        james = EmbeddedJames.builder()
            .nameServer(InetAddress.getByName(NAME_SERVER))
            .transportMailets(EmbeddedJames.mailet("HostIs=gw.test", governed, gatewayParameters)
                + EmbeddedJames.mailet("HasMailAttribute=RelayAllowed", governed, parameters))
            .start();
        // sessions to the healthy MX opened once, as a busy destination has them
        healthyPace();
    }

    @AfterAll
    static void stop() throws Exception {
        pauses.close();
        reloadGate.open();
        ProxySelector.setDefault(previousProxySelector);
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
        if (dns != null) {
            dns.close();
        }
    }

    private static String rules(int reloadCap) {
        return String.join("\n",
            "<mx-rules>",
            "  <default connectTimeout=\"2s\" commandTimeout=\"2s\" dataTimeout=\"3s\" transactionTimeout=\"10s\"",
            "           idleTimeout=\"5s\" maxConnections=\"8\">",
            "    <errorRate enabled=\"false\"/>",
            "  </default>",
            "  <rule name=\"healthy\" mx=\"mx.healthy.test\" maxConnections=\"" + HEALTHY_CONNECTIONS + "\"",
            "        maxMessagesPerConnection=\"100000\" idleTimeout=\"10m\"/>",
            "  <rule name=\"drip\" mx=\"mx.drip.test\" tls=\"required\" commandTimeout=\"3s\"/>",
            "  <rule name=\"quit\" mx=\"mx.quit.test\" maxConnections=\"30\" commandTimeout=\"5s\""
                + " idleTimeout=\"200ms\"/>",
            "  <rule name=\"reload\" mx=\"mx.reload.test\" maxConnections=\"" + reloadCap + "\" idleTimeout=\"10m\"",
            "        dataTimeout=\"30s\" transactionTimeout=\"60s\"/>",
            "  <rule name=\"gateways\" mx=\"gw-*.test\" maxConnections=\"2\"/>",
            "</mx-rules>");
    }

    @Test
    @Order(1)
    void aNameServerThatHangsForOneDomainShouldNotSlowAnother() throws Exception {
        dns.hang("hang.test");
        try {
            // when a lookup gives up, its mail comes back half a second later and starts another one
            healthyPaceShouldHold("a name server hanging for hang.test", () -> send("hang.test", HOSTILE_MAILS),
                Activity.state(() -> dns.sinceLastUnanswered()
                    .map(since -> since.compareTo(DNS_STILL_WAITING) < 0).orElse(false)));
        } finally {
            dns.stopHanging("hang.test");
        }
    }

    @Test
    @Order(2)
    void twelveHangingMtaStsPolicyHostsShouldNotSlowAnotherDomain() throws Exception {
        healthyPaceShouldHold(STS_DOMAINS + " MTA-STS policy hosts hanging", () -> {
            for (int i = 1; i <= STS_DOMAINS; i++) {
                send("sts" + i + ".test", 1);
            }
        }, Activity.state(() -> policyProxy.openConnections() == STS_DOMAINS));
    }

    @Test
    @Order(3)
    void aDrippingTlsHandshakeShouldNotSlowAnotherDestination() throws Exception {
        drip.behaviour(MxBehaviour.DRIP_TLS_HANDSHAKE);
        try {
            healthyPaceShouldHold("TLS handshakes dripped a byte per 100 ms", () -> send("drip.test", HOSTILE_MAILS),
                Activity.state(() -> drip.openConnections() > 0));
        } finally {
            drip.behaviour(MxBehaviour.NORMAL);
        }
    }

    @Test
    @Order(4)
    void quitsNeverAnsweredOnManyIdleSessionsShouldNotSlowAnotherDestination() throws Exception {
        quit.behaviour(MxBehaviour.SILENT_QUIT);
        // bursts of mails open many sessions at once; each is delivered, goes idle, is closed after 200 ms, and waits
        // for its QUIT; new mail keeps coming, as delivered mail does not
        Feeder feeder = new Feeder("quit.test", 5, Duration.ofSeconds(1));
        try {
            healthyPaceShouldHold("idle sessions whose QUIT is never answered", feeder,
                Activity.state(() -> quit.openAfterQuit() >= 5));
        } finally {
            feeder.close();
            quit.behaviour(MxBehaviour.NORMAL);
        }
    }

    @Test
    @Order(5)
    void aGreetingThatNeverEndsShouldNotSlowAnotherDestination() throws Exception {
        greeting.behaviour(MxBehaviour.ENDLESS_GREETING);
        try {
            healthyPaceShouldHold("a greeting that never ends", () -> send("greeting.test", HOSTILE_MAILS),
                Activity.state(() -> greeting.openConnections() > 0));
        } finally {
            greeting.behaviour(MxBehaviour.NORMAL);
        }
    }

    @Test
    @Order(6)
    void anEndlessMultiLineReplyShouldNotSlowAnotherDestination() throws Exception {
        ehlo.behaviour(MxBehaviour.ENDLESS_EHLO_REPLY);
        try {
            healthyPaceShouldHold("EHLO answered with 250- lines without end", () -> send("ehlo.test", HOSTILE_MAILS),
                Activity.attempts(ehlo::totalConnections));
        } finally {
            ehlo.behaviour(MxBehaviour.NORMAL);
        }
    }

    @Test
    @Order(7)
    void replyLinesOf64KibShouldNotSlowAnotherDestination() throws Exception {
        String reply = "550 5.1.1 " + "x".repeat(64 * 1024);
        longLines.replyPolicy(ReplyPolicy.at(SmtpStage.RCPT, reply));
        try {
            healthyPaceShouldHold("RCPT answered with a 64 KiB line", () -> send("longline.test", HOSTILE_MAILS),
                Activity.attempts(() -> longLines.commandCount("RCPT")));
        } finally {
            longLines.replyPolicy(null);
        }
    }

    @Test
    @Order(8)
    void aGatewayWithASelfSignedCertificateShouldNeverSeeTheCredentials() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@gw.test");

        await().atMost(LONG).until(() -> trustedGateway.messageIds().contains(messageId));
        assertThat(selfSignedGateway.tlsHandshakes()).as("it was asked, over TLS").isPositive();
        assertThat(selfSignedGateway.authCommands()).isEmpty();
        assertThat(selfSignedGateway.commandCount("MAIL")).isZero();
        assertThat(trustedGateway.authCommands()).as("the verified gateway gets the credentials").containsExactly(
            "AUTH PLAIN " + Base64.getEncoder().encodeToString(("\0" + GATEWAY_USER + "\0" + GATEWAY_PASSWORD)
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(trustedGateway.messagesOverTls()).isEqualTo(trustedGateway.messageCount());
    }

    @Test
    @Order(9)
    void aReloadThatLowersTheCapShouldLeaveNoMoreSessionsCarryingMailThanTheNewCap() throws Exception {
        reloadGate.close();
        List<String> first = send("reload.test", 5);
        await().atMost(LONG).until(() -> reloadGate.held() == 5);
        reloadGate.open();
        await().atMost(LONG).until(() -> reload.messageCount() == 5);
        assertThat(reload.openConnections()).as("five idle sessions").isEqualTo(5);

        reloadGate.close();
        reloadGate.resetPeak();
        Files.writeString(rules, rules(2));
        String summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(governor(), "reloadRules",
            new Object[0], new String[0]);
        List<String> second = send("reload.test", 5);

        assertThat(summary).startsWith("Reloaded ");
        await().atMost(LONG).until(() -> reloadGate.held() == 2);
        // whatever would carry mail beyond the new cap has had its chance by now
        TimeUnit.MILLISECONDS.sleep(1000);
        assertThat(reloadGate.peak()).as("sessions carrying mail at once after the reload").isEqualTo(2);
        await().atMost(LONG).until(() -> reload.openConnections() <= 2);
        reloadGate.open();
        await().atMost(LONG).until(() -> reload.messageCount() == 10);
        assertThat(reloadGate.peak()).isEqualTo(2);
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        assertThat(reload.messageIds()).containsExactlyInAnyOrderElementsOf(all);
    }

    @Test
    @Order(10)
    void everyMailSentToAHostilePartyShouldBeDeliveredExactlyOnceWhenItBehaves() {
        Map<String, FakeMxServer> byDomain = Map.of("drip.test", drip, "quit.test", quit, "greeting.test", greeting,
            "ehlo.test", ehlo, "longline.test", longLines, "hang.test", hangMx);
        hostileMail.forEach((domain, sent) -> {
            FakeMxServer server = domain.startsWith("sts") ? sts : byDomain.get(domain);
            await().atMost(LONG).until(() -> server.messageIds().containsAll(sent));
        });
        assertThat(hostileMail).containsKeys(byDomain.keySet().toArray(new String[0]));
        for (FakeMxServer server : List.of(drip, quit, greeting, ehlo, longLines, hangMx, sts)) {
            assertThat(server.messageIds()).doesNotHaveDuplicates();
        }
    }

    /**
     * Measures the healthy pace without the hostile party, starts it, waits until it is at work, and measures again
     * (five times, median, when the first falls short); the hostile party must be at work through each batch.
     */
    private static void healthyPaceShouldHold(String hostileParty, HostileStart start, Activity active)
            throws Exception {
        double without = healthyPace();
        long before = active.mark();
        start.run();
        await().atMost(LONG).until(() -> active.startedSince(before));
        List<Double> with = new ArrayList<>();
        with.add(paceWhile(active, hostileParty));
        while (with.get(0) < TOLERANCE * without && with.size() < RUNS_WHEN_SHORT) {
            with.add(paceWhile(active, hostileParty));
        }
        double median = median(with);
        System.out.printf(Locale.ROOT, "Healthy destination beside %s: %.1f mails/s without, %s with (median %.1f,"
            + " %.0f%%)%n", hostileParty, without, with, median, 100 * median / without);
        assertThat(median).as("healthy pace beside %s, against %.1f mails/s without", hostileParty, without)
            .isGreaterThanOrEqualTo(TOLERANCE * without);
    }

    private static double paceWhile(Activity active, String hostileParty) throws Exception {
        long mark = active.mark();
        double pace = healthyPace();
        assertThat(active.heldSince(mark)).as("%s, at work through the batch", hostileParty).isTrue();
        return pace;
    }

    /**
     * The healthy pace over a batch during which the machine did not stop the test's JVM: a batch during which a
     * thread that only sleeps ({@link JvmPauses}) woke more than {@link JvmPauses#TOLERATED} late is measured again
     * (at most {@link #PAUSED_BATCHES} times), since no engine keeps its pace while its process gets no CPU. A
     * hostile party that held the engine's threads would not make that thread late, so it is still caught.
     */
    private static double healthyPace() throws Exception {
        for (int batch = 1; ; batch++) {
            pauses.reset();
            double pace = batchPace();
            Duration worst = pauses.worst();
            if (worst.compareTo(JvmPauses.TOLERATED) <= 0 || batch == PAUSED_BATCHES) {
                return pace;
            }
            System.out.printf(Locale.ROOT, "Healthy batch at %.1f mails/s not counted: the JVM was stopped for up to"
                + " %d ms%n", pace, worst.toMillis());
        }
    }

    /** Mails a second the healthy MX accepted over one batch, the first {@link #RAMP} left out. */
    private static double batchPace() throws Exception {
        int before = healthy.messageCount();
        List<String> sent = james.sendMails(BATCH, EmbeddedJames.SENDER,
            i -> List.of("user" + mailNumbers.incrementAndGet() + "@healthy.test"));
        await().atMost(LONG).until(() -> healthy.messageCount() >= before + BATCH);
        List<ReceivedMessage> batch = healthy.messages().subList(before, before + BATCH);
        assertThat(batch).extracting(message -> message.messageId().orElseThrow())
            .containsExactlyInAnyOrderElementsOf(sent);
        long millis = Duration.between(batch.get(RAMP).receivedAt(), batch.get(BATCH - 1).receivedAt()).toMillis();
        return (BATCH - 1 - RAMP) * 1000.0 / Math.max(1, millis);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** Sends {@code count} mails to {@code domain}, each to its own recipient, and remembers them as hostile mail. */
    private static List<String> send(String domain, int count) throws Exception {
        List<String> sent = james.sendMails(count, EmbeddedJames.SENDER,
            i -> List.of("user" + mailNumbers.incrementAndGet() + "@" + domain));
        if (!domain.equals("reload.test")) {
            hostileMail.computeIfAbsent(domain.startsWith("sts") ? "sts" : domain,
                key -> Collections.synchronizedList(new ArrayList<>())).addAll(sent);
        }
        return sent;
    }

    private static ObjectName governor() throws Exception {
        return new ObjectName("io.github.mxgovernor:type=Governor");
    }

    /** A fake MX on port 25 of {@code address}, the MX host {@code mx.<name>.test} of the domain {@code <name>.test}. */
    private static FakeMxServer mx(String name, String address, FakeMxServer.Builder builder) throws Exception {
        FakeMxServer server = server(builder.port(SMTP).hostName("mx." + name + ".test"));
        dns.mx(name + ".test", "mx." + name + ".test").a("mx." + name + ".test", InetAddress.getByName(address));
        return server;
    }

    private static FakeMxServer server(FakeMxServer.Builder builder) {
        FakeMxServer server = builder.start();
        servers.add(server);
        return server;
    }

    @FunctionalInterface
    private interface HostileStart {
        void run() throws Exception;
    }

    /** Whether a hostile party is at work through a stretch of time that began at a mark. */
    private abstract static class Activity {
        /** What is seen now, for {@link #heldSince}. */
        abstract long mark();

        /** Whether the party was at work from the mark until now. */
        abstract boolean heldSince(long mark);

        /** Whether the party, started after the mark, is at work now. */
        boolean startedSince(long mark) {
            return heldSince(mark);
        }

        /** At work while {@code state} holds: at the mark and now. */
        static Activity state(BooleanSupplier state) {
            return new Activity() {
                @Override
                long mark() {
                    return state.getAsBoolean() ? 1 : 0;
                }

                @Override
                boolean heldSince(long mark) {
                    return mark == 1 && state.getAsBoolean();
                }

                @Override
                boolean startedSince(long mark) {
                    return state.getAsBoolean();
                }
            };
        }

        /** At work while {@code attempts} grows: the party is tried again and again, each try short. */
        static Activity attempts(LongSupplier attempts) {
            return new Activity() {
                @Override
                long mark() {
                    return attempts.getAsLong();
                }

                @Override
                boolean heldSince(long mark) {
                    return attempts.getAsLong() > mark;
                }
            };
        }
    }

    /** Mail to one domain, a few every interval on a thread of its own, while a scenario runs. */
    private static final class Feeder implements HostileStart, AutoCloseable {
        private final String domain;
        private final int perTick;
        private final Duration interval;
        private ScheduledExecutorService timer;

        Feeder(String domain, int perTick, Duration interval) {
            this.domain = domain;
            this.perTick = perTick;
            this.interval = interval;
        }

        @Override
        public void run() {
            timer = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread thread = new Thread(task, "hostile-mail-" + domain);
                thread.setDaemon(true);
                return thread;
            });
            timer.scheduleWithFixedDelay(() -> {
                try {
                    send(domain, perTick);
                } catch (Exception e) {
                    System.err.println("Could not send mail to " + domain + ": " + e);
                }
            }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() throws InterruptedException {
            if (timer != null) {
                timer.shutdown();
                timer.awaitTermination(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * How late a thread that does nothing but sleep 10 ms at a time wakes: the longest the machine stopped this JVM
     * (a busy shared machine, a long collection) since the last reset.
     */
    private static final class JvmPauses implements AutoCloseable {
        /** Later than this, the JVM was stopped long enough to move a batch's pace by several percent. */
        static final Duration TOLERATED = Duration.ofMillis(250);
        private static final long SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
        private final AtomicLong worstNanos = new AtomicLong();
        private final Thread sleeper = new Thread(this::sleep, "jvm-pauses");

        JvmPauses() {
            sleeper.setDaemon(true);
            sleeper.start();
        }

        private void sleep() {
            while (!Thread.currentThread().isInterrupted()) {
                long start = System.nanoTime();
                try {
                    TimeUnit.NANOSECONDS.sleep(SLEEP_NANOS);
                } catch (InterruptedException e) {
                    return;
                }
                worstNanos.accumulateAndGet(System.nanoTime() - start - SLEEP_NANOS, Math::max);
            }
        }

        void reset() {
            worstNanos.set(0);
        }

        Duration worst() {
            return Duration.ofNanos(worstNanos.get());
        }

        @Override
        public void close() {
            sleeper.interrupt();
        }
    }

    /**
     * Holds each message's final reply until opened and counts the transactions it holds at once: the sessions
     * carrying mail at that moment. The rule's data timeout is longer than any hold.
     */
    private static final class CarryingGate implements ReplyPolicy {
        private final AtomicInteger held = new AtomicInteger();
        private final AtomicInteger peak = new AtomicInteger();
        private volatile CountDownLatch latch = new CountDownLatch(0);

        void close() {
            latch = new CountDownLatch(1);
        }

        void open() {
            latch.countDown();
        }

        int held() {
            return held.get();
        }

        int peak() {
            return peak.get();
        }

        void resetPeak() {
            peak.set(held.get());
        }

        @Override
        public String replyTo(ClientCommand command) {
            if (command.stage() == SmtpStage.END_OF_DATA) {
                CountDownLatch current = latch;
                peak.accumulateAndGet(held.incrementAndGet(), Math::max);
                try {
                    current.await(LONG.toSeconds(), TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    held.decrementAndGet();
                }
            }
            return null;
        }
    }

    /**
     * Sends the JDK HTTP client's requests for the test's MTA-STS policy hosts ({@code mta-sts.stsN.test}) to a
     * loopback proxy, and every other request direct: the fetcher of the production code is untouched, and nothing
     * leaves loopback.
     */
    private static final class PolicyHostsProxySelector extends ProxySelector {
        private final Proxy proxy;

        PolicyHostsProxySelector(InetSocketAddress proxyAddress) {
            this.proxy = new Proxy(Proxy.Type.HTTP, proxyAddress);
        }

        @Override
        public List<Proxy> select(URI uri) {
            String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
            return host.matches("mta-sts\\.sts[0-9]+\\.test") ? List.of(proxy) : List.of(Proxy.NO_PROXY);
        }

        @Override
        public void connectFailed(URI uri, SocketAddress address, IOException failure) {
            // the proxy never answers; the fetcher's time limit ends the exchange
        }
    }
}

package io.github.mxgovernor.it.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.cluster.StoreState;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.flowcontrol.AdaptiveConcurrency;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.it.ConnectionGauge;
import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.ReplyPolicy;
import io.github.mxgovernor.it.SmtpStage;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.tls.TlsMode;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two James nodes' governors (two engines in one JVM, each with its own governor and its own connection to the
 * store) sharing one private Redis, delivering to one fake MX that counts the connections open at once: the cap,
 * the rate and flow-control states hold across both, through a partition and a Redis restart.
 */
class ClusterDeliveryIT {
    private static final int CAP = 4;
    private static final String MX = "mx.cluster.test";
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    @TempDir
    Path directory;
    private RedisServer redis;
    private FakeMxServer mx;
    private final ConnectionGauge gauge = new ConnectionGauge();
    private final List<ClusterNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> others = new ArrayList<>();
    private final String prefix = "it" + ProcessHandle.current().pid() + "-" + PREFIXES.incrementAndGet();

    @BeforeEach
    void start() throws IOException {
        redis = RedisServer.start(directory.resolve("redis"));
        mx = FakeMxServer.builder("127.0.0.1").hostName(MX).gauge(gauge).retainContent(true)
            .latency(Duration.ofMillis(5)).start();
    }

    @AfterEach
    void stop() throws Exception {
        for (ClusterNode node : nodes) {
            node.close();
        }
        for (AutoCloseable other : others) {
            other.close();
        }
        mx.close();
        redis.stop();
    }

    private static MxRule.Builder rule() {
        return MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").maxConnections(CAP).maxMessagesPerConnection(10)
            .unlimitedMessagesPerHour().idleTimeout(Duration.ofMillis(300)).tlsMode(TlsMode.DISABLED)
            .flowControl(FlowControlPolicy.builder().errorRate(Optional.empty())
                .adaptive(new AdaptiveConcurrency(false, 0.5))
                .addResponseRule(new ResponseRule("421 4\\.7\\.0 \\[TSS04\\]", 1, Optional.empty(),
                    Reaction.suspend(Duration.ofHours(2)), "mx-rules.xml:12")).build());
    }

    private StoreSettings.Builder settings(String address, String node) {
        return StoreSettings.builder(address).keyPrefix(prefix).nodeName(node).nodes(2)
            .timeout(Duration.ofMillis(250)).connectTimeout(Duration.ofMillis(500)).leaseTime(Duration.ofSeconds(2))
            .probeInterval(Duration.ofMillis(100)).flowPollInterval(Duration.ofMillis(300))
            .countsFlushInterval(Duration.ofMillis(100));
    }

    private ClusterNode node(String name, MxRule rule) {
        return node(name, rule, settings(redis.hostAndPort(), name).build());
    }

    private ClusterNode node(String name, MxRule rule, StoreSettings settings) {
        ClusterNode node = new ClusterNode(name, settings, rule, new SmtpEndpoint(MX, mx.address(), mx.port()),
            Duration.ofSeconds(60));
        nodes.add(node);
        return node;
    }

    /** Sends {@code count} mails from each node at once; returns the futures. */
    private static List<CompletableFuture<Map<String, Outcome>>> sendFromEach(String tag, int count,
                                                                               ClusterNode... senders) {
        List<CompletableFuture<Map<String, Outcome>>> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            for (ClusterNode node : senders) {
                sent.add(node.send(tag + "-" + node.name + "-" + i, "user" + i + "@example" + (i % 7) + ".test"));
            }
        }
        return sent;
    }

    private static long delivered(List<CompletableFuture<Map<String, Outcome>>> sent) throws Exception {
        CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
        return sent.stream().map(CompletableFuture::join).flatMap(outcomes -> outcomes.values().stream())
            .filter(outcome -> outcome.kind() == Outcome.Kind.DELIVERED).count();
    }

    private void assertEachMailOnce(int expected) {
        List<String> ids = mx.messageIds();
        assertThat(ids).hasSize(expected);
        assertThat(new HashSet<>(ids)).as("no mail twice").hasSize(expected);
    }

    @Test
    void theSharedCapHoldsExactlyUnderLoad() throws Exception {
        ClusterNode a = node("a", rule().build());
        ClusterNode b = node("b", rule().build());

        long delivered = delivered(sendFromEach("cap", 150, a, b));

        System.out.printf("Shared cap %d over two nodes: peak %d connections at the MX, %d connections in all,"
                + " %d store commands for %d mails%n", CAP, gauge.peak(), mx.totalConnections(),
            a.store.commands() + b.store.commands(), delivered);
        assertThat(delivered).isEqualTo(300);
        assertEachMailOnce(300);
        assertThat(gauge.peak()).as("peak at the MX").isEqualTo(CAP);
    }

    @Test
    void theSharedRateHoldsWithinOneBatchPerNode() throws Exception {
        // 3,600 an hour: a burst of one minute's share (60), then one a second; a node takes 5 s of it at a time.
        ClusterNode a = node("a", rule().messagesPerHour(3600).build());
        ClusterNode b = node("b", rule().messagesPerHour(3600).build());
        long start = System.nanoTime();
        List<CompletableFuture<Map<String, Outcome>>> sent = sendFromEach("rate", 60, a, b);

        Thread.sleep(3000);
        int inThreeSeconds = mx.messageCount();
        double seconds = (System.nanoTime() - start) / 1e9;

        System.out.printf("Shared rate 3600/h over two nodes: %d mails in %.1f s (burst 60, batch 5 per node)%n",
            inThreeSeconds, seconds);
        assertThat(inThreeSeconds).isLessThanOrEqualTo(60 + (int) Math.ceil(seconds) + 2 * 5)
            .isGreaterThanOrEqualTo(55);
        long onA = a.destination(MX).orElseThrow().messagesLastHour();
        long onB = b.destination(MX).orElseThrow().messagesLastHour();
        assertThat(onA + onB).as("tokens taken, counted in each node's hour").isGreaterThanOrEqualTo(inThreeSeconds);
        assertThat(sent).isNotEmpty();
    }

    @Test
    void aSuspensionOnOneNodeIsInForceOnTheOtherWithinOneSecondAndResumedFromIt() throws Exception {
        ClusterNode a = node("a", rule().build());
        ClusterNode b = node("b", rule().build());
        assertThat(delivered(List.of(a.send("first-a", "x@yahoo.test"), b.send("first-b", "y@yahoo.test"))))
            .isEqualTo(2);
        Destination onA = a.destination(MX).orElseThrow();
        Destination onB = b.destination(MX).orElseThrow();

        mx.replyPolicy(ReplyPolicy.at(SmtpStage.RCPT, ReplyPolicy.TSS04_DEFERRED));
        Outcome deferred = a.send("tss04", "z@yahoo.test").get(10, TimeUnit.SECONDS).values().iterator().next();
        long suspendedAt = System.nanoTime();
        assertThat(deferred.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(onA.flowControl().state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);

        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
            .until(() -> onB.flowControl().state().kind() == FlowState.Kind.SUSPENDED);
        System.out.printf("TSS04 suspension on node a in force on node b after %d ms%n",
            (System.nanoTime() - suspendedAt) / 1_000_000);
        assertThat(onB.flowControl().state().cause().reply()).hasValueSatisfying(reply ->
            assertThat(reply).contains("TSS04"));
        assertThat(onB.flowControl().state().cause().description()).contains("from node a");
        int mails = (int) mx.commandCount("MAIL");
        Outcome onBWhileSuspended = b.send("while-suspended", "w@yahoo.test").get(10, TimeUnit.SECONDS).values()
            .iterator().next();
        assertThat(onBWhileSuspended.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(mx.commandCount("MAIL")).as("node b did not try").isEqualTo(mails);

        mx.replyPolicy(command -> null);
        b.governor.resume(onB.name(), "the provider lifted it");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
            .until(() -> onA.flowControl().state().kind() == FlowState.Kind.NORMAL);

        b.governor.suspend(onB.name(), Instant.now().plus(Duration.ofMinutes(30)), "complaints");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
            .until(() -> onA.flowControl().state().kind() == FlowState.Kind.SUSPENDED);
        assertThat(onA.flowControl().state().origin()).isEqualTo(FlowState.Origin.OPERATOR);
        a.governor.resume(onA.name(), null);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
            .until(() -> onB.flowControl().state().kind() == FlowState.Kind.NORMAL);
    }

    @Test
    void theLeasesOfANodeCutFromTheStoreExpireWithinTheLeaseTimeAndComeBackWithIt() throws Exception {
        CuttableProxy proxy = new CuttableProxy(redis.port());
        others.add(proxy);
        // Connections kept open for a while, so that node a holds leases when it is cut.
        MxRule keptOpen = rule().idleTimeout(Duration.ofSeconds(30)).maxMessagesPerConnection(100).build();
        ClusterNode a = node("a", keptOpen, settings("127.0.0.1:" + proxy.port(), "a").build());
        ClusterNode b = node("b", keptOpen);
        assertThat(delivered(sendFromEach("before", 40, a))).isEqualTo(40);
        Destination onA = a.destination(MX).orElseThrow();
        assertThat(onA.connections().inUse()).isBetween(1, CAP);
        await().atMost(Duration.ofSeconds(2)).until(() -> b.store.connections(MX).countCluster()
            .get(1, TimeUnit.SECONDS) == onA.connections().inUse());

        proxy.cut();
        long cutAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).until(() -> !a.store.isUp());
        assertThat(onA.connectionsAllowedNow()).as("a's share while cut off").isEqualTo(CAP / 2);

        // a's leases are no longer renewed: they expire within the lease time (counted by b, which reaches the store).
        await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50))
            .until(() -> b.store.connections(MX).countCluster().get(1, TimeUnit.SECONDS) == 0);
        Duration expired = Duration.ofNanos(System.nanoTime() - cutAt);
        assertThat(expired).isLessThan(Duration.ofSeconds(2).plusMillis(500));

        assertThat(delivered(sendFromEach("during", 20, b))).isEqualTo(20);
        Destination onB = b.destination(MX).orElseThrow();
        assertThat(onB.connections().inUse()).as("b got the connections a held").isBetween(1, CAP);
        System.out.printf("Leases of a node cut from the store expired %d ms after the cut (lease time 2 s); peak at"
            + " the MX %d%n", expired.toMillis(), gauge.peak());
        assertThat(gauge.peak()).as("cap + the cut node's share").isLessThanOrEqualTo(CAP + CAP / 2);

        proxy.restore();
        await().atMost(Duration.ofSeconds(5)).until(() -> a.store.isUp());
        assertThat(a.store.state().kind()).isEqualTo(StoreState.Kind.UP);
        onB.refreshClusterCount();
        await().atMost(Duration.ofSeconds(3)).until(() -> onB.connections().clusterInUse().orElse(-1)
            == onA.connections().inUse() + onB.connections().inUse());
    }

    @Test
    void redisKilledMidRunAndRestartedEveryMailDeliveredOnceAndTheCapWithinItsFallbackBound() throws Exception {
        mx.latency(Duration.ofMillis(10));
        ClusterNode a = node("a", rule().build());
        ClusterNode b = node("b", rule().build());

        List<CompletableFuture<Map<String, Outcome>>> sent = sendFromEach("outage", 150, a, b);
        await().atMost(Duration.ofSeconds(10)).until(() -> mx.messageCount() >= 60);
        redis.kill();
        await().atMost(Duration.ofSeconds(2)).until(() -> !a.store.isUp() && !b.store.isUp());
        int atKill = mx.messageCount();
        Thread.sleep(1500);
        int duringOutage = mx.messageCount() - atKill;
        redis.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> a.store.isUp() && b.store.isUp());

        long delivered = delivered(sent);
        System.out.printf("Redis killed after %d mails and restarted 1.5 s later: %d delivered during the outage,"
                + " %d in all, peak %d connections at the MX (cap %d, fallback share %d per node)%n", atKill,
            duringOutage, delivered, gauge.peak(), CAP, CAP / 2);
        assertThat(delivered).isEqualTo(300);
        assertEachMailOnce(300);
        assertThat(duringOutage).as("delivery went on, on the shares").isPositive();
        // Documented bound: a node below its share when the store went away may open up to it while the others
        // finish the mail in progress on connections above theirs.
        assertThat(gauge.peak()).isLessThanOrEqualTo(CAP + CAP / 2);
        Destination onA = a.destination(MX).orElseThrow();
        onA.refreshClusterCount();
        await().atMost(Duration.ofSeconds(3)).until(() -> onA.connections().clusterInUse().isPresent());
    }

    @Test
    void aWrongPasswordIsAClearErrorAndTheNodeDeliversOnItsShare() throws Exception {
        redis.stop();
        redis = RedisServer.start(directory.resolve("redis-auth"), "--requirepass", "right-horse");
        ClusterNode a = node("a", rule().build(), settings("redis://:wrong-horse@127.0.0.1:" + redis.port(), "a")
            .build());

        assertThat(a.store.isUp()).isFalse();
        assertThat(a.store.state().lastError()).hasValueSatisfying(error -> assertThat(error)
            .contains("refused the credentials").doesNotContain("wrong-horse"));
        assertThat(delivered(sendFromEach("share", 30, a))).isEqualTo(30);
        assertThat(gauge.peak()).as("its share of the cap").isLessThanOrEqualTo(CAP / 2);
    }

    @Test
    void aFailingScriptIsAClearErrorAndTheNodeDeliversOnItsShare() throws Exception {
        ClusterNode a = node("a", rule().build());
        // Something else wrote a string where the destination's lease set belongs: the lease script fails.
        assertThat(redis.command("SET", prefix + ":{" + MX + "}:leases", "not a sorted set")).isEqualTo("+OK");

        assertThat(delivered(sendFromEach("script", 30, a))).isEqualTo(30);

        // The last failure of the lease calls (taking or giving back), with the store and Redis's own words.
        assertThat(a.store.state().lastError()).hasValueSatisfying(error -> assertThat(error)
            .startsWith("Cluster store redis://127.0.0.1:" + redis.port() + ": ").contains("failed: WRONGTYPE"));
        assertThat(a.store.failures()).isPositive();
        assertThat(gauge.peak()).as("its share of the cap").isLessThanOrEqualTo(CAP / 2);
        assertEachMailOnce(30);
    }
}

package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.flowcontrol.AdaptiveConcurrency;
import io.github.mxgovernor.flowcontrol.ErrorRateTrigger;
import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.Recovery;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.RedisServer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two governors (two James nodes) sharing one private Redis: caps, rates and flow control hold across both. */
class GovernorClusterTest {
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily"
        + " deferred due to unexpected volume or user complaints");

    @TempDir
    static Path directory;
    private static RedisServer redis;

    private final String prefix = "g" + ProcessHandle.current().pid() + "-" + PREFIXES.incrementAndGet();
    private final List<ClusterStore> stores = new ArrayList<>();
    private final MxRule rule = MxRule.builder("yahoo").mxMasks("*.yahoodns.test").maxConnections(4)
        .messagesPerHour(3600).flowControl(FlowControlPolicy.builder()
            .errorRate(Optional.of(new ErrorRateTrigger(6, 0.5, Duration.ofMinutes(5),
                Reaction.backoff(Optional.of(Duration.ofMinutes(15))))))
            .addResponseRule(new ResponseRule("421 4\\.7\\.0 \\[TSS04\\]", 1, Optional.empty(),
                Reaction.suspend(Duration.ofHours(2)), "mx-rules.xml:12"))
            .recovery(new Recovery(3, Duration.ofMinutes(10))).adaptive(new AdaptiveConcurrency(false, 0.5)).build())
        .source("mx-rules.xml:10").build();

    @BeforeAll
    static void startRedis() throws IOException {
        redis = RedisServer.start(directory.resolve("redis"));
    }

    @AfterAll
    static void stopRedis() throws InterruptedException {
        redis.stop();
    }

    @AfterEach
    void closeStores() {
        stores.forEach(ClusterStore::close);
    }

    private Governor node(String name) {
        ClusterStore store = ClusterStore.open(StoreSettings.builder(redis.hostAndPort()).keyPrefix(prefix)
            .nodeName(name).nodes(2).timeout(Duration.ofMillis(250)).countsFlushInterval(Duration.ofMillis(50))
            .build());
        stores.add(store);
        assertThat(store.isUp()).isTrue();
        return new Governor(Clock.systemUTC(), io.github.mxgovernor.time.Ticker.SYSTEM, () -> 0, Optional.of(store));
    }

    /** A connection granted once the store answered; fails the test after a few seconds. */
    private static ConnectionPermit open(Destination destination) {
        ConnectionPermit[] granted = new ConnectionPermit[1];
        await().atMost(Duration.ofSeconds(5)).until(() -> (granted[0] = destination.tryOpenConnection(() -> { }))
            != null);
        return granted[0];
    }

    @Test
    void theCapShouldHoldAcrossBothNodes() {
        Destination a = node("a").destination(rule, "mta5.yahoodns.test");
        Destination b = node("b").destination(rule, "mta5.yahoodns.test");
        assertThat(a.isClusterWide()).isTrue();

        List<ConnectionPermit> onA = new ArrayList<>();
        onA.add(open(a));
        onA.add(open(a));
        onA.add(open(a));
        ConnectionPermit onB = open(b);

        for (int i = 0; i < 10; i++) {
            assertThat(a.tryOpenConnection(() -> { })).isNull();
            assertThat(b.tryOpenConnection(() -> { })).isNull();
            sleep(50);
        }
        assertThat(a.connections().inUse()).isEqualTo(3);
        assertThat(b.connections().inUse()).isEqualTo(1);
        assertThat(a.connections().clusterInUse()).hasValue(4);

        a.connectionClosed(onA.remove(0));
        ConnectionPermit another = open(b);
        assertThat(b.connections().inUse()).isEqualTo(2);
        b.connectionClosed(another);
        b.connectionClosed(onB);
        onA.forEach(a::connectionClosed);
    }

    @Test
    void aRuleOfNodeScopeShouldCountOnEachNodeAlone() {
        MxRule local = MxRule.builder("local").mxMasks("*").maxConnections(1).clusterScope(ClusterScope.NODE).build();
        Destination a = node("a").destination(local, "mx.local.test");
        Destination b = node("b").destination(local, "mx.local.test");

        assertThat(a.isClusterWide()).isFalse();
        assertThat(a.tryOpenConnection()).isNotNull();
        assertThat(b.tryOpenConnection()).as("its own cap of 1").isNotNull();
        assertThat(a.connections().clusterInUse()).isEmpty();
    }

    @Test
    void theSharedRateShouldCountInTheDestinationsHourAndHoldAcrossNodes() {
        Destination a = node("a").destination(rule, "mta6.yahoodns.test");
        Destination b = node("b").destination(rule, "mta6.yahoodns.test");
        int taken = 0;
        long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
        while (System.nanoTime() < end) {
            if (a.budget().tryConsume()) {
                taken++;
            }
            if (b.budget().tryConsume()) {
                taken++;
            }
            sleep(5);
        }
        // 3,600 an hour: a burst of 60 and one a second; at most one batch per node more.
        assertThat(taken).isBetween(1, 60 + 2 + 2 * 5 + 2);
        assertThat(a.messagesLastHour() + b.messagesLastHour()).isEqualTo(taken);
    }

    @Test
    void aTriggeredSuspensionOnOneNodeShouldBeInForceOnTheOtherWithinOneSecondAndAResumeFromItEverywhere() {
        Governor governorA = node("a");
        Governor governorB = node("b");
        Destination a = governorA.destination(rule, "mta7.yahoodns.test");
        Destination b = governorB.destination(rule, "mta7.yahoodns.test");

        long start = System.nanoTime();
        a.flowControl().observe(rule.flowControl().match(TSS04).orElseThrow(), TSS04);
        assertThat(a.flowControl().state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);

        await().atMost(Duration.ofSeconds(1)).until(() -> b.flowControl().state().kind() == FlowState.Kind.SUSPENDED);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
        FlowState onB = b.flowControl().state();
        assertThat(onB.cause().kind()).isEqualTo(FlowCause.Kind.RESPONSE_RULE);
        assertThat(onB.cause().reply()).contains(TSS04.toString());
        assertThat(onB.cause().description()).contains("from node a");
        assertThat(onB.until()).isEqualTo(a.flowControl().state().until());

        governorB.resume(b.name(), "provider lifted it");
        await().atMost(Duration.ofSeconds(1)).until(() -> a.flowControl().state().kind() == FlowState.Kind.NORMAL);
    }

    @Test
    void anOperatorSuspensionOnOneNodeShouldReachANodeThatMeetsTheDestinationLater() {
        Governor governorA = node("a");
        Destination a = governorA.destination(rule, "mta8.yahoodns.test");
        governorA.suspend(a.name(), Instant.now().plus(Duration.ofHours(1)), "complaints");

        Destination b = node("b").destination(rule, "mta8.yahoodns.test");

        await().atMost(Duration.ofSeconds(1)).until(() -> b.flowControl().state().kind() == FlowState.Kind.SUSPENDED);
        assertThat(b.flowControl().state().origin()).isEqualTo(FlowState.Origin.OPERATOR);
    }

    @Test
    void theErrorRateShouldCountTheAttemptsOfEveryNode() {
        Destination a = node("a").destination(rule, "mta9.yahoodns.test");
        Destination b = node("b").destination(rule, "mta9.yahoodns.test");

        for (int i = 0; i < 3; i++) {
            a.flowControl().recordAttempt(FlowSignal.FAILED);
        }
        // Counts travel with each node's flush (every 50 ms here), which reads back the cluster's totals.
        sleep(300);
        for (int i = 0; i < 3; i++) {
            b.flowControl().recordAttempt(FlowSignal.FAILED);
        }
        assertThat(b.flowControl().state().kind()).as("3 attempts of its own are under the minimum of 6")
            .isEqualTo(FlowState.Kind.NORMAL);
        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
            .until(() -> b.flowControlStatus().attemptsInWindow() >= 6);

        b.flowControl().recordAttempt(FlowSignal.SUCCEEDED);

        assertThat(b.flowControl().state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        await().atMost(Duration.ofSeconds(1)).until(() -> a.flowControl().state().kind() == FlowState.Kind.BACKOFF);
    }

    @Test
    void forgettingADestinationShouldStopHearingItsStates() {
        Governor governorA = node("a");
        Governor governorB = node("b");
        Destination a = governorA.destination(rule, "mta10.yahoodns.test");
        Destination b = governorB.destination(rule, "mta10.yahoodns.test");
        sleep(50);
        assertThat(governorB.forgetIdle(Duration.ofMillis(10))).contains(b.name());

        governorA.suspend(a.name(), Instant.now().plus(Duration.ofHours(1)), "complaints");
        sleep(700);

        assertThat(b.flowControl().state().kind()).as("a forgotten destination hears nothing")
            .isEqualTo(FlowState.Kind.NORMAL);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

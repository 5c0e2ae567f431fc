package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.testing.RedisServer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Redis killed under load and started again, with two nodes (two stores in one JVM): each falls back to its share,
 * keeps working, and takes its leases again when the store is back; the cap never goes above the documented bound.
 */
class StoreOutageTest {
    private static final String DESTINATION = "shared:google";
    private static final int CAP = 4;
    private static final long MAX_HOLD_NANOS = TimeUnit.MILLISECONDS.toNanos(15);

    /** What the workers saw while the store was UP, in an outage, and in the moments between. */
    private static final int BEFORE = 0;
    private static final int CHANGING = 1;
    private static final int OUTAGE = 2;
    private static final int AFTER = 3;

    @RegisterExtension
    final RedisStores redisStores = new RedisStores();
    private RedisServer redis;

    @Test
    void nodesFallBackToTheirSharesWhileRedisIsDownAndTakeTheirLeasesAgainWhenItIsBack() throws Exception {
        redis = redisStores.start();
        ClusterStore a = open("a");
        ClusterStore b = open("b");
        List<SharedConnections> nodes = List.of(a.connections(DESTINATION), b.connections(DESTINATION));
        AtomicInteger phase = new AtomicInteger(BEFORE);
        AtomicInteger open = new AtomicInteger();
        AtomicIntegerArray peak = new AtomicIntegerArray(4);
        AtomicIntegerArray granted = new AtomicIntegerArray(4);
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SharedConnections node = nodes.get(i % 2);
            Thread worker = new Thread(() -> work(node, running, phase, open, peak, granted));
            workers.add(worker);
            worker.start();
        }

        Thread.sleep(800);
        phase.set(CHANGING);
        redis.kill();
        await().atMost(Duration.ofSeconds(2)).until(() -> !a.isUp() && !b.isUp());
        assertThat(a.state().lastError()).isPresent();
        // Connections from before the outage end within their hold time; from then on each node keeps to its share.
        Thread.sleep(2 * TimeUnit.NANOSECONDS.toMillis(MAX_HOLD_NANOS));
        phase.set(OUTAGE);
        SharedFlowState suspended = SharedFlowState.builder(DESTINATION, FlowState.Kind.SUSPENDED)
            .until(Instant.now().plus(Duration.ofHours(1))).cause(FlowCause.Kind.OPERATOR, "suspended meanwhile", null,
                null).origin(FlowState.Origin.OPERATOR).build();
        assertThat(a.flowStates().publish(suspended).join().outcome()).isEqualTo(FlowPublication.Outcome.PENDING);
        assertThat(a.rate(DESTINATION, 7200).tryConsume()).as("rates answer from the share").isTrue();
        Thread.sleep(700);

        phase.set(CHANGING);
        redis.start();
        await().atMost(Duration.ofSeconds(8)).until(() -> a.isUp() && b.isUp());
        Thread.sleep(2 * TimeUnit.NANOSECONDS.toMillis(MAX_HOLD_NANOS) + 100);
        phase.set(AFTER);
        Thread.sleep(700);
        running.set(false);
        for (Thread worker : workers) {
            worker.join(5000);
        }

        int share = a.settings().connectionShare(CAP);
        assertThat(peak.get(BEFORE)).as("before the outage: the cap, exactly").isEqualTo(CAP);
        assertThat(peak.get(OUTAGE)).as("during the outage: each node its share").isLessThanOrEqualTo(2 * share)
            .isPositive();
        assertThat(peak.get(CHANGING)).as("while nodes change over: the documented bound, cap + N x share")
            .isLessThanOrEqualTo(CAP + 2 * share);
        assertThat(peak.get(AFTER)).as("after the outage: the cap again").isLessThanOrEqualTo(CAP);
        assertThat(granted.get(OUTAGE)).as("connections kept opening during the outage").isPositive();
        assertThat(granted.get(AFTER)).isPositive();
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
            assertThat(nodes.get(0).countCluster().join()).as("every lease given back, in the new server too")
                .isZero());
        assertThat(b.flowStates().read(DESTINATION).join()).as("the state kept during the outage was published")
            .hasValueSatisfying(state -> assertThat(state.description()).isEqualTo("suspended meanwhile"));
    }

    @Test
    void leasesHeldThroughTheOutageAreRegisteredAgainSoTheCapCountsThem() throws Exception {
        redis = redisStores.start();
        ClusterStore a = open("a");
        ClusterStore b = open("b");
        SharedConnections atA = a.connections(DESTINATION);
        SharedConnections atB = b.connections(DESTINATION);
        for (int i = 0; i < 3; i++) {
            assertThat(atA.acquire(CAP).join()).isNotNull();
        }

        redis.kill();
        await().atMost(Duration.ofSeconds(2)).until(() -> !a.isUp() && !b.isUp());
        assertThat(atA.acquire(CAP).join()).as("a holds 3, above its share of 2").isNull();
        assertThat(atB.acquire(CAP).join()).as("b holds none, below its share").isNotNull();
        redis.start();
        await().atMost(Duration.ofSeconds(8)).until(() -> a.isUp() && b.isUp());

        assertThat(atA.countCluster().join()).as("a's three and b's one, registered again").isEqualTo(4);
        assertThat(atB.acquire(CAP).join()).as("the cluster is at its cap").isNull();
        assertThat(atA.acquire(CAP).join()).isNull();
    }

    private ClusterStore open(String node) {
        ClusterStore store = redisStores.open(redisStores.settings(node).build());
        assertThat(store.isUp()).isTrue();
        return store;
    }

    private static void work(SharedConnections node, AtomicBoolean running, AtomicInteger phase, AtomicInteger open,
                             AtomicIntegerArray peak, AtomicIntegerArray granted) {
        while (running.get()) {
            ConnectionLease lease = node.acquire(CAP).join();
            if (lease == null) {
                LockSupport.parkNanos(500_000);
                continue;
            }
            int now = open.incrementAndGet();
            int during = phase.get();
            granted.incrementAndGet(during);
            peak.accumulateAndGet(during, now, Math::max);
            LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(MAX_HOLD_NANOS));
            // The phase may have changed meanwhile: a connection counts in the phase it lived into too.
            int later = phase.get();
            peak.accumulateAndGet(later, open.get(), Math::max);
            open.decrementAndGet();
            lease.release();
        }
    }
}

package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;


import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Connection leases of two nodes (two stores in one JVM) against one private Redis. */
class SharedConnectionsTest {
    private static final String DESTINATION = "shared:google";

    @RegisterExtension
    static final RedisStores redis = new RedisStores();

    private ClusterStore node(String name, Duration leaseTime) {
        ClusterStore store = redis.open(redis.settings(name).leaseTime(leaseTime).build());
        assertThat(store.isUp()).as("store of %s up", name).isTrue();
        return store;
    }

    @Test
    void theSharedCapHoldsExactlyUnderLoadAcrossTwoNodes() throws InterruptedException {
        int cap = 4;
        List<SharedConnections> nodes = List.of(node("a", Duration.ofSeconds(60)).connections(DESTINATION),
            node("b", Duration.ofSeconds(60)).connections(DESTINATION));
        AtomicInteger open = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        AtomicLong granted = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        List<Thread> threads = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(12);
        for (int i = 0; i < 12; i++) {
            SharedConnections node = nodes.get(i % 2);
            Thread thread = new Thread(() -> {
                try {
                    while (System.nanoTime() < end) {
                        ConnectionLease lease = node.acquire(cap).join();
                        if (lease == null) {
                            refused.incrementAndGet();
                            continue;
                        }
                        granted.incrementAndGet();
                        peak.accumulateAndGet(open.incrementAndGet(), Math::max);
                        // A connection lives a moment: up to 2 ms.
                        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000));
                        // Counted closed before the lease goes, as a connection is gone before its slot is free.
                        open.decrementAndGet();
                        lease.release();
                    }
                } finally {
                    done.countDown();
                }
            });
            threads.add(thread);
            thread.start();
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();

        assertThat(peak.get()).as("connections open at once across both nodes").isEqualTo(cap);
        assertThat(granted.get()).isGreaterThan(100);
        assertThat(refused.get()).as("the cap was reached and refused").isGreaterThan(0);
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
            assertThat(nodes.get(0).countCluster().join()).as("every lease given back").isZero());
    }

    @Test
    void aLeaseIsCountedOnEveryNodeUntilItIsReleased() {
        SharedConnections a = node("a", Duration.ofSeconds(60)).connections(DESTINATION);
        SharedConnections b = node("b", Duration.ofSeconds(60)).connections(DESTINATION);

        ConnectionLease first = a.acquire(2).join();
        ConnectionLease second = b.acquire(2).join();

        assertThat(first).isNotNull();
        assertThat(second).isNotNull();
        assertThat(a.acquire(2).join()).as("cap of 2 reached across nodes").isNull();
        assertThat(a.inUse()).isEqualTo(1);
        assertThat(b.clusterInUse()).hasValue(2);
        assertThat(first.release()).isTrue();
        assertThat(first.release()).as("a second release does nothing").isFalse();
        await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> assertThat(b.acquire(2).join()).isNotNull());
    }

    @Test
    void aNodeWhoseConnectionsTurnOverFirstCannotKeepTheWholeCapWhileAnotherWaits() {
        // two nodes configured, cap 4: a share of 2 each
        SharedConnections a = node("a", Duration.ofSeconds(60)).connections(DESTINATION);
        SharedConnections b = node("b", Duration.ofSeconds(60)).connections(DESTINATION);
        List<ConnectionLease> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(a.acquire(4).join());
        }
        assertThat(held).as("alone, a node takes the whole cap").doesNotContainNull();

        assertThat(b.acquire(4).join()).as("the cap is reached: b waits, below its share").isNull();
        held.remove(0).release();
        assertThat(a.acquire(4).join()).as("a holds more than its share while b waits").isNull();
        assertThat(b.acquire(4).join()).as("the room goes to the waiting node").isNotNull();

        assertThat(b.acquire(4).join()).as("b waits again, still below its share").isNull();
        held.remove(0).release();
        assertThat(a.acquire(4).join()).as("a holds its share while b waits").isNull();
        assertThat(b.acquire(4).join()).isNotNull();
        assertThat(b.inUse()).isEqualTo(2);

        held.remove(0).release();
        assertThat(a.acquire(4).join()).as("below its share, a takes room at once").isNotNull();
        assertThat(a.inUse()).isEqualTo(2);
        assertThat(b.clusterInUse()).hasValue(4);
    }

    @Test
    void aWaitingMarkLapsesWhenItsNodeStopsAsking() {
        SharedConnections a = node("a", Duration.ofSeconds(60)).connections(DESTINATION);
        SharedConnections b = node("b", Duration.ofSeconds(60)).connections(DESTINATION);
        List<ConnectionLease> held = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            held.add(a.acquire(2).join());
        }
        assertThat(b.acquire(2).join()).as("b marked waiting").isNull();
        held.get(0).release();
        assertThat(a.acquire(2).join()).as("a holds its share of 1 while b is marked").isNull();

        // b never asks again: its mark lapses, and a may fill the cap once more
        await().atMost(SharedConnections.WAITING_MARK.plusSeconds(2)).pollInterval(Duration.ofMillis(200))
            .until(() -> a.acquire(2).join() != null);
        assertThat(a.inUse()).isEqualTo(2);
    }

    @Test
    void leasesOfANodeThatStopsRenewingExpireWithinTheLeaseTime() {
        Duration leaseTime = Duration.ofMillis(1500);
        ClusterStore dying = node("dying", leaseTime);
        SharedConnections survivor = node("survivor", leaseTime).connections(DESTINATION);
        for (int i = 0; i < 3; i++) {
            assertThat(dying.connections(DESTINATION).acquire(3).join()).isNotNull();
        }
        assertThat(survivor.acquire(3).join()).isNull();

        long died = System.nanoTime();
        dying.crash();
        redis.forget(dying);

        await().atMost(leaseTime.plusSeconds(1)).pollInterval(Duration.ofMillis(20))
            .until(() -> survivor.acquire(3).join() != null);
        Duration freedAfter = Duration.ofNanos(System.nanoTime() - died);
        assertThat(freedAfter).as("the leases expire within the lease time, not before a renewal was due")
            .isLessThanOrEqualTo(leaseTime.plusMillis(300)).isGreaterThan(leaseTime.dividedBy(2));
    }

    @Test
    void aLiveNodeRenewsItsLeasesPastTheLeaseTime() throws InterruptedException {
        Duration leaseTime = Duration.ofSeconds(1);
        SharedConnections holder = node("holder", leaseTime).connections(DESTINATION);
        SharedConnections other = node("other", leaseTime).connections(DESTINATION);
        ConnectionLease lease = holder.acquire(1).join();
        assertThat(lease).isNotNull();

        long until = System.nanoTime() + leaseTime.multipliedBy(3).toNanos();
        while (System.nanoTime() < until) {
            assertThat(other.acquire(1).join()).as("the holder's lease is renewed while it lives").isNull();
            Thread.sleep(100);
        }
        lease.release();
        await().atMost(Duration.ofSeconds(1)).until(() -> other.acquire(1).join() != null);
    }

    @Test
    void theLeaseSetVanishesWithItsLastLease() throws IOException {
        Duration leaseTime = Duration.ofSeconds(1);
        ClusterStore store = node("a", leaseTime);
        assertThat(store.connections(DESTINATION).acquire(1).join()).isNotNull();
        String key = store.key(DESTINATION, "leases");
        assertThat(redis.server().command("PTTL", key)).startsWith(":").isNotEqualTo(":-1");

        store.crash();
        redis.forget(store);

        await().atMost(Duration.ofSeconds(3)).until(() -> redis.server().command("EXISTS", key).equals(":0"));
    }
}

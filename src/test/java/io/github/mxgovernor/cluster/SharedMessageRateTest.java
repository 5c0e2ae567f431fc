package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.testing.FakeScheduler;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Message rates of two nodes (two stores in one JVM) sharing one private Redis. */
class SharedMessageRateTest {
    private static final String DESTINATION = "shared:yahoo";

    @RegisterExtension
    static final RedisStores redis = new RedisStores();

    private ClusterStore node(String name, StoreSettings.Builder settings, FakeScheduler ticker) {
        StoreSettings built = settings.nodeName(name).build();
        ClusterStore store = ticker == null ? redis.open(built) : redis.open(built, Clock.systemUTC(), ticker);
        assertThat(store.isUp()).isTrue();
        return store;
    }

    @Test
    void batchesAreTheRateOverTheHorizonWithinOneAndTheBurst() {
        assertThat(SharedMessageRate.batchSize(36_000, 600, Duration.ofSeconds(5))).isEqualTo(50);
        assertThat(SharedMessageRate.batchSize(20_000, 333, Duration.ofSeconds(5))).isEqualTo(28);
        assertThat(SharedMessageRate.batchSize(600, 10, Duration.ofSeconds(5))).isEqualTo(1);
        assertThat(SharedMessageRate.batchSize(3_600_000, 60_000, Duration.ofSeconds(5))).isEqualTo(5000);
        assertThat(SharedMessageRate.batchSize(36_000, 10, Duration.ofSeconds(5))).as("never above the burst")
            .isEqualTo(10);
    }

    @Test
    void theRateHoldsAcrossTwoNodesWithinOneBatchPerNode() throws InterruptedException {
        long perHour = 36_000;
        long burst = 10;
        StoreSettings.Builder settings = redis.settings("x").rateHorizon(Duration.ofSeconds(1));
        List<SharedMessageRate> rates = List.of(node("a", settings, null).rate(DESTINATION, perHour, burst),
            node("b", settings, null).rate(DESTINATION, perHour, burst));
        int batch = rates.get(0).batchSize();
        assertThat(batch).isEqualTo(10);
        AtomicLong sent = new AtomicLong();
        long started = System.nanoTime();
        long end = started + TimeUnit.SECONDS.toNanos(3);
        CountDownLatch done = new CountDownLatch(4);
        for (int i = 0; i < 4; i++) {
            SharedMessageRate rate = rates.get(i % 2);
            new Thread(() -> {
                while (System.nanoTime() < end) {
                    if (rate.tryConsume()) {
                        sent.incrementAndGet();
                    } else {
                        LockSupport.parkNanos(200_000);
                    }
                }
                done.countDown();
            }).start();
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        double seconds = (System.nanoTime() - started) / 1e9;

        double allowed = perHour / 3600.0 * seconds + burst;
        assertThat((double) sent.get()).as("messages of both nodes in %.2f s", seconds)
            .isLessThanOrEqualTo(allowed + 2 * batch)
            .isGreaterThanOrEqualTo(perHour / 3600.0 * (seconds - 1));
        long refills = rates.get(0).refills() + rates.get(1).refills();
        // Saturated, each call brings what accrued since the other node's: still several messages a call.
        assertThat(refills).as("store calls for %d messages", sent.get()).isLessThan(sent.get() / 2);
    }

    @Test
    void aNodeTakesTokensInBatchesNotOneStoreCallPerMessage() {
        ClusterStore store = node("a", redis.settings("x"), null);
        SharedMessageRate rate = store.rate(DESTINATION, 720_000);
        assertThat(rate.batchSize()).isEqualTo(1000);
        long commandsBefore = store.commands();

        int sent = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (sent < 3000 && System.nanoTime() < deadline) {
            if (rate.tryConsume()) {
                sent++;
            } else {
                LockSupport.parkNanos(rate.timeUntilToken().toNanos());
            }
        }

        assertThat(sent).isEqualTo(3000);
        assertThat(rate.refills()).isLessThanOrEqualTo(5);
        assertThat(store.commands() - commandsBefore).as("store calls for 3000 messages").isLessThanOrEqualTo(10);
    }

    @Test
    void tokensANodeDidNotUseWithinTheHorizonAreDropped() {
        FakeScheduler ticker = new FakeScheduler();
        ClusterStore store = node("a", redis.settings("x"), ticker);
        SharedMessageRate rate = store.rate(DESTINATION, 3600, 60);
        assertThat(rate.batchSize()).isEqualTo(5);
        assertThat(rate.tryConsume()).as("no token before the first batch").isFalse();
        await().atMost(Duration.ofSeconds(2)).until(() -> rate.timeUntilToken().isZero());
        assertThat(rate.tryConsume()).isTrue();

        ticker.advance(store.settings().rateHorizon());

        assertThat(rate.tryConsume()).as("the batch's four other tokens expired with it").isFalse();
        await().atMost(Duration.ofSeconds(2)).until(() -> rate.timeUntilToken().isZero());
        assertThat(rate.tokensGranted()).as("the second batch came from the store").isEqualTo(10);
    }

    @Test
    void aGivenBackTokenGoesToTheBatch() {
        ClusterStore store = node("a", redis.settings("x").rateHorizon(Duration.ofMinutes(1)),
            null);
        // One token every 10 s and a burst of five: the store has nothing more to give for a while after the first batch.
        SharedMessageRate rate = store.rate(DESTINATION, 360, 5);
        assertThat(rate.batchSize()).isEqualTo(5);
        rate.tryConsume();
        await().atMost(Duration.ofSeconds(2)).until(rate::tryConsume);
        for (int i = 0; i < 4; i++) {
            assertThat(rate.tryConsume()).isTrue();
        }
        assertThat(rate.tryConsume()).as("five tokens in the batch, all taken").isFalse();

        rate.refund();

        assertThat(rate.tryConsume()).isTrue();
    }
}

package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.flowcontrol.AttemptCounts;
import io.github.mxgovernor.flowcontrol.FlowSharing;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Flow-control counts (error windows, response-rule thresholds) of two nodes added up in one private Redis. */
class SharedCountsTest {
    private static final String DESTINATION = "shared:microsoft-365";
    private static final Duration WINDOW = Duration.ofMinutes(10);

    @RegisterExtension
    static final RedisStores redis = new RedisStores();

    private SharedCounter counter(String node, String name, Duration window) {
        ClusterStore store = redis.open(redis.settings(node).build());
        return store.counts(DESTINATION).counter(name, window);
    }

    private static void add(SharedCounter counter, int successes, int failures) {
        long now = System.currentTimeMillis();
        for (int i = 0; i < successes; i++) {
            counter.add(now, false);
        }
        for (int i = 0; i < failures; i++) {
            counter.add(now, true);
        }
    }

    @Test
    void theAttemptsOfEveryNodeCountInOneWindow() {
        SharedCounter a = counter("a", "errors", WINDOW);
        SharedCounter b = counter("b", "errors", WINDOW);

        add(a, 2, 3);
        assertThat(SharedCounter.events(a.totals(System.currentTimeMillis()))).as("counted locally at once")
            .isEqualTo(5);
        // A node reads the cluster's totals when it sends its own: a's are in the store (flushed every 50 ms) before
        // b sends its own, else b would read 4 and learn of a's only with its next attempts.
        await().pollDelay(Duration.ofMillis(250)).until(() -> true);
        add(b, 4, 0);

        await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> {
            long totals = b.totals(System.currentTimeMillis());
            assertThat(SharedCounter.events(totals)).isEqualTo(9);
            assertThat(SharedCounter.failures(totals)).isEqualTo(3);
        });
        add(a, 0, 1);
        await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> {
            long totals = a.totals(System.currentTimeMillis());
            assertThat(SharedCounter.events(totals)).isEqualTo(10);
            assertThat(SharedCounter.failures(totals)).isEqualTo(4);
        });
    }

    @Test
    void countersOfOneDestinationStayApartAndTravelInOneCall() {
        ClusterStore store = redis.open(redis.settings("a").build());
        SharedCounts counts = store.counts(DESTINATION);
        SharedCounter errors = counts.counter("errors", WINDOW);
        SharedCounter rule = counts.counter("mx-rules.xml:92", Duration.ofHours(1));
        await().atMost(Duration.ofSeconds(1)).until(store::isUp);
        long before = store.commands();

        add(errors, 1, 1);
        add(rule, 0, 5);

        await().atMost(Duration.ofSeconds(1)).until(() -> store.commands() > before);
        await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> {
            assertThat(SharedCounter.events(errors.totals(System.currentTimeMillis()))).isEqualTo(2);
            assertThat(SharedCounter.failures(rule.totals(System.currentTimeMillis()))).isEqualTo(5);
        });
        assertThat(store.commands() - before).as("one flush carried both counters").isEqualTo(1);
    }

    @Test
    void aClearedCounterStartsAfreshOnEveryNode() {
        SharedCounter a = counter("a", "errors", WINDOW);
        SharedCounter b = counter("b", "errors", WINDOW);
        add(a, 0, 6);
        await().atMost(Duration.ofSeconds(1)).until(() -> SharedCounter.failures(a.totals(System.currentTimeMillis()))
            == 6 && a.toString().contains("6 failures"));

        a.clear();
        add(b, 1, 0);

        await().atMost(Duration.ofSeconds(1)).untilAsserted(() ->
            assertThat(b.totals(System.currentTimeMillis())).as("only b's attempt since the clear")
                .isEqualTo(SharedCounterTotals.of(1, 0)));
    }

    @Test
    void countsLeaveTheWindowAsItSlides() throws InterruptedException {
        SharedCounter a = counter("a", "errors", Duration.ofMillis(500));
        add(a, 0, 3);
        await().atMost(Duration.ofSeconds(1)).until(() -> a.totals(System.currentTimeMillis()) != 0);

        Thread.sleep(600);
        add(a, 1, 0);

        await().atMost(Duration.ofSeconds(1)).untilAsserted(() ->
            assertThat(a.totals(System.currentTimeMillis())).isEqualTo(SharedCounterTotals.of(1, 0)));
    }

    @Test
    void aSharedCounterOnOneNodeCountsAsTheLocalOneAndPacksItsTotalsAlike() {
        SharedCounter shared = counter("a", "errors", Duration.ofMinutes(5));
        AttemptCounts local = FlowSharing.LOCAL.counts("errors", Duration.ofMinutes(5));
        long now = System.currentTimeMillis();
        for (int i = 0; i < 9; i++) {
            shared.add(now, i % 3 == 0);
            local.add(now, i % 3 == 0);
        }
        assertThat(shared.totals(now)).as("before a flush: this node's own").isEqualTo(local.totals(now));

        // After a few flushes (every 50 ms here) the totals come from the store: the same.
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
            .until(() -> shared.totals(System.currentTimeMillis()) == local.totals(System.currentTimeMillis()));
        long totals = shared.totals(System.currentTimeMillis());
        assertThat(SharedCounter.events(totals)).isEqualTo(9);
        assertThat(SharedCounter.failures(totals)).isEqualTo(3);

        shared.clear();
        local.clear();
        assertThat(shared.totals(now)).isEqualTo(local.totals(now)).isZero();
    }

    @Test
    void aCounterNameThatWouldBreakTheStoredFieldsIsRefused() {
        ClusterStore store = redis.open(redis.settings("a").build());
        assertThatThrownBy(() -> store.counts(DESTINATION).counter("a|b", WINDOW))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a|b'");
        assertThatThrownBy(() -> store.counts(DESTINATION).counter("errors", Duration.ofMillis(5)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 10 ms");
    }

    /** Packs totals as {@link SharedCounter#totals} does. */
    private static final class SharedCounterTotals {
        static long of(long events, long failures) {
            return (events << 32) | failures;
        }
    }
}

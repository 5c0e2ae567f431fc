package io.github.mxgovernor.waiting;

import static io.github.mxgovernor.deferral.DeferralReason.SMTP_TEMPORARY_FAILURE;
import static io.github.mxgovernor.deferral.DeferralReason.SUSPENDED;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.testing.ManualExecutor;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

/** The release loop on fake time: a fake clock for due times, a fake scheduler (and ticker) for the pace. */
class ReleaseLoopTest {
    private final FakeClock clock = FakeClock.at("2026-05-01T12:00:00Z");
    private final FakeScheduler scheduler = new FakeScheduler();
    private final WaitingIndex index = new WaitingIndex();
    private final List<Long> released = new CopyOnWriteArrayList<>();
    private final List<Long> tried = new CopyOnWriteArrayList<>();
    private Function<WaitingMail, ReleaseLoop.Result> outcome = mail -> ReleaseLoop.Result.RELEASED;

    private ReleaseLoop loop(int perSecond, ReleaseLeases leases) {
        return new ReleaseLoop(index, mail -> {
            tried.add(mail.identity());
            ReleaseLoop.Result result = outcome.apply(mail);
            if (result == ReleaseLoop.Result.RELEASED) {
                released.add(mail.identity());
            }
            return result;
        }, leases, perSecond, 4, clock, scheduler, scheduler, Runnable::run);
    }

    @Test
    void nothingShouldLeaveBeforeItIsDueAndEverythingAtItsTimeInDueOrder() {
        ReleaseLoop loop = loop(1000, ReleaseLeases.LOCAL);
        add(3, SUSPENDED, Duration.ofMinutes(10));
        add(1, SUSPENDED, Duration.ofMinutes(5));
        add(2, SMTP_TEMPORARY_FAILURE, Duration.ofMinutes(7));
        loop.wake();

        advance(Duration.ofMinutes(5).minusSeconds(1));
        assertThat(released).isEmpty();
        advance(Duration.ofSeconds(1));
        assertThat(released).containsExactly(1L);
        advance(Duration.ofMinutes(5));
        assertThat(released).containsExactly(1L, 2L, 3L);
        assertThat(index.size()).isZero();
        assertThat(loop.released()).isEqualTo(3);
    }

    @Test
    void mailsDueTogetherShouldLeaveAtThePaceInDueOrder() {
        ReleaseLoop loop = loop(100, ReleaseLeases.LOCAL);
        for (int i = 0; i < 1000; i++) {
            add(i, SUSPENDED, Duration.ofMillis(i));
        }
        loop.wake();
        advance(Duration.ofSeconds(1));

        // a second's worth, plus the burst of a tenth of a second the loop starts with
        assertThat(released.size()).isBetween(100, 111);
        advance(Duration.ofSeconds(4));
        assertThat(released.size()).isBetween(500, 511);
        advance(Duration.ofSeconds(6));
        assertThat(released).hasSize(1000);
        List<Long> sorted = new ArrayList<>(released);
        sorted.sort(null);
        assertThat(released).isEqualTo(sorted);
    }

    @Test
    void aReleaseThatKeepsFailingShouldWaitLongerEachTimeAndNeverLoop() {
        outcome = mail -> ReleaseLoop.Result.FAILED;
        ReleaseLoop loop = loop(1000, ReleaseLeases.LOCAL);
        add(1, SUSPENDED, Duration.ZERO);
        loop.wake();

        advance(Duration.ofHours(1));

        // 1 s, 2 s, 4 s ... then every 5 minutes: about 20 tries in an hour, not thousands
        assertThat(tried).hasSizeBetween(15, 25);
        assertThat(index.size()).isEqualTo(1);
        outcome = mail -> ReleaseLoop.Result.RELEASED;
        advance(Duration.ofMinutes(5));
        assertThat(released).containsExactly(1L);
    }

    @Test
    void aFailureShouldPauseTheLoopSoThatABrokenQueueCostsATryNowAndThen() {
        outcome = mail -> ReleaseLoop.Result.FAILED;
        ReleaseLoop loop = loop(1000, ReleaseLeases.LOCAL);
        for (int i = 0; i < 10_000; i++) {
            add(i, SUSPENDED, Duration.ZERO);
        }
        loop.wake();

        advance(Duration.ofMinutes(2));

        // the loop pauses 100 ms, 200 ms ... 30 s after each failure: a few tries, where the pace would allow 120,000
        assertThat(tried).hasSizeLessThan(30);
        outcome = mail -> ReleaseLoop.Result.RELEASED;
        advance(Duration.ofMinutes(6));
        assertThat(released).hasSize(10_000);
    }

    @Test
    void aMailGoneFromTheRepositoryShouldBeForgotten() {
        outcome = mail -> ReleaseLoop.Result.GONE;
        ReleaseLoop loop = loop(10, ReleaseLeases.LOCAL);
        add(1, SUSPENDED, Duration.ZERO);
        loop.wake();

        advance(Duration.ofSeconds(1));

        assertThat(tried).containsExactly(1L);
        assertThat(index.size()).isZero();
        assertThat(loop.released()).isZero();
    }

    @Test
    void aMailWhoseLeaseAnotherNodeHoldsShouldWaitAndEveryLeaseTakenShouldBeGivenBack() {
        Set<String> held = new HashSet<>();
        List<String> givenBack = new ArrayList<>();
        Set<String> othersHold = new HashSet<>();
        ReleaseLeases leases = new ReleaseLeases() {
            @Override
            public boolean tryAcquire(String key, boolean storedHere) {
                return !othersHold.contains(key) && held.add(key);
            }

            @Override
            public void release(String key) {
                held.remove(key);
                givenBack.add(key);
            }
        };
        ReleaseLoop loop = loop(10, leases);
        WaitingMail other = add(1, SUSPENDED, Duration.ZERO);
        WaitingMail mine = add(2, SUSPENDED, Duration.ZERO);
        othersHold.add(other.key());
        loop.wake();

        advance(Duration.ofSeconds(1));
        assertThat(released).containsExactly(2L);
        assertThat(givenBack).containsExactly(mine.key());
        othersHold.clear();
        advance(ReleaseLoop.LEASE_RETRY);
        assertThat(released).containsExactly(2L, 1L);
        assertThat(held).isEmpty();
    }

    @Test
    void aMailReleasedOnDemandShouldGoNowAtThePace() {
        ReleaseLoop loop = loop(10, ReleaseLeases.LOCAL);
        add(1, SMTP_TEMPORARY_FAILURE, Duration.ofHours(6));
        add(2, SUSPENDED, Duration.ofHours(2));
        add(3, SUSPENDED, Duration.ofHours(1));
        loop.wake();
        advance(Duration.ofSeconds(1));

        assertThat(loop.releaseNow(Optional.empty())).isEqualTo(3);
        advance(Duration.ofMillis(350));

        assertThat(released).containsExactly(3L, 2L, 1L);
    }

    @Test
    void atMostMaxInFlightReleasesShouldRunAtOnceAndCloseShouldStartNoMore() {
        ManualExecutor executor = new ManualExecutor();
        ReleaseLoop loop = new ReleaseLoop(index, mail -> {
            released.add(mail.identity());
            return ReleaseLoop.Result.RELEASED;
        }, ReleaseLeases.LOCAL, 1000, 4, clock, scheduler, scheduler, executor);
        for (int i = 0; i < 20; i++) {
            add(i, SUSPENDED, Duration.ZERO);
        }
        loop.wake();
        advance(Duration.ofSeconds(1));

        assertThat(executor.pending()).isEqualTo(4);
        executor.runNext();
        advance(Duration.ofMillis(10));
        assertThat(executor.pending()).isEqualTo(4);

        executor.runAll();
        assertThat(released).hasSize(5);
        loop.close();
        advance(Duration.ofMinutes(1));
        assertThat(executor.pending()).isZero();
        assertThat(released).hasSize(5);
        assertThat(index.size()).isEqualTo(15);
    }

    private WaitingMail add(long identity, DeferralReason reason, Duration in) {
        Instant due = clock.instant().plus(in);
        WaitingMail mail = WaitingMail.of(WaitingKey.of(identity, due, reason, "mx1.example.com"), reason,
            "mx1.example.com", due, false);
        index.add(mail);
        return mail;
    }

    /** Moves the clock and the scheduler together, 10 ms at a time. */
    private void advance(Duration duration) {
        Duration step = Duration.ofMillis(10);
        for (Duration left = duration; !left.isNegative() && !left.isZero(); left = left.minus(step)) {
            Duration move = left.compareTo(step) < 0 ? left : step;
            clock.advance(move);
            scheduler.advance(move);
        }
    }
}

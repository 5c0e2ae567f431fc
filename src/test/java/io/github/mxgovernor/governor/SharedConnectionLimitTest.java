package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.testing.FakeScheduler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** Leases asked one at a time, kept ready briefly, refusals asked again after a growing delay: on fake time. */
class SharedConnectionLimitTest {
    private static final int CAP = 4;

    private final FakeScheduler time = new FakeScheduler();
    private final Leases leases = new Leases();
    private final SharedConnectionLimit limit = new SharedConnectionLimit(leases, time, time);
    private final AtomicInteger wakes = new AtomicInteger();
    private final Runnable wake = wakes::incrementAndGet;

    @Test
    void aLeaseShouldBeAskedOnceWhateverTheCallersAndHandedOverWhenItComes() {
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        assertThat(limit.tryAcquire(CAP, () -> wakes.addAndGet(10))).isNull();
        assertThat(leases.asked).hasSize(1);
        assertThat(wakes).hasValue(0);

        leases.grant(0);

        assertThat(wakes).as("each caller's wake once").hasValue(11);
        assertThat(limit.inUse()).as("a ready lease counts").isEqualTo(1);
        ConnectionPermit permit = limit.tryAcquire(CAP, wake);
        assertThat(permit).isNotNull();
        assertThat(limit.inUse()).isEqualTo(1);
        assertThat(leases.asked).as("the ready lease was handed over without another call").hasSize(1);

        permit.release();
        permit.release();
        assertThat(leases.released).hasValue(1);
        assertThat(limit.inUse()).isZero();
    }

    @Test
    void aRefusalShouldBeAskedAgainOnlyAfterADelayThatGrowsToTwoSeconds() {
        List<Duration> gaps = new ArrayList<>();
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        long last = time.nanos();
        for (int i = 0; i < 6; i++) {
            leases.refuse(leases.asked.size() - 1);
            int before = leases.asked.size();
            // A caller that tries again at once, as a lane woken for another reason would, asks nothing.
            assertThat(limit.tryAcquire(CAP, wake)).isNull();
            assertThat(leases.asked).hasSize(before);
            while (leases.asked.size() == before) {
                time.advance(Duration.ofMillis(10));
                if (wakes.getAndSet(0) > 0) {
                    assertThat(limit.tryAcquire(CAP, wake)).isNull();
                }
            }
            gaps.add(Duration.ofNanos(time.nanos() - last));
            last = time.nanos();
        }
        assertThat(gaps).containsExactly(Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofMillis(1000),
            Duration.ofMillis(2000), Duration.ofMillis(2000), Duration.ofMillis(2000));
    }

    @Test
    void aConnectionOfThisNodeClosingShouldWakeTheCallersAndEndTheRetryDelay() {
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        leases.grant(0);
        ConnectionPermit open = limit.tryAcquire(CAP, wake);
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        leases.refuse(1);
        wakes.set(0);
        assertThat(limit.tryAcquire(CAP, wake)).isNull();

        open.release();

        assertThat(wakes).hasValue(1);
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        assertThat(leases.asked).as("asked at once, without the retry delay").hasSize(3);
    }

    @Test
    void aReadyLeaseNobodyTakesShouldBeGivenBackWithinASecond() {
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        leases.grant(0);
        assertThat(limit.inUse()).isEqualTo(1);

        time.advance(SharedConnectionLimit.READY_FOR);

        assertThat(leases.released).hasValue(1);
        assertThat(limit.inUse()).isZero();
        assertThat(limit.peak()).as("no connection was opened on it").isZero();
    }

    @Test
    void thisNodeShouldNotAskForMoreThanItMayHold() {
        leases.allowed = 2;
        ConnectionPermit first = acquireNow();
        ConnectionPermit second = acquireNow();
        int asked = leases.asked.size();

        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        time.advance(Duration.ofSeconds(5));

        assertThat(leases.asked).as("no store call while this node holds what it may").hasSize(asked);
        assertThat(first).isNotNull();
        second.release();
        assertThat(wakes.get()).isPositive();
    }

    @Test
    void anAnswerGivenAtOnceShouldBeTakenAtOnce() {
        leases.answerAtOnce = true;
        ConnectionPermit permit = limit.tryAcquire(CAP, wake);
        assertThat(permit).isNotNull();
        assertThat(limit.inUse()).isEqualTo(1);

        leases.refuseAtOnce = true;
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        assertThat(time.pendingDelays()).containsExactly(SharedConnectionLimit.FIRST_RETRY);
    }

    private ConnectionPermit acquireNow() {
        assertThat(limit.tryAcquire(CAP, wake)).isNull();
        leases.grant(leases.asked.size() - 1);
        ConnectionPermit permit = limit.tryAcquire(CAP, wake);
        assertThat(permit).isNotNull();
        return permit;
    }

    /** A lease source the test answers by hand. */
    private static final class Leases implements SharedConnectionLimit.LeaseSource {
        final List<CompletableFuture<ConnectionPermit>> asked = new ArrayList<>();
        final AtomicInteger released = new AtomicInteger();
        int allowed = CAP;
        boolean answerAtOnce;
        boolean refuseAtOnce;

        @Override
        public CompletableFuture<ConnectionPermit> acquire(int cap) {
            CompletableFuture<ConnectionPermit> answer = new CompletableFuture<>();
            asked.add(answer);
            if (answerAtOnce) {
                answer.complete(refuseAtOnce ? null : released::incrementAndGet);
            }
            return answer;
        }

        void grant(int index) {
            asked.get(index).complete(released::incrementAndGet);
        }

        void refuse(int index) {
            asked.get(index).complete(null);
        }

        @Override
        public int allowedNow(int cap) {
            return Math.min(cap, allowed);
        }

        @Override
        public OptionalInt clusterInUse() {
            return OptionalInt.empty();
        }

        @Override
        public void refreshClusterCount() {
        }
    }
}

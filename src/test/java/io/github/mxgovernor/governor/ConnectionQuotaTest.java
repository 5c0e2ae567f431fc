package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class ConnectionQuotaTest {
    @Test
    void tryAcquireShouldRefuseWhenCapReached() {
        ConnectionQuota quota = new ConnectionQuota();

        assertThat(quota.tryAcquire(2)).isTrue();
        assertThat(quota.tryAcquire(2)).isTrue();
        assertThat(quota.tryAcquire(2)).isFalse();
        assertThat(quota.inUse()).isEqualTo(2);
    }

    @Test
    void releaseShouldFreeASlot() {
        ConnectionQuota quota = new ConnectionQuota();
        quota.tryAcquire(1);

        quota.release();

        assertThat(quota.tryAcquire(1)).isTrue();
        assertThat(quota.peak()).isEqualTo(1);
    }

    @Test
    void releaseWithoutAcquireShouldFailLoudly() {
        ConnectionQuota quota = new ConnectionQuota();

        assertThatThrownBy(quota::release).isInstanceOf(IllegalStateException.class);
        assertThat(quota.inUse()).isZero();
    }

    @Test
    void capShouldHoldUnderContention() throws Exception {
        ConnectionQuota quota = new ConnectionQuota();
        int cap = 3;
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger observedPeak = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 20_000; i++) {
                    if (quota.tryAcquire(cap)) {
                        observedPeak.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
                        concurrent.decrementAndGet();
                        quota.release();
                    }
                }
            });
            threads.add(thread);
            thread.start();
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join();
        }

        assertThat(observedPeak.get()).isLessThanOrEqualTo(cap);
        assertThat(quota.peak()).isLessThanOrEqualTo(cap);
        assertThat(quota.inUse()).isZero();
    }
}

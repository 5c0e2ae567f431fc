package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** The engine's own threads: real ones, so this test waits on latches, never on time. */
class EngineThreadsTest {
    /**
     * A lookup holds its thread while it waits for an answer: by default 128 may wait at once (a new domain costs two,
     * MX and MTA-STS TXT, so 32 threads held a benchmark with 30 ms answers near 500 new domains a second).
     */
    @Test
    void lookupsShouldWaitSideBySideUpToTheLookupThreadsAndTheNextOneQueue() throws Exception {
        int allowed = EngineSettings.DEFAULT_LOOKUP_THREADS;
        CountDownLatch waiting = new CountDownLatch(allowed);
        CountDownLatch answers = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        try (EngineThreads threads = EngineThreads.start(EngineSettings.builder().build())) {
            for (int i = 0; i <= allowed; i++) {
                threads.lookups().execute(() -> {
                    started.incrementAndGet();
                    waiting.countDown();
                    try {
                        answers.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }

            assertThat(waiting.await(30, TimeUnit.SECONDS)).as("%d lookups waiting at once", allowed).isTrue();
            assertThat(started).as("the one beyond waits for a thread").hasValue(allowed);
            answers.countDown();
        }
    }

    @Test
    void theLookupThreadsShouldFollowTheSettings() throws Exception {
        CountDownLatch waiting = new CountDownLatch(3);
        CountDownLatch answers = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        try (EngineThreads threads = EngineThreads.start(EngineSettings.builder().lookupThreads(2).build())) {
            for (int i = 0; i < 3; i++) {
                threads.lookups().execute(() -> {
                    started.incrementAndGet();
                    waiting.countDown();
                    try {
                        answers.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }

            assertThat(waiting.await(200, TimeUnit.MILLISECONDS)).isFalse();
            assertThat(started).hasValue(2);
            answers.countDown();
            assertThat(waiting.await(30, TimeUnit.SECONDS)).as("the third runs once a thread is free").isTrue();
        }
    }
}

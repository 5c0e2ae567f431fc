package io.github.mxgovernor.governor;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PeriodicTaskTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    @Test
    void aTaskThatThrowsAnErrorShouldKeepRunning() {
        AtomicInteger runs = new AtomicInteger();

        PeriodicTask.schedule(scheduler, "failing task", Duration.ofMillis(10), () -> {
            runs.incrementAndGet();
            throw new AssertionError("injected");
        });

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
    }

    @Test
    void aTaskThatThrowsAnExceptionShouldKeepRunning() {
        AtomicInteger runs = new AtomicInteger();

        PeriodicTask.schedule(scheduler, "failing task", Duration.ofMillis(10), () -> {
            runs.incrementAndGet();
            throw new IllegalStateException("injected");
        });

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
    }
}

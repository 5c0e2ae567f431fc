package io.github.mxgovernor.governor;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task run again and again on a scheduler that survives whatever it throws, an {@link Error} included: the failure
 * is logged and the task runs again at its next time. (A {@link ScheduledExecutorService} silently stops a periodic
 * task at its first exception.)
 */
public final class PeriodicTask implements Runnable {
    private static final Logger LOGGER = LoggerFactory.getLogger(PeriodicTask.class);

    private final String name;
    private final Runnable task;

    /** @param name what the task does, for the log ({@code "MTA-STS background refresh"}) */
    public PeriodicTask(String name, Runnable task) {
        this.name = Objects.requireNonNull(name, "name");
        this.task = Objects.requireNonNull(task, "task");
    }

    /** Runs {@code task} every {@code every} after the previous run ended, the first time after {@code every}. */
    public static ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, String name, Duration every,
                                              Runnable task) {
        return scheduler.scheduleWithFixedDelay(new PeriodicTask(name, task), every.toMillis(), every.toMillis(),
            TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
        try {
            task.run();
        } catch (Throwable failure) {
            LOGGER.error("{} failed; it runs again at its next time", name, failure);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}

package io.github.mxgovernor.james;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tasks that wait on a timer before they run, each once; when delivery stops, {@link #runAllNow()} runs the waiting
 * ones at once and every task scheduled later runs without waiting. Tasks run on the timer's thread (or the caller's):
 * they must only hand work on.
 */
final class DelayedTasks {
    private final ScheduledExecutorService timer;
    private final Set<Runnable> waiting = ConcurrentHashMap.newKeySet();
    private volatile boolean noMoreWaiting;

    DelayedTasks(ScheduledExecutorService timer) {
        this.timer = Objects.requireNonNull(timer, "timer");
    }

    void schedule(Runnable task, Duration delay) {
        AtomicBoolean started = new AtomicBoolean();
        Runnable[] once = new Runnable[1];
        once[0] = () -> {
            if (started.compareAndSet(false, true)) {
                waiting.remove(once[0]);
                task.run();
            }
        };
        waiting.add(once[0]);
        if (noMoreWaiting) {
            once[0].run();
            return;
        }
        try {
            timer.schedule(once[0], Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            once[0].run();
        }
    }

    /** Runs every waiting task now; from now on nothing waits. */
    void runAllNow() {
        noMoreWaiting = true;
        for (Runnable task : List.copyOf(waiting)) {
            task.run();
        }
    }

    int waitingCount() {
        return waiting.size();
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads of one waiting place ({@link WaitingRoom}): the release loop's timer, and the threads that do the
 * blocking work (releases, rescans of the repository). Tests give a fake scheduler and ticker, and run the blocking
 * work on the calling thread.
 */
final class WaitingThreads implements AutoCloseable {
    static final int RELEASE_THREADS = 4;
    private static final Logger LOGGER = LoggerFactory.getLogger(WaitingRoom.class);

    final Scheduler scheduler;
    final Ticker ticker;
    final Executor releases;
    private final List<ExecutorService> owned;

    WaitingThreads(Scheduler scheduler, Ticker ticker, Executor releases, List<ExecutorService> owned) {
        this.scheduler = scheduler;
        this.ticker = ticker;
        this.releases = releases;
        this.owned = owned;
    }

    /** One timer thread, {@value #RELEASE_THREADS} release threads, daemons; the system's monotonic ticker. */
    static WaitingThreads start() {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            new DaemonThreadFactory("mx-governor-waiting"));
        ExecutorService releases = Executors.newFixedThreadPool(RELEASE_THREADS,
            new DaemonThreadFactory("mx-governor-waiting-release"));
        Scheduler scheduler = (delay, task) -> {
            try {
                ScheduledFuture<?> due = timer.schedule(() -> {
                    try {
                        task.run();
                    } catch (RuntimeException | Error e) {
                        LOGGER.error("The waiting place's release loop failed; it looks again at the next mail", e);
                    }
                }, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
                return () -> due.cancel(false);
            } catch (RejectedExecutionException e) {
                return () -> { };
            }
        };
        return new WaitingThreads(scheduler, Ticker.SYSTEM, releases, List.of(timer, releases));
    }

    /**
     * Runs blocking {@code work} on a release thread every {@code interval}, counted from the end of the previous run,
     * until cancelled.
     */
    Repeating every(Duration interval, Runnable work) {
        Repeating repeating = new Repeating(interval, work);
        repeating.plan();
        return repeating;
    }

    @Override
    public void close() {
        for (ExecutorService service : owned) {
            service.shutdown();
        }
    }

    /** Work repeated by {@link #every}. */
    final class Repeating {
        private final Duration interval;
        private final Runnable work;
        private Scheduler.Scheduled next;
        private boolean cancelled;

        private Repeating(Duration interval, Runnable work) {
            this.interval = interval;
            this.work = work;
        }

        synchronized void cancel() {
            cancelled = true;
            if (next != null) {
                next.cancel();
            }
        }

        private synchronized void plan() {
            if (!cancelled) {
                next = scheduler.schedule(interval, this::hand);
            }
        }

        private void hand() {
            try {
                releases.execute(() -> {
                    try {
                        work.run();
                    } catch (RuntimeException e) {
                        LOGGER.error("Work of a waiting place failed; it runs again in {}", interval, e);
                    } finally {
                        plan();
                    }
                });
            } catch (RejectedExecutionException e) {
                // the waiting place is closing
            }
        }
    }
}

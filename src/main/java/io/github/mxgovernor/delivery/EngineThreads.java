package io.github.mxgovernor.delivery;

import io.github.mxgovernor.time.Scheduler;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads a {@link DeliveryEngine} runs on. None of them ever waits on the network, and their number does not
 * depend on how many connections are open:
 *
 * <ul>
 *   <li>{@link #work()}: the engine's decisions (routing, lanes, reply classification, completing parts), run when a
 *       lookup, a session future or a timer says so. Never blocks.</li>
 *   <li>{@link #lookups()}: name lookups, which block in the DNS libraries (MX and address records through James's
 *       DNS service, TLSA, MTA-STS TXT): a bounded pool of their own, so a slow name server takes lookup threads
 *       only, and one domain at most one of them at a time. A lookup spends its time waiting for an answer, not
 *       computing, so the pool is sized for lookups in flight ({@link EngineSettings#lookupThreads()}); its threads
 *       are made as lookups need them and end after {@link #LOOKUP_THREAD_IDLE} without work.</li>
 *   <li>{@link #scheduler()}: deadlines, lane wake-ups and housekeeping. Its one thread only hands due tasks to
 *       {@link #work()}.</li>
 * </ul>
 * Built by {@link #start(EngineSettings)} (daemon threads, stopped by {@link #close()}), or given by a test through
 * {@link #of} (nothing to stop).
 */
public final class EngineThreads implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(EngineThreads.class);
    /** How long a lookup thread without work lives on. */
    static final Duration LOOKUP_THREAD_IDLE = Duration.ofMinutes(1);

    private final Executor work;
    private final Executor lookups;
    private final Scheduler scheduler;
    private final List<ExecutorService> owned;

    private EngineThreads(Executor work, Executor lookups, Scheduler scheduler, List<ExecutorService> owned) {
        this.work = Objects.requireNonNull(work, "work");
        this.lookups = Objects.requireNonNull(lookups, "lookups");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.owned = owned;
    }

    /**
     * Starts the engine's threads: as many work threads as processors (at least 2), up to
     * {@link EngineSettings#lookupThreads()} lookup threads as lookups need them, one timer thread.
     */
    public static EngineThreads start(EngineSettings settings) {
        ExecutorService work = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
            new DaemonThreadFactory("mx-governor-engine"));
        ThreadPoolExecutor lookups = new ThreadPoolExecutor(settings.lookupThreads(), settings.lookupThreads(),
            LOOKUP_THREAD_IDLE.toNanos(), TimeUnit.NANOSECONDS, new LinkedBlockingQueue<>(),
            new DaemonThreadFactory("mx-governor-lookup"));
        lookups.allowCoreThreadTimeOut(true);
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
            new DaemonThreadFactory("mx-governor-timer"));
        timer.setRemoveOnCancelPolicy(true);
        Scheduler scheduler = (delay, task) -> {
            try {
                ScheduledFuture<?> due = timer.schedule(() -> handOver(work, task),
                    Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
                return () -> due.cancel(false);
            } catch (RejectedExecutionException e) {
                return () -> { };
            }
        };
        return new EngineThreads(work, lookups, scheduler, List.of(work, lookups, timer));
    }

    /** Threads the caller owns (tests: a direct executor and a fake scheduler); {@link #close()} stops nothing. */
    public static EngineThreads of(Executor work, Executor lookups, Scheduler scheduler) {
        return new EngineThreads(work, lookups, scheduler, List.of());
    }

    private static void handOver(Executor work, Runnable task) {
        try {
            work.execute(task);
        } catch (RejectedExecutionException e) {
            LOGGER.debug("Engine stopped: a timed task was dropped");
        }
    }

    public Executor work() {
        return work;
    }

    public Executor lookups() {
        return lookups;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Stops the threads {@link #start} made; lookups in progress are interrupted. */
    @Override
    public void close() {
        for (ExecutorService service : owned) {
            service.shutdownNow();
        }
    }
}

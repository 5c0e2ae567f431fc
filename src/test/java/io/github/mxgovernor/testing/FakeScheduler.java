package io.github.mxgovernor.testing;

import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scheduler and a monotonic ticker on time that moves only when a test advances it: {@link #advance} runs, on the
 * test's thread and in due order, every task that falls due (tasks scheduled meanwhile included). Thread-safe.
 */
public final class FakeScheduler implements Scheduler, Ticker {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final PriorityQueue<Task> tasks = new PriorityQueue<>();
    private long sequence;

    @Override
    public long nanos() {
        return nanos.get();
    }

    @Override
    public synchronized Scheduled schedule(Duration delay, Runnable task) {
        Task scheduled = new Task(nanos.get() + Math.max(0, delay.toNanos()), sequence++, task);
        tasks.add(scheduled);
        return () -> scheduled.cancelled = true;
    }

    /** Moves time forward by {@code duration}, running what falls due on the way. */
    public void advance(Duration duration) {
        long target = nanos.get() + duration.toNanos();
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.peek();
                if (next == null || next.dueNanos > target) {
                    break;
                }
                tasks.poll();
            }
            if (next.dueNanos > nanos.get()) {
                nanos.set(next.dueNanos);
            }
            if (!next.cancelled) {
                next.task.run();
            }
        }
        nanos.set(target);
    }

    /** Runs the tasks due now (those scheduled with no delay, say) without moving time. */
    public void runDue() {
        advance(Duration.ZERO);
    }

    /** Tasks waiting, cancelled ones left out. */
    public synchronized int pending() {
        int count = 0;
        for (Task task : tasks) {
            if (!task.cancelled) {
                count++;
            }
        }
        return count;
    }

    /** When the pending tasks fall due, from now, earliest first. */
    public synchronized List<Duration> pendingDelays() {
        List<Task> sorted = new ArrayList<>(tasks);
        sorted.sort(null);
        List<Duration> delays = new ArrayList<>();
        for (Task task : sorted) {
            if (!task.cancelled) {
                delays.add(Duration.ofNanos(task.dueNanos - nanos.get()));
            }
        }
        return delays;
    }

    private static final class Task implements Comparable<Task> {
        final long dueNanos;
        final long order;
        final Runnable task;
        volatile boolean cancelled;

        Task(long dueNanos, long order, Runnable task) {
            this.dueNanos = dueNanos;
            this.order = order;
            this.task = task;
        }

        @Override
        public int compareTo(Task other) {
            int byTime = Long.compare(dueNanos, other.dueNanos);
            return byTime != 0 ? byTime : Long.compare(order, other.order);
        }
    }
}

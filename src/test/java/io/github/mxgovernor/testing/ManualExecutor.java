package io.github.mxgovernor.testing;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Executor;

/** An executor whose tasks run only when a test says so, on the test's thread, in order. Thread-safe. */
public final class ManualExecutor implements Executor {
    private final Deque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public synchronized void execute(Runnable task) {
        tasks.addLast(task);
    }

    public synchronized int pending() {
        return tasks.size();
    }

    /** Runs the oldest task queued; false when there is none. */
    public boolean runNext() {
        Runnable next;
        synchronized (this) {
            next = tasks.pollFirst();
        }
        if (next == null) {
            return false;
        }
        next.run();
        return true;
    }

    /** Runs the tasks queued now and those they queue, until none is left; returns how many ran. */
    public int runAll() {
        int ran = 0;
        while (true) {
            Runnable next;
            synchronized (this) {
                next = tasks.pollFirst();
            }
            if (next == null) {
                return ran;
            }
            next.run();
            ran++;
        }
    }
}

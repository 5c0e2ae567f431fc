package io.github.mxgovernor.time;

import java.time.Duration;

/**
 * Runs tasks later: lane wake-ups, deadlines, housekeeping. A task must not block (it never waits on the network);
 * implementations may run it on a thread of their own or hand it to another executor. Delays are measured on a
 * monotonic time source. Tests pass a scheduler they advance by hand.
 */
@FunctionalInterface
public interface Scheduler {

    /** Runs {@code task} once, {@code delay} from now (at once for a delay of zero or less). */
    Scheduled schedule(Duration delay, Runnable task);

    /** A task scheduled to run later. */
    @FunctionalInterface
    interface Scheduled {
        /** Makes sure the task does not run, unless it already began; any number of calls. */
        void cancel();
    }
}

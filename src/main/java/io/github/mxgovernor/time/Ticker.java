package io.github.mxgovernor.time;

/**
 * A monotonic source of nanoseconds, for deadlines, idle timeouts and rate refills: unlike a wall clock it never
 * steps, so a clock change neither delays nor expires anything. Only differences between two readings mean
 * something. Tests pass a ticker they advance by hand.
 */
@FunctionalInterface
public interface Ticker {
    /** {@link System#nanoTime()}. */
    Ticker SYSTEM = System::nanoTime;

    long nanos();
}

package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.time.SlicedWindow;

import java.time.Duration;

/**
 * Two counts (events and those of them that are failures) over a sliding time window, lock-free and without
 * allocation: ten slices of a {@link SlicedWindow}, each holding both counts (20 bits each, saturating). A total covers
 * the current slice and the nine before it, so it spans between nine tenths of the window and the whole window.
 */
final class SlidingCounts implements AttemptCounts {
    static final int SLICES = 10;
    private static final int COUNT_BITS = 20;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

    private final SlicedWindow window;

    SlidingCounts(Duration window) {
        this.window = new SlicedWindow(SLICES, window.toMillis() / SLICES);
    }

    /** Counts one event, a failure or not, at {@code nowMillis}. */
    @Override
    public void add(long nowMillis, boolean failure) {
        window.update(nowMillis, failure ? 1 : 0, SlidingCounts::counted);
    }

    /** The totals within the window ending at {@code nowMillis}: events in the high 32 bits, failures in the low. */
    @Override
    public long totals(long nowMillis) {
        return window.sum(nowMillis, SlidingCounts::spread);
    }

    static long events(long totals) {
        return totals >>> 32;
    }

    static long failures(long totals) {
        return totals & 0xFFFF_FFFFL;
    }

    @Override
    public void clear() {
        window.clear();
    }

    /** A slice's counts after one more event, {@code failure} 1 for a failure. */
    private static long counted(long cell, long failure) {
        long events = Math.min(COUNT_MASK, (cell >>> COUNT_BITS) + 1);
        long failures = Math.min(COUNT_MASK, (cell & COUNT_MASK) + failure);
        return (events << COUNT_BITS) | failures;
    }

    /** A slice's counts as a total's halves, which ten slices cannot overflow. */
    private static long spread(long cell) {
        return ((cell >>> COUNT_BITS) << 32) | (cell & COUNT_MASK);
    }
}

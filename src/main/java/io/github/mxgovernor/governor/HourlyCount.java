package io.github.mxgovernor.governor;

import io.github.mxgovernor.time.SlicedWindow;

/**
 * How many messages a destination took a token for within about the last hour, lock-free and without allocation:
 * six ten-minute slices of a {@link SlicedWindow}. The total covers the current slice and the five before it: between
 * the last fifty and the last sixty minutes.
 */
final class HourlyCount {
    static final long SLICE_MILLIS = 10 * 60_000L;
    private static final int SLICES = 6;

    private final SlicedWindow window = new SlicedWindow(SLICES, SLICE_MILLIS);

    /** Adds {@code delta} (negative for a token given back) to the slice of {@code nowMillis}; never below zero. */
    void add(long nowMillis, int delta) {
        window.update(nowMillis, delta, Long::sum);
    }

    /** The count within the hour ending at {@code nowMillis}. */
    long total(long nowMillis) {
        return window.sum(nowMillis, count -> count);
    }
}

package io.github.mxgovernor.governor;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How many messages a destination took a token for within about the last hour, lock-free and without allocation.
 * The hour is cut into six ten-minute slices; each slice is one {@code long} holding the slice's number (24 bits)
 * and its count (40 bits), updated by compare-and-set so that no update is lost. The total covers the current slice
 * and the five before it: between the last fifty and the last sixty minutes.
 */
final class HourlyCount {
    static final long SLICE_MILLIS = 10 * 60_000L;
    private static final int SLICES = 6;
    private static final int COUNT_BITS = 40;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;
    private static final long TAG_MASK = (1L << 24) - 1;

    private final AtomicLongArray cells = new AtomicLongArray(SLICES);

    /** Adds {@code delta} (negative for a token given back) to the slice of {@code nowMillis}; never below zero. */
    void add(long nowMillis, int delta) {
        long slice = nowMillis / SLICE_MILLIS;
        int index = (int) (slice % SLICES);
        long tag = slice & TAG_MASK;
        while (true) {
            long cell = cells.get(index);
            long count = cell >>> COUNT_BITS == tag ? cell & COUNT_MASK : 0;
            long next = Math.max(0, Math.min(COUNT_MASK, count + delta));
            if (cells.compareAndSet(index, cell, (tag << COUNT_BITS) | next)) {
                return;
            }
        }
    }

    /** The count within the hour ending at {@code nowMillis}. */
    long total(long nowMillis) {
        long currentTag = (nowMillis / SLICE_MILLIS) & TAG_MASK;
        long total = 0;
        for (int i = 0; i < SLICES; i++) {
            long cell = cells.get(i);
            if (cell != 0 && ((currentTag - (cell >>> COUNT_BITS)) & TAG_MASK) < SLICES) {
                total += cell & COUNT_MASK;
            }
        }
        return total;
    }
}

package io.github.mxgovernor.time;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

/**
 * A value per slice of time over a sliding window, lock-free and without allocation: the window is cut into a fixed
 * number of slices, each one {@code long} holding the slice's number (24 bits) and its value (40 bits), updated by
 * compare-and-set so that no update is lost. A sum covers the current slice and those before it within the window, so
 * it spans between {@code (slices - 1) / slices} of the window and the whole window. What a value means (one count, two
 * packed counts) is the caller's; pass non-capturing functions, so that nothing is allocated per update.
 */
public final class SlicedWindow {
    /** The largest value a slice holds; values are kept within 0 and this. */
    public static final long MAX_VALUE = (1L << 40) - 1;
    private static final int VALUE_BITS = 40;
    private static final long TAG_MASK = (1L << 24) - 1;

    private final int slices;
    private final long sliceMillis;
    private final AtomicLongArray cells;

    /**
     * @param slices      how many slices the window is cut into
     * @param sliceMillis how long one slice is, at least 1 ms
     */
    public SlicedWindow(int slices, long sliceMillis) {
        if (slices < 2) {
            throw new IllegalArgumentException("a window needs at least 2 slices, was " + slices);
        }
        this.slices = slices;
        this.sliceMillis = Math.max(1, sliceMillis);
        this.cells = new AtomicLongArray(slices);
    }

    /**
     * Sets the value of the slice of {@code nowMillis} to {@code combine(value, argument)}, where {@code value} is 0
     * for a slice just begun; the result is kept within 0 and {@link #MAX_VALUE}.
     */
    public void update(long nowMillis, long argument, LongBinaryOperator combine) {
        long slice = nowMillis / sliceMillis;
        int index = (int) (slice % slices);
        long tag = slice & TAG_MASK;
        while (true) {
            long cell = cells.get(index);
            long value = cell >>> VALUE_BITS == tag ? cell & MAX_VALUE : 0;
            long next = Math.max(0, Math.min(MAX_VALUE, combine.applyAsLong(value, argument)));
            if (cells.compareAndSet(index, cell, (tag << VALUE_BITS) | next)) {
                return;
            }
        }
    }

    /** The sum of {@code part(value)} over the slices within the window ending at {@code nowMillis}. */
    public long sum(long nowMillis, LongUnaryOperator part) {
        long currentTag = (nowMillis / sliceMillis) & TAG_MASK;
        long total = 0;
        for (int i = 0; i < slices; i++) {
            long cell = cells.get(i);
            if (cell != 0 && ((currentTag - (cell >>> VALUE_BITS)) & TAG_MASK) < slices) {
                total += part.applyAsLong(cell & MAX_VALUE);
            }
        }
        return total;
    }

    /** Forgets every slice. */
    public void clear() {
        for (int i = 0; i < slices; i++) {
            cells.set(i, 0);
        }
    }
}

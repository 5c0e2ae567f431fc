package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Two counts (events and those of them that are failures) over a sliding time window, lock-free and without
 * allocation. The window is cut into ten slices; each slice is one {@code long} holding the slice's number (24
 * bits) and its two counts (20 bits each, saturating), updated by compare-and-set so that no update is lost. A
 * total covers the current slice and the nine before it, so it spans between nine tenths of the window and the
 * whole window.
 */
final class SlidingCounts {
    static final int SLICES = 10;
    private static final int COUNT_BITS = 20;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;
    private static final long EPOCH_MASK = (1L << 24) - 1;

    private final long sliceMillis;
    private final AtomicLongArray cells = new AtomicLongArray(SLICES);

    SlidingCounts(Duration window) {
        this.sliceMillis = Math.max(1, window.toMillis() / SLICES);
    }

    /** Counts one event, a failure or not, at {@code nowMillis}. */
    void add(long nowMillis, boolean failure) {
        long epoch = nowMillis / sliceMillis;
        int index = (int) (epoch % SLICES);
        long tag = epoch & EPOCH_MASK;
        while (true) {
            long cell = cells.get(index);
            long events;
            long failures;
            if (tagOf(cell) == tag) {
                events = Math.min(COUNT_MASK, eventsOf(cell) + 1);
                failures = Math.min(COUNT_MASK, failuresOf(cell) + (failure ? 1 : 0));
            } else {
                events = 1;
                failures = failure ? 1 : 0;
            }
            if (cells.compareAndSet(index, cell, (tag << (2 * COUNT_BITS)) | (events << COUNT_BITS) | failures)) {
                return;
            }
        }
    }

    /** The totals within the window ending at {@code nowMillis}: events in the high 32 bits, failures in the low. */
    long totals(long nowMillis) {
        long currentTag = (nowMillis / sliceMillis) & EPOCH_MASK;
        long events = 0;
        long failures = 0;
        for (int i = 0; i < SLICES; i++) {
            long cell = cells.get(i);
            if (cell != 0 && ((currentTag - tagOf(cell)) & EPOCH_MASK) < SLICES) {
                events += eventsOf(cell);
                failures += failuresOf(cell);
            }
        }
        return (events << 32) | failures;
    }

    static long events(long totals) {
        return totals >>> 32;
    }

    static long failures(long totals) {
        return totals & 0xFFFF_FFFFL;
    }

    void clear() {
        for (int i = 0; i < SLICES; i++) {
            cells.set(i, 0);
        }
    }

    private static long tagOf(long cell) {
        return cell >>> (2 * COUNT_BITS);
    }

    private static long eventsOf(long cell) {
        return (cell >>> COUNT_BITS) & COUNT_MASK;
    }

    private static long failuresOf(long cell) {
        return cell & COUNT_MASK;
    }
}

package io.github.mxgovernor.cluster;

import io.github.mxgovernor.flowcontrol.AttemptCounts;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One sliding window of attempts and failures (an error-rate window, a response rule's threshold) counted by every
 * node: this node adds locally, without a store call; {@link SharedCounts} sends what was added, for all counters
 * of the destination in one call every {@link StoreSettings#countsFlushInterval()}, and reads back the cluster's
 * totals. {@link #totals} is the cluster's totals as last read plus what this node added since, so it lags the
 * other nodes by about one flush. The window is ten slices of a tenth of it each, on the store's clock.
 *
 * <p>While the store is away the counter holds this node's own counts, started afresh every window.
 *
 * <p>Totals are packed as flow control packs them: events in the high 32 bits, failures in the low ({@link #events},
 * {@link #failures}). Thread-safe, lock-free; {@link #add} does not allocate.
 */
public final class SharedCounter implements AttemptCounts {
    private static final long EVENT = 1L << 32;

    private final SharedCounts owner;
    private final String name;
    private final long sliceMillis;
    private final long windowMillis;
    /** Added since the last flush, packed. */
    private final AtomicLong pending = new AtomicLong();
    private volatile long pendingSinceMillis;
    private volatile long snapshot;
    private volatile long snapshotAtMillis = Long.MIN_VALUE;
    /** Bumped by {@link #clear()}: totals read by a flush sent before it are stale. */
    private volatile long generation;

    SharedCounter(SharedCounts owner, String name, Duration window) {
        this.owner = owner;
        this.name = name;
        this.sliceMillis = Math.max(1, window.toMillis() / 10);
        this.windowMillis = sliceMillis * 10;
    }

    public String name() {
        return name;
    }

    /** Counts one attempt at {@code nowMillis}, a failure or not. */
    @Override
    public void add(long nowMillis, boolean failure) {
        long delta = EVENT + (failure ? 1 : 0);
        if (pending.get() == 0) {
            pendingSinceMillis = nowMillis;
        } else if (!owner.isUp() && nowMillis - pendingSinceMillis >= windowMillis) {
            // Without the store, a window's worth of this node's own counts is all there is.
            pending.set(0);
            pendingSinceMillis = nowMillis;
        }
        pending.addAndGet(delta);
    }

    /** The cluster's totals within the window ending about {@code nowMillis}, packed. */
    @Override
    public long totals(long nowMillis) {
        long cluster = nowMillis - snapshotAtMillis < windowMillis ? snapshot : 0;
        long local = pending.get();
        if (local != 0 && nowMillis - pendingSinceMillis >= windowMillis && !owner.isUp()) {
            local = 0;
        }
        return cluster + local;
    }

    /** Forgets the counts, on this node at once and in the store soon (a trigger fired, or an operator reset). */
    @Override
    public void clear() {
        generation++;
        pending.set(0);
        snapshot = 0;
        owner.cleared(this);
    }

    public static long events(long totals) {
        return totals >>> 32;
    }

    public static long failures(long totals) {
        return totals & 0xFFFF_FFFFL;
    }

    /** Takes what was added since the last flush (zero when nothing). */
    long takePending() {
        return pending.getAndSet(0);
    }

    /** A flush failed: what it took counts again. */
    void restore(long taken) {
        pending.addAndGet(taken);
    }

    long generation() {
        return generation;
    }

    /** Totals a flush read back; ignored when the counter was cleared after the flush was sent. */
    void readBack(long events, long failures, long atMillis, long flushedGeneration) {
        if (flushedGeneration == generation) {
            snapshot = (events << 32) + failures;
            snapshotAtMillis = atMillis;
        }
    }

    long sliceMillis() {
        return sliceMillis;
    }

    @Override
    public String toString() {
        long totals = totals(System.currentTimeMillis());
        return name + ": " + events(totals) + " attempts, " + failures(totals) + " failures";
    }
}

package io.github.mxgovernor.delivery;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * How fast one lane takes waiting parts into service while it has a backlog, and so when a part it turns away for the
 * connection quota should come back: once the parts waiting now (and those already told to come back) have gone out,
 * one per service interval. Parts sent back on these return slots find room when they return, instead of coming back
 * blindly after a fixed delay and being turned away again while a large burst drains.
 *
 * <p>The pace is measured only over periods in which the lane had a backlog, when every connection the destination
 * allows is busy, and at least one session carried its mail: an idle lane's throughput says nothing about what it
 * can serve, nor does the time a lane waits for any connection at all (a cluster-wide cap held by other nodes, its
 * sessions closing), which would make a pace of nothing and send its surplus back minutes later. A period ends with a
 * measurement once it has lasted {@link #SAMPLE_MILLIS} and seen at least one part taken, or when the backlog ends
 * after that long; a period in which no part was taken yet goes on, so a slow lane (a part every few seconds on its one
 * connection, say) is measured over the time between its parts, not as a run of empty periods that would drag its
 * pace towards nothing. While a period has gone on without any part taken, the service interval is at least that
 * long. Until a first measurement, a part is told to come back after {@link #UNMEASURED_RETURN_MILLIS}, when the pace
 * will be known; a lane that has had a backlog for {@link #SAMPLE_MILLIS} before any measurement without taking a
 * single part leaves the delay to the caller. Not thread-safe: the lane calls it under its own lock.
 */
final class LanePace {
    /** The shortest period a measurement covers. */
    static final long SAMPLE_MILLIS = 400;
    /** When a part turned away before any measurement comes back: two periods later, with a pace to go by. */
    static final long UNMEASURED_RETURN_MILLIS = 2 * SAMPLE_MILLIS;
    /** The latest a return slot may be, however slow the pace. */
    static final Duration MAX_RETURN_DELAY = Duration.ofHours(1);
    /** Weight of the newest measurement in the running pace. */
    private static final double NEWEST_WEIGHT = 0.3;

    /** Start of the backlogged period being measured; -1 when the lane has no backlog. */
    private long sampleStartMillis = -1;
    private int takenInSample;
    private double perSecond;
    private boolean measured;
    private long nextReturnSlotMillis;

    /** One waiting part was taken into service by one of the lane's sessions. */
    void taken() {
        takenInSample++;
    }

    /**
     * As {@link #sample(long, boolean)}, the lane being backlogged when parts wait and at least one session of its own
     * is opening or carrying mail ({@code inService}): a lane without any is waiting for a connection, not being
     * served slowly.
     */
    void sample(long nowMillis, int waiting, int inService) {
        sample(nowMillis, waiting > 0 && inService > 0);
    }

    /**
     * Takes a measurement when a backlogged period of at least {@link #SAMPLE_MILLIS} in which parts were taken has
     * ended; a period without a part taken yet goes on while the backlog lasts; a lane without a backlog starts the
     * next period afresh.
     */
    void sample(long nowMillis, boolean backlogged) {
        if (sampleStartMillis < 0) {
            sampleStartMillis = backlogged ? nowMillis : -1;
            takenInSample = 0;
            return;
        }
        long elapsed = nowMillis - sampleStartMillis;
        if (elapsed >= SAMPLE_MILLIS && takenInSample > 0) {
            double latest = takenInSample * 1000.0 / elapsed;
            perSecond = measured ? perSecond * (1 - NEWEST_WEIGHT) + latest * NEWEST_WEIGHT : latest;
            measured = true;
        } else if (backlogged) {
            return;
        }
        sampleStartMillis = backlogged ? nowMillis : -1;
        takenInSample = 0;
    }

    /** Parts taken into service per second while the lane had a backlog; 0 until measured. */
    double perSecond() {
        return perSecond;
    }

    /**
     * The next return slot for a part turned away now while {@code waiting} parts wait in the lane, and takes it;
     * at most {@link #MAX_RETURN_DELAY} away; {@link #UNMEASURED_RETURN_MILLIS} away before any measurement; empty
     * when the lane had a backlog for {@link #SAMPLE_MILLIS} before any measurement and took no part in it.
     */
    OptionalLong takeReturnSlot(long nowMillis, int waiting) {
        long withoutTaking = sampleStartMillis >= 0 && takenInSample == 0 ? nowMillis - sampleStartMillis : 0;
        if (!measured) {
            return withoutTaking >= SAMPLE_MILLIS ? OptionalLong.empty()
                : OptionalLong.of(nowMillis + UNMEASURED_RETURN_MILLIS);
        }
        double interval = Math.max(1000.0 / perSecond, withoutTaking);
        long slot = Math.max(nextReturnSlotMillis, nowMillis + (long) Math.ceil(waiting * interval));
        nextReturnSlotMillis = slot + (long) Math.ceil(interval);
        return OptionalLong.of(Math.min(slot, nowMillis + MAX_RETURN_DELAY.toMillis()));
    }
}

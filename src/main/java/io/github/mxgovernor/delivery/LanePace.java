package io.github.mxgovernor.delivery;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * How fast one lane can serve its waiting parts, and so when a part it turns away for the connection quota should come
 * back: once the parts waiting now (and those already told to come back) have gone out, one per service interval.
 * Parts sent back on these return slots find room when they return, instead of coming back blindly after a fixed delay
 * and being turned away again while a large burst drains.
 *
 * <p>The pace is what the lane's sessions can do, not what it happened to do: each session carries one part in the
 * mean time an open session took per part, plus its opening time shared by the mails a connection may carry; the
 * lane's sessions together serve that many times as fast, never faster than the rule's rate. Measuring the parts the
 * lane took per second instead would measure how fast parts arrived whenever they arrived slower than the lane could
 * serve them (a lane fed a few parts at a time while the queue was busy elsewhere, a lane whose first sessions were
 * still opening) and then send a burst's surplus back at that pace, where the lane, starved by its own return slots,
 * never measures better. Coming back a little early costs a part one more turn away; coming back late leaves the
 * connections idle.
 *
 * <p>Until an open session has carried a part, a part is told to come back after {@link #UNMEASURED_RETURN_MILLIS},
 * when the pace will be known. A lane that has had parts waiting and sessions in service without taking a single part
 * for longer than {@link #STALL_MILLIS} and than a session takes to open and carry one (its server is slow or hangs)
 * is not served at its measured pace: its service interval is at least that long, and before any measurement it
 * leaves the delay to the caller. Time with no session at all in service (a cluster-wide cap held by other nodes, its
 * sessions closing) is waiting for a connection, not slow service, and does not count. Not thread-safe: the lane calls
 * it under its own lock.
 */
final class LanePace {
    /** When a part turned away before any measurement comes back: by then a session has carried a part. */
    static final long UNMEASURED_RETURN_MILLIS = 800;
    /** How long a lane with parts waiting and sessions in service takes none before it counts as stalled. */
    static final long STALL_MILLIS = 400;
    /** The latest a return slot may be, however slow the pace. */
    static final Duration MAX_RETURN_DELAY = Duration.ofHours(1);
    /** Weight of the newest part (or opening) in the running means: a few dozen parts make the mean. */
    private static final double NEWEST_WEIGHT = 0.1;

    /** Mean time an open session took to carry one part, in milliseconds; negative until one did. */
    private double carryMillis = -1;
    /** Mean time a session took to open, in milliseconds. */
    private double openMillis;
    private boolean openMeasured;
    /** Since when the lane has had parts waiting and sessions in service without taking a part; -1 when it has not. */
    private long stalledSinceMillis = -1;
    private long nextReturnSlotMillis;

    /** A session of the lane opened, in {@code nanos}. */
    void opened(long nanos) {
        double millis = nanos / 1e6;
        openMillis = openMeasured ? openMillis * (1 - NEWEST_WEIGHT) + millis * NEWEST_WEIGHT : millis;
        openMeasured = true;
    }

    /** An open session of the lane carried one part (from taking it to being free again), in {@code nanos}. */
    void carried(long nanos) {
        double millis = nanos / 1e6;
        carryMillis = carryMillis < 0 ? millis : carryMillis * (1 - NEWEST_WEIGHT) + millis * NEWEST_WEIGHT;
    }

    /** One waiting part was taken into service by one of the lane's sessions at {@code nowMillis}. */
    void taken(long nowMillis) {
        if (stalledSinceMillis >= 0) {
            stalledSinceMillis = nowMillis;
        }
    }

    /**
     * Notes whether parts wait while at least one session of the lane is opening or carrying mail ({@code inService}):
     * from then on, time without a part taken counts as a stall.
     */
    void sample(long nowMillis, int waiting, int inService) {
        if (waiting == 0 || inService == 0) {
            stalledSinceMillis = -1;
        } else if (stalledSinceMillis < 0) {
            stalledSinceMillis = nowMillis;
        }
    }

    /**
     * Parts per second the lane serves with {@code sessions} sessions (at least one) that may carry
     * {@code messagesPerConnection} mails each, at most {@code maxPerSecond}; 0 until an open session carried a part.
     */
    double perSecond(int sessions, int messagesPerConnection, double maxPerSecond) {
        if (carryMillis < 0) {
            return 0;
        }
        double perPartMillis = carryMillis + openMillis / Math.max(1, messagesPerConnection);
        double perSecond = Math.max(1, sessions) * 1000.0 / Math.max(perPartMillis, 0.001);
        return Math.min(perSecond, maxPerSecond);
    }

    /**
     * How long the lane has gone without taking a part while parts waited and sessions were in service, when that is
     * longer than {@link #STALL_MILLIS} and than one session takes to open and carry a part (no session finished in
     * that time: the server is slow or hangs); 0 otherwise.
     */
    private long stalledMillis(long nowMillis) {
        long stalled = stalledSinceMillis >= 0 ? nowMillis - stalledSinceMillis : 0;
        double perPartMillis = Math.max(carryMillis, 0) + openMillis;
        return stalled >= STALL_MILLIS && stalled > perPartMillis ? stalled : 0;
    }

    /**
     * The next return slot for a part turned away now while {@code waiting} parts wait in a lane serving
     * {@code perSecond} parts a second (see {@link #perSecond}), and takes it; at most {@link #MAX_RETURN_DELAY} away;
     * {@link #UNMEASURED_RETURN_MILLIS} away before any measurement; empty when the lane stalled for
     * {@link #STALL_MILLIS} before any measurement.
     */
    OptionalLong takeReturnSlot(long nowMillis, int waiting, double perSecond) {
        long stalled = stalledMillis(nowMillis);
        if (perSecond <= 0) {
            return stalled > 0 ? OptionalLong.empty()
                : OptionalLong.of(nowMillis + UNMEASURED_RETURN_MILLIS);
        }
        double interval = Math.max(1000.0 / perSecond, stalled);
        long slot = Math.max(nextReturnSlotMillis, nowMillis + (long) Math.ceil(waiting * interval));
        nextReturnSlotMillis = slot + (long) Math.ceil(interval);
        return OptionalLong.of(Math.min(slot, nowMillis + MAX_RETURN_DELAY.toMillis()));
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock, and a ticker, that run {@code speed} times faster than real time, from the moment made. A benchmark takes
 * tokens millions of times a second, faster than any rate a rule may set refills them; on this clock the bucket
 * refills as fast as it is drained, so the benchmark measures a token granted rather than a refusal. Reading it
 * costs about what reading the system clock costs.
 */
public final class FastForwardClock extends Clock implements Ticker {
    private final long startMillis = System.currentTimeMillis();
    private final long startNanos = System.nanoTime();
    private final long speed;

    public FastForwardClock(long speed) {
        if (speed < 1) {
            throw new IllegalArgumentException("speed must be at least 1, was " + speed);
        }
        this.speed = speed;
    }

    @Override
    public long millis() {
        return startMillis + (System.nanoTime() - startNanos) * speed / 1_000_000L;
    }

    @Override
    public long nanos() {
        return (System.nanoTime() - startNanos) * speed;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a benchmark clock keeps UTC");
    }
}

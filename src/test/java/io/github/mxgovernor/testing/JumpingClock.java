package io.github.mxgovernor.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The system's wall clock, moved forward by hand: it runs with real time, so that everything real threads wait for
 * still comes, and {@link #jump} skips what a test does not want to wait for (the rest of a ten-minute suspension).
 * Monotonic tickers are untouched. Thread-safe.
 */
public final class JumpingClock extends Clock {
    private final AtomicLong offsetMillis = new AtomicLong();

    public void jump(Duration duration) {
        offsetMillis.addAndGet(duration.toMillis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a jumping clock stays in UTC");
    }

    @Override
    public long millis() {
        return System.currentTimeMillis() + offsetMillis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }
}

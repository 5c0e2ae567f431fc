package io.github.mxgovernor.time;

import io.github.bucket4j.TimeMeter;

/** Bucket4j's time read from a {@link Ticker}: monotonic, and fake in tests. */
public final class TickerTimeMeter implements TimeMeter {
    private final Ticker ticker;

    public TickerTimeMeter(Ticker ticker) {
        this.ticker = ticker;
    }

    @Override
    public long currentTimeNanos() {
        return ticker.nanos();
    }

    @Override
    public boolean isWallClockBased() {
        return false;
    }
}

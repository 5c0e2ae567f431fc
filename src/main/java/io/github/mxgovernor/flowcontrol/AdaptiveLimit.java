package io.github.mxgovernor.flowcontrol;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The AIMD connection limit of one destination, in thousandths of a connection so that additive increase can
 * add fractions. Starts at the cap. Lock-free; at the cap a success reads one field and writes nothing.
 */
final class AdaptiveLimit {
    private static final int SCALE = 1000;

    private final int capScaled;
    private final double decrease;
    private final AtomicInteger scaled;

    AdaptiveLimit(int cap, double decrease) {
        this.capScaled = cap * SCALE;
        this.decrease = decrease;
        this.scaled = new AtomicInteger(capScaled);
    }

    /** Whole connections allowed now, at least one. */
    int connections() {
        return scaled.get() / SCALE;
    }

    /** Adds {@code 1/limit} of a connection, up to the cap. */
    void increase() {
        while (true) {
            int current = scaled.get();
            if (current >= capScaled) {
                return;
            }
            int next = Math.min(capScaled, current + SCALE * SCALE / current);
            if (scaled.compareAndSet(current, next)) {
                return;
            }
        }
    }

    /** Multiplies the limit by the decrease factor, never below one connection. */
    void decrease() {
        while (true) {
            int current = scaled.get();
            int next = Math.max(SCALE, (int) (current * decrease));
            if (next == current || scaled.compareAndSet(current, next)) {
                return;
            }
        }
    }

    void reset() {
        scaled.set(capScaled);
    }
}

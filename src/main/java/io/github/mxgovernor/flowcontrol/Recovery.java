package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code <recovery>} element: how a destination comes back to normal. A backoff ends when its duration is
 * over or, earlier, after {@link #probes()} successful deliveries in a row (a failed attempt starts the count
 * again); 0 probes means by time only. When a suspension ends the destination runs half-open, with its backoff
 * limits, for at most {@link #halfOpen()} (ended early by the probes as well); a half-open time of 0 goes straight
 * back to normal. Immutable.
 */
public final class Recovery {
    static final int PROBES_BOUND = 10_000;
    static final Duration MAX_HALF_OPEN = Duration.ofDays(1);
    static final String HALF_OPEN_REQUIREMENT = "must be from 0s to 1d";

    private static final Recovery BUILT_IN = new Recovery(5, Duration.ofMinutes(15));

    private final int probes;
    private final Duration halfOpen;

    /** @throws IllegalArgumentException if probes is not 0..10000 or halfOpen not 0..1 day */
    public Recovery(int probes, Duration halfOpen) {
        if (probes < 0 || probes > PROBES_BOUND) {
            throw new IllegalArgumentException("probes must be from 0 to " + PROBES_BOUND + ", was " + probes);
        }
        Objects.requireNonNull(halfOpen, "halfOpen");
        if (halfOpen.isNegative() || halfOpen.compareTo(MAX_HALF_OPEN) > 0) {
            throw new IllegalArgumentException("halfOpen " + HALF_OPEN_REQUIREMENT + ", was " + halfOpen);
        }
        this.probes = probes;
        this.halfOpen = halfOpen;
    }

    /** 5 probes, 15 minutes half-open after a suspension. */
    public static Recovery builtIn() {
        return BUILT_IN;
    }

    public int probes() {
        return probes;
    }

    public Duration halfOpen() {
        return halfOpen;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Recovery)) {
            return false;
        }
        Recovery that = (Recovery) o;
        return probes == that.probes && halfOpen.equals(that.halfOpen);
    }

    @Override
    public int hashCode() {
        return Objects.hash(probes, halfOpen);
    }

    @Override
    public String toString() {
        return "recovery{probes=" + probes + ", halfOpen=" + halfOpen + "}";
    }
}

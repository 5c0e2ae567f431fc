package io.github.mxgovernor.james;

import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * How often, and how far apart, a failing step is tried again: the delay doubles from {@code first} up to {@code max},
 * and each delay is jittered to between half and all of its value, so that many items failing together do not come
 * back together. At most {@code maxTries} tries in all; 0 for no bound.
 */
final class Backoff {
    private final Duration first;
    private final Duration max;
    private final int maxTries;

    Backoff(Duration first, Duration max, int maxTries) {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("a backoff needs 0 < first <= max, was " + first + " and " + max);
        }
        if (maxTries < 0) {
            throw new IllegalArgumentException("maxTries must be 0 (no bound) or more, was " + maxTries);
        }
        this.first = first;
        this.max = max;
        this.maxTries = maxTries;
    }

    /** Whether another try is allowed after {@code failedTries} failed ones. */
    boolean allowsAnotherTry(int failedTries) {
        return maxTries == 0 || failedTries < maxTries;
    }

    /** The wait before the next try after {@code failedTries} (from 1) failed ones, with {@code random} in [0, 1). */
    Duration delayAfter(int failedTries, DoubleSupplier random) {
        long base = first.toMillis();
        for (int i = 1; i < failedTries && base < max.toMillis(); i++) {
            base *= 2;
        }
        base = Math.min(base, max.toMillis());
        return Duration.ofMillis(base / 2 + (long) (random.getAsDouble() * (base - base / 2)));
    }

    int maxTries() {
        return maxTries;
    }

    Duration first() {
        return first;
    }

    @Override
    public String toString() {
        return "backoff from " + first + " to " + max + (maxTries == 0 ? "" : ", at most " + maxTries + " tries");
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Backoff)) {
            return false;
        }
        Backoff that = (Backoff) o;
        return first.equals(that.first) && max.equals(that.max) && maxTries == that.maxTries;
    }

    @Override
    public int hashCode() {
        return Objects.hash(first, max, maxTries);
    }
}

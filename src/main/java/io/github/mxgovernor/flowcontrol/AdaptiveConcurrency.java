package io.github.mxgovernor.flowcontrol;

import java.util.Objects;

/**
 * The {@code <adaptiveConcurrency>} element: additive increase, multiplicative decrease of the connections a
 * destination may open, within its cap. Every failed attempt multiplies the limit by {@link #decrease()} (never
 * below one connection); every successful one adds {@code 1/limit}, so the limit grows by about one connection
 * per round of successful connections until it is back at the cap. The count of connections thus settles where
 * the provider accepts them. Immutable.
 */
public final class AdaptiveConcurrency {
    static final String DECREASE_REQUIREMENT = "must be a number above 0 and below 1";

    private static final AdaptiveConcurrency BUILT_IN = new AdaptiveConcurrency(true, 0.9);

    private final boolean enabled;
    private final double decrease;

    /** @throws IllegalArgumentException if the decrease factor is not above 0 and below 1 */
    public AdaptiveConcurrency(boolean enabled, double decrease) {
        if (!(decrease > 0 && decrease < 1)) {
            throw new IllegalArgumentException("decrease " + DECREASE_REQUIREMENT + ", was " + decrease);
        }
        this.enabled = enabled;
        this.decrease = decrease;
    }

    /** Enabled, decrease factor 0.9. */
    public static AdaptiveConcurrency builtIn() {
        return BUILT_IN;
    }

    public boolean enabled() {
        return enabled;
    }

    /** The factor a failed attempt multiplies the connection limit by. */
    public double decrease() {
        return decrease;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AdaptiveConcurrency)) {
            return false;
        }
        AdaptiveConcurrency that = (AdaptiveConcurrency) o;
        return enabled == that.enabled && Double.compare(decrease, that.decrease) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(enabled, decrease);
    }

    @Override
    public String toString() {
        return "adaptiveConcurrency{" + (enabled ? "decrease=" + decrease : "disabled") + "}";
    }
}

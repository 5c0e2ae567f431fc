package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code <errorRate>} trigger: fires when, within the last {@link #window()}, a destination saw at least
 * {@link #minAttempts()} attempts and the share of failed ones is above {@link #ratio()}. A failed attempt is one
 * that ended in a connection failure (refused, reset, timed out, TLS handshake) or in which the server deferred
 * every recipient (a 4xx to MAIL, DATA or every RCPT). Immutable.
 */
public final class ErrorRateTrigger {
    static final int MIN_ATTEMPTS_BOUND = 100_000;
    /** Shortest and longest window of a trigger. */
    public static final Duration MIN_WINDOW = Duration.ofSeconds(1);
    public static final Duration MAX_WINDOW = Duration.ofDays(1);
    static final String WINDOW_REQUIREMENT = "must be from 1s to 1d";
    static final String RATIO_REQUIREMENT = "must be a number from 0 up to, but not including, 1";

    private static final ErrorRateTrigger BUILT_IN = new ErrorRateTrigger(20, 0.5, Duration.ofMinutes(5),
        Reaction.backoff(java.util.Optional.of(Duration.ofMinutes(15))));

    private final int minAttempts;
    private final double ratio;
    private final Duration window;
    private final Reaction reaction;

    /**
     * @throws IllegalArgumentException when minAttempts is not 1..100000, ratio not in [0, 1), window not 1s..1d,
     *         or the reaction is {@code reconnect} (a rate is no one connection's)
     */
    public ErrorRateTrigger(int minAttempts, double ratio, Duration window, Reaction reaction) {
        if (minAttempts < 1 || minAttempts > MIN_ATTEMPTS_BOUND) {
            throw new IllegalArgumentException("minAttempts must be from 1 to " + MIN_ATTEMPTS_BOUND + ", was "
                + minAttempts);
        }
        if (!(ratio >= 0 && ratio < 1)) {
            throw new IllegalArgumentException("ratio " + RATIO_REQUIREMENT + ", was " + ratio);
        }
        Objects.requireNonNull(window, "window");
        if (window.compareTo(MIN_WINDOW) < 0 || window.compareTo(MAX_WINDOW) > 0) {
            throw new IllegalArgumentException("window " + WINDOW_REQUIREMENT + ", was " + window);
        }
        Objects.requireNonNull(reaction, "reaction");
        if (reaction.action() == FlowAction.RECONNECT) {
            throw new IllegalArgumentException("action reconnect acts on one connection and cannot answer an error"
                + " rate; use backoff, suspend, limitConnections or limitMessagesPerConnection");
        }
        this.minAttempts = minAttempts;
        this.ratio = ratio;
        this.window = window;
        this.reaction = reaction;
    }

    /** At least 20 attempts, more than half failed, within 5 minutes: back off for 15 minutes. */
    public static ErrorRateTrigger builtIn() {
        return BUILT_IN;
    }

    public int minAttempts() {
        return minAttempts;
    }

    /** The trigger fires when failed attempts / attempts is strictly above this. */
    public double ratio() {
        return ratio;
    }

    public Duration window() {
        return window;
    }

    public Reaction reaction() {
        return reaction;
    }

    /** Whether {@code errors} out of {@code attempts} make the trigger fire. */
    boolean firesAt(long attempts, long errors) {
        return attempts >= minAttempts && errors > ratio * attempts;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ErrorRateTrigger)) {
            return false;
        }
        ErrorRateTrigger that = (ErrorRateTrigger) o;
        return minAttempts == that.minAttempts && Double.compare(ratio, that.ratio) == 0
            && window.equals(that.window) && reaction.equals(that.reaction);
    }

    @Override
    public int hashCode() {
        return Objects.hash(minAttempts, ratio, window, reaction);
    }

    @Override
    public String toString() {
        return "errorRate{" + minAttempts + " attempts, ratio above " + ratio + " within " + window + ": "
            + reaction + "}";
    }
}

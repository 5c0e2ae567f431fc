package io.github.mxgovernor.james;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a governed mailet's deferred mail waits (mailet parameters {@code waitingRepository}, {@code waitingThreshold},
 * {@code waitingReleaseRate}): in a James mail repository, or on the outgoing queue. Immutable; the values are checked
 * by {@link DeliveryConfiguration}, which names the parameter of a bad one.
 */
final class WaitingSettings {
    /** The waiting place's path when {@code waitingRepository} is not given, under James's default protocol. */
    static final String DEFAULT_PATH = "var/mail/mxgovernor-waiting/";
    /** Longer waits than this go to the waiting place whatever the queue. */
    static final Duration DEFAULT_THRESHOLD = Duration.ofMinutes(5);
    static final Duration MAX_THRESHOLD = Duration.ofDays(30);
    static final int DEFAULT_RELEASE_RATE = 200;
    static final int MAX_RELEASE_RATE = 100_000;
    /** The value of {@code waitingRepository} that turns the waiting place off. */
    static final String OFF = "off";

    private final boolean enabled;
    private final Optional<String> repository;
    private final Duration threshold;
    private final int releasePerSecond;

    private WaitingSettings(boolean enabled, Optional<String> repository, Duration threshold, int releasePerSecond) {
        this.enabled = enabled;
        this.repository = Objects.requireNonNull(repository, "repository");
        this.threshold = Objects.requireNonNull(threshold, "threshold");
        this.releasePerSecond = releasePerSecond;
        if (threshold.isNegative() || threshold.isZero() || threshold.compareTo(MAX_THRESHOLD) > 0) {
            throw new IllegalArgumentException("the threshold must be more than 0 and at most " + MAX_THRESHOLD
                + ", was " + threshold);
        }
        if (releasePerSecond < 1 || releasePerSecond > MAX_RELEASE_RATE) {
            throw new IllegalArgumentException("the release rate must be from 1 to " + MAX_RELEASE_RATE
                + " mails a second, was " + releasePerSecond);
        }
    }

    /**
     * @param repository the repository's URL; empty for {@link #DEFAULT_PATH} under James's default protocol
     */
    static WaitingSettings on(Optional<String> repository, Duration threshold, int releasePerSecond) {
        return new WaitingSettings(true, repository, threshold, releasePerSecond);
    }

    static WaitingSettings off() {
        return new WaitingSettings(false, Optional.empty(), DEFAULT_THRESHOLD, DEFAULT_RELEASE_RATE);
    }

    boolean enabled() {
        return enabled;
    }

    /** The URL given; empty for the default. */
    Optional<String> repository() {
        return repository;
    }

    Duration threshold() {
        return threshold;
    }

    int releasePerSecond() {
        return releasePerSecond;
    }

    /** The default repository URL for a queue: one place per queue, the default queue's without a suffix. */
    static String defaultUrl(String protocol, String queueName) {
        return protocol + "://" + DEFAULT_PATH + (queueName.equals(DeliveryConfiguration.DEFAULT_OUTGOING) ? ""
            : queueName + "/");
    }

    @Override
    public String toString() {
        return enabled ? "waiting place " + repository.orElse("(default)") + " for waits over " + threshold
            + ", released at up to " + releasePerSecond + " mails/s" : "no waiting place";
    }
}

package io.github.mxgovernor.governor;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.local.SynchronizationStrategy;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.time.Ticker;
import io.github.mxgovernor.time.TickerTimeMeter;

import java.time.Clock;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * Messages per hour for one destination, as a token bucket spread over short slices: the bucket holds at
 * most one minute's share of the hourly rate (at least one token) and refills continuously, so an hour's
 * budget never leaves in one burst. Unlimited when the rule sets no rate. Every token taken (and given back) may
 * also be counted toward its destination's {@link HourlyCount}, so that operators see the rate in use.
 *
 * <p>The bucket refills by a monotonic {@link Ticker}, never by the wall clock: a clock step neither empties nor
 * fills it. The hourly count, which operators read, goes by the wall clock.
 */
final class MessageRate implements MessageBudget {
    private static final long SLICES_PER_HOUR = 60;

    private final OptionalLong messagesPerHour;
    private final Bucket bucket;
    private final Clock clock;
    private final HourlyCount taken;

    /** A rate whose tokens are counted nowhere. */
    public MessageRate(OptionalLong messagesPerHour, Ticker ticker) {
        this(messagesPerHour, ticker, Clock.systemUTC(), null);
    }

    /** @param taken counts the tokens taken (at {@code clock}'s time), or null */
    MessageRate(OptionalLong messagesPerHour, Ticker ticker, Clock clock, HourlyCount taken) {
        this.messagesPerHour = messagesPerHour;
        this.clock = clock;
        this.taken = taken;
        if (messagesPerHour.isEmpty()) {
            this.bucket = null;
            return;
        }
        long perHour = messagesPerHour.getAsLong();
        if (perHour < 1) {
            throw new IllegalArgumentException("messagesPerHour must be positive, was " + perHour);
        }
        long capacity = Math.max(1, perHour / SLICES_PER_HOUR);
        this.bucket = Bucket.builder()
            .addLimit(Bandwidth.builder().capacity(capacity).refillGreedy(perHour, Duration.ofHours(1)).build())
            .withCustomTimePrecision(new TickerTimeMeter(ticker))
            // The lock-free default copies the bucket state for every token (64 bytes a mail); this strategy updates
            // it in place under a lock of the bucket's own. Lanes take tokens under their own lock, so it is
            // hardly ever contended.
            .withSynchronizationStrategy(SynchronizationStrategy.SYNCHRONIZED)
            .build();
    }

    /** Takes one message's token; false when the destination must wait. */
    @Override
    public boolean tryConsume() {
        if (bucket != null && !bucket.tryConsume(1)) {
            return false;
        }
        if (taken != null) {
            taken.add(clock.millis(), 1);
        }
        return true;
    }

    /** Gives back a token taken for a message that was not sent after all. */
    @Override
    public void refund() {
        if (bucket != null) {
            bucket.addTokens(1);
        }
        if (taken != null) {
            taken.add(clock.millis(), -1);
        }
    }

    /** How long until a token is available; zero when one is available now or the rate is unlimited. */
    @Override
    public Duration timeUntilToken() {
        if (bucket == null) {
            return Duration.ZERO;
        }
        return Duration.ofNanos(bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill());
    }

    public OptionalLong messagesPerHour() {
        return messagesPerHour;
    }
}

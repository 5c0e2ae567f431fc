package io.github.mxgovernor.cluster;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.local.SynchronizationStrategy;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.time.Ticker;
import io.github.mxgovernor.time.TickerTimeMeter;

import java.time.Duration;

/**
 * A node's own share of a cluster-wide rate, for while the store is away: a token bucket of {@code messagesPerHour}
 * holding at most a minute's share (at least one token), refilled continuously on the monotonic ticker, as a node's
 * own rate is.
 */
final class LocalRate implements MessageBudget {
    private final Bucket bucket;

    LocalRate(long messagesPerHour, Ticker ticker) {
        this.bucket = Bucket.builder()
            .addLimit(Bandwidth.builder().capacity(Math.max(1, messagesPerHour / 60))
                .refillGreedy(messagesPerHour, Duration.ofHours(1)).build())
            .withCustomTimePrecision(new TickerTimeMeter(ticker))
            .withSynchronizationStrategy(SynchronizationStrategy.SYNCHRONIZED)
            .build();
    }

    @Override
    public boolean tryConsume() {
        return bucket.tryConsume(1);
    }

    @Override
    public void refund() {
        bucket.addTokens(1);
    }

    @Override
    public Duration timeUntilToken() {
        return Duration.ofNanos(bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill());
    }
}

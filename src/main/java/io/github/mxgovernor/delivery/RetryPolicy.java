package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides what happens to recipients an attempt deferred: wait and try again, or give up and bounce. Failed
 * attempts follow the {@link RetrySchedule} (RemoteDelivery's {@code delayTime} and {@code maxRetries});
 * local deferrals (quota, rate, flow control) never spend that budget but wait only as long as the
 * destination needs; both end when the mail has waited longer than the maximum age since its first deferral. A mail
 * bounces for its age only once that age has passed: a wait that would end later (a suspension of a week, a retry
 * scheduled late) is cut to end with the age, and the mail is tried, or deferred and bounced, then.
 */
public final class RetryPolicy {
    private final RetrySchedule schedule;
    private final Duration maxAge;
    private final Clock clock;

    public RetryPolicy(RetrySchedule schedule, Duration maxAge, Clock clock) {
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
        }
        this.maxAge = maxAge;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Decides for the recipients that {@code outcome} deferred, given the mail's record so far. */
    public Decision onDeferred(Optional<DeferralRecord> previous, Outcome outcome) {
        DeferralReason reason = outcome.reason()
            .orElseThrow(() -> new IllegalArgumentException("not a deferral: " + outcome));
        Instant now = clock.instant();
        DeferralEvent.Builder event = DeferralEvent.builder(now, reason)
            .message(outcome.message())
            .destination(outcome.destination())
            .rule(outcome.rule());
        outcome.reply().ifPresent(event::serverReply);
        DeferralEvent deferral = event.build();
        DeferralRecord record = recordWith(previous, deferral, Optional.empty());

        Duration delay;
        if (reason.isLocal()) {
            delay = outcome.notBefore()
                .map(notBefore -> Duration.between(now, notBefore))
                .filter(wait -> !wait.isNegative())
                .orElse(Duration.ZERO);
        } else {
            Optional<Duration> scheduled = schedule.delayBeforeRetry(record.failedAttempts());
            if (scheduled.isEmpty()) {
                return Decision.giveUp(record, "Too many retries failure. Bouncing after "
                    + (record.failedAttempts() - 1) + " retries. Last error: " + outcome.message());
            }
            delay = scheduled.get();
        }
        Instant expiry = record.firstDeferredAt().plus(maxAge);
        if (!now.isBefore(expiry)) {
            return Decision.giveUp(record, "Giving up: the mail has been waiting since " + record.firstDeferredAt()
                + " and its maximum age is " + maxAge + ". Last deferral: " + outcome.message());
        }
        Instant nextAttempt = now.plus(delay);
        if (nextAttempt.isAfter(expiry)) {
            // a wait longer than the mail may still wait (a long suspension, a late retry) ends with its age
            nextAttempt = expiry;
            delay = Duration.between(now, expiry);
        }
        return Decision.retry(recordWith(previous, deferral, Optional.of(nextAttempt)), delay);
    }

    private static DeferralRecord recordWith(Optional<DeferralRecord> previous, DeferralEvent deferral,
                                             Optional<Instant> nextAttempt) {
        return previous
            .map(existing -> existing.deferredAgain(deferral, nextAttempt))
            .orElseGet(() -> DeferralRecord.first(deferral, nextAttempt));
    }

    public RetrySchedule schedule() {
        return schedule;
    }

    /** Wait {@link #delay()} and try again with {@link #record()}, or give up with a bounce message. */
    public static final class Decision {
        private final DeferralRecord record;
        private final Optional<Duration> delay;
        private final String bounceMessage;

        private Decision(DeferralRecord record, Optional<Duration> delay, String bounceMessage) {
            this.record = record;
            this.delay = delay;
            this.bounceMessage = bounceMessage;
        }

        static Decision retry(DeferralRecord record, Duration delay) {
            return new Decision(record, Optional.of(delay), "");
        }

        static Decision giveUp(DeferralRecord record, String bounceMessage) {
            return new Decision(record, Optional.empty(), bounceMessage);
        }

        public boolean retries() {
            return delay.isPresent();
        }

        /** The record to store on the mail: updated with this deferral. */
        public DeferralRecord record() {
            return record;
        }

        /** How long to wait before the next attempt; present when {@link #retries()}. */
        public Duration delay() {
            return delay.orElseThrow(() -> new IllegalStateException("a give-up decision has no delay"));
        }

        /** Why the mail bounces; empty when it retries. */
        public String bounceMessage() {
            return bounceMessage;
        }
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * When a deferred mail comes back, decided in this one place, and whether it may wait at all:
 *
 * <ul>
 *   <li>turned away for the connection quota: at the lane's return slot (see {@link LanePace}), else after the
 *       {@linkplain EngineSettings#localDeferralDelay() local deferral delay}, jittered to between half and one and a
 *       half of it;</li>
 *   <li>held back by the message rate: when the destination's next token is due, spread over {@link #RATE_SPREAD};</li>
 *   <li>held back by flow control (SUSPENDED, DYNAMIC_FLOW_CONTROL): at the end of the state, spread at random over a
 *       tenth of its length (at most {@link #MAX_STATE_SPREAD}) so that held mail does not come back all at once; a
 *       backoff that ends by probes only, after the jittered local deferral delay;</li>
 *   <li>after a failed attempt: as RemoteDelivery's {@code delayTime} says ({@link RetrySchedule}), and once its
 *       {@code maxRetries} are spent the mail bounces; local deferrals never spend them;</li>
 *   <li>whatever the reason, no later than the mail's maximum age after its first deferral: a wait that would end
 *       later (a suspension of a week, a late retry) ends with the age, and a mail deferred once its age has passed
 *       bounces.</li>
 * </ul>
 * {@link #heldUntil} answers the same question for a mail the queue gives back early. Thread-safe.
 */
public final class ReturnSchedule {
    /** Mail held back by the rate comes back over this long after the next token is due. */
    static final Duration RATE_SPREAD = Duration.ofSeconds(1);
    /** Mail held back by flow control comes back over this share of the state's length, at most 15 minutes. */
    static final double STATE_SPREAD_SHARE = 0.1;
    static final Duration MAX_STATE_SPREAD = Duration.ofMinutes(15);
    /** A mail the queue gives back this little before its next attempt is not sent back to wait. */
    static final Duration EARLY_TOLERANCE = Duration.ofSeconds(1);

    private final RetrySchedule retries;
    private final Duration maxAge;
    private final Duration localDeferralDelay;
    private final Clock clock;
    private final DoubleSupplier random;

    /** @param random numbers in [0, 1) that spread returns */
    public ReturnSchedule(RetrySchedule retries, Duration maxAge, Duration localDeferralDelay, Clock clock,
                          DoubleSupplier random) {
        this.retries = Objects.requireNonNull(retries, "retries");
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
        }
        this.maxAge = maxAge;
        this.localDeferralDelay = Objects.requireNonNull(localDeferralDelay, "localDeferralDelay");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** The engine's settings' schedule, spread by {@link ThreadLocalRandom}. */
    public static ReturnSchedule of(EngineSettings settings, Clock clock) {
        return new ReturnSchedule(settings.retrySchedule(), settings.maxAge(), settings.localDeferralDelay(), clock,
            () -> ThreadLocalRandom.current().nextDouble());
    }

    /**
     * The end of recipients deferred by {@code event}: back on the queue until their next attempt, with the mail's
     * record updated; or bounced, when the deferral spends the last retry or comes after the mail's maximum age.
     *
     * @param previous the mail's record before this deferral
     * @param reply    the server's reply behind the deferral, if any
     * @param earliest for a local deferral, when the destination can take the mail again ({@link #localReturn});
     *                 ignored for a failed attempt, whose retry schedule decides
     */
    public Outcome defer(Optional<DeferralRecord> previous, DeferralEvent event, Optional<SmtpReply> reply,
                         Instant earliest) {
        Instant now = event.at();
        DeferralRecord record = recordWith(previous, event, Optional.empty());
        Instant next;
        if (event.reason().isLocal()) {
            next = earliest.isBefore(now) ? now : earliest;
        } else {
            Optional<Duration> delay = retries.delayBeforeRetry(record.failedAttempts());
            if (delay.isEmpty()) {
                return bounce(record, now, "Too many retries failure. Bouncing after " + (record.failedAttempts() - 1)
                    + " retries. Last error: " + event.message(), reply);
            }
            next = now.plus(delay.get());
        }
        Instant expiry = record.firstDeferredAt().plus(maxAge);
        if (!now.isBefore(expiry)) {
            return bounce(record, now, "Giving up: the mail has been waiting since " + record.firstDeferredAt()
                + " and its maximum age is " + maxAge + ". Last deferral: " + event.message(), reply);
        }
        if (next.isAfter(expiry)) {
            next = expiry;
        }
        return Outcome.deferred(recordWith(previous, event, Optional.of(next)), reply);
    }

    private static DeferralRecord recordWith(Optional<DeferralRecord> previous, DeferralEvent event,
                                             Optional<Instant> next) {
        return previous.map(existing -> existing.deferredAgain(event, next))
            .orElseGet(() -> DeferralRecord.first(event, next));
    }

    /**
     * When a destination can take mail it turned away for a local {@code reason} now.
     *
     * @param destination the destination, or empty when the mail never reached one (the engine stopped)
     * @param returnSlot  for {@link DeferralReason#CONNECTION_QUOTA_REACHED}: the lane's return slot, if it gave one
     */
    public Instant localReturn(DeferralReason reason, Optional<Destination> destination,
                               Optional<Instant> returnSlot) {
        Instant now = clock.instant();
        if (destination.isPresent()) {
            switch (reason) {
                case SUSPENDED:
                case DYNAMIC_FLOW_CONTROL:
                    return endOf(destination.get().flowControl().state()).orElseGet(() -> jitteredLocalDelay(now));
                case RATE_LIMITED:
                    return now.plus(destination.get().budget().timeUntilToken()).plus(spread(RATE_SPREAD));
                default:
                    break;
            }
        }
        return returnSlot.orElseGet(() -> jitteredLocalDelay(now));
    }

    /**
     * For a mail the queue gives back: until when it must wait again without an attempt, or empty when it may go now.
     * It may go within {@link #EARLY_TOLERANCE} of its next attempt, and at once when it was held back by flow control
     * and its destination is NORMAL again (an operator resumed it, say), or gone.
     */
    public Optional<Instant> heldUntil(DeferralRecord record, Governor governor) {
        Optional<Instant> next = record.nextAttemptAt();
        if (next.isEmpty() || !next.get().isAfter(clock.instant().plus(EARLY_TOLERANCE))) {
            return Optional.empty();
        }
        boolean heldByFlowControl = record.reason() == DeferralReason.SUSPENDED
            || record.reason() == DeferralReason.DYNAMIC_FLOW_CONTROL;
        if (heldByFlowControl && governor.find(record.latest().destination())
            .map(destination -> destination.flowControl().state().kind() == FlowState.Kind.NORMAL).orElse(true)) {
            return Optional.empty();
        }
        return next;
    }

    /** The retry schedule of failed attempts. */
    public RetrySchedule retries() {
        return retries;
    }

    public Duration maxAge() {
        return maxAge;
    }

    /** The end of a flow-control state, spread; empty when it has no end in time. */
    private Optional<Instant> endOf(FlowState state) {
        return state.until().map(until -> {
            long length = Math.max(0, until.toEpochMilli() - state.since().toEpochMilli());
            long spread = Math.min(MAX_STATE_SPREAD.toMillis(), (long) (length * STATE_SPREAD_SHARE));
            return until.plusMillis((long) (random.getAsDouble() * spread));
        });
    }

    private Instant jitteredLocalDelay(Instant now) {
        long millis = localDeferralDelay.toMillis();
        return now.plusMillis(millis / 2 + (long) (random.getAsDouble() * (millis + 1)));
    }

    private Duration spread(Duration over) {
        return Duration.ofMillis((long) (random.getAsDouble() * (over.toMillis() + 1)));
    }

    private static Outcome bounce(DeferralRecord record, Instant now, String message, Optional<SmtpReply> reply) {
        return Outcome.bounced(message, reply, record.latest().destination(), record.latest().rule(),
            Optional.of(record.bounced(now, message, reply)));
    }
}

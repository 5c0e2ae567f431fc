package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** When a deferred mail comes back, on fake time: every source of a return, and the age that ends them all. */
class ReturnScheduleTest {
    private static final SmtpReply BUSY = SmtpReply.of(451, "4.7.500 Server busy");

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final FakeScheduler ticker = new FakeScheduler();
    private final Governor governor = new Governor(clock, ticker, () -> 0);
    private final RetrySchedule retries = RetrySchedule.parse(Optional.of("1 minute, 10 minutes"), Optional.of("2"));
    private double random = 0.5;
    private final ReturnSchedule returns = schedule(Duration.ofDays(1));

    private ReturnSchedule schedule(Duration maxAge) {
        return new ReturnSchedule(retries, maxAge, Duration.ofSeconds(10), clock, () -> random);
    }

    // ---- Failed attempts: the retry schedule, then a bounce ----

    @Test
    void aFailedAttemptShouldWaitAsTheScheduleSaysAndCountTheAttempt() {
        Outcome outcome = returns.defer(Optional.empty(), busy(), Optional.of(BUSY), clock.instant());

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.nextAttemptAt()).contains(clock.instant().plus(Duration.ofMinutes(1)));
        DeferralRecord record = outcome.record().orElseThrow();
        assertThat(record.failedAttempts()).isEqualTo(1);
        assertThat(record.latest().smtpCode()).contains(451);
        assertThat(record.nextAttemptAt()).isEqualTo(outcome.nextAttemptAt());
        assertThat(outcome.reply()).contains(BUSY);
    }

    @Test
    void aSpentRetryBudgetShouldBounceWithTheRecordSayingWhy() {
        DeferralRecord afterTwo = returns.defer(returns.defer(Optional.empty(), busy(), Optional.of(BUSY),
            clock.instant()).record(), busy(), Optional.of(BUSY), clock.instant()).record().orElseThrow();
        assertThat(afterTwo.nextAttemptAt()).contains(clock.instant().plus(Duration.ofMinutes(10)));

        Outcome outcome = returns.defer(Optional.of(afterTwo), busy(), Optional.of(BUSY), clock.instant());

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcome.message()).startsWith("Too many retries failure. Bouncing after 2 retries.")
            .contains("Server busy");
        assertThat(outcome.reply()).contains(BUSY);
        DeferralRecord bounced = outcome.record().orElseThrow();
        assertThat(bounced.status()).isEqualTo(DeferralRecord.Status.BOUNCED);
        assertThat(bounced.failedAttempts()).isEqualTo(3);
        assertThat(bounced.nextAttemptAt()).isEmpty();
    }

    @Test
    void aRetryScheduledAfterTheMaximumAgeShouldComeAtTheAgeInstead() {
        ReturnSchedule tenMinutes = new ReturnSchedule(RetrySchedule.parse(Optional.of("1 minute, 1 hour"),
            Optional.of("5")), Duration.ofMinutes(10), Duration.ofSeconds(10), clock, () -> random);
        Outcome first = tenMinutes.defer(Optional.empty(), busy(), Optional.empty(), clock.instant());
        clock.advance(Duration.ofMinutes(1));

        Outcome second = tenMinutes.defer(first.record(), busy(), Optional.empty(), clock.instant());

        assertThat(second.nextAttemptAt()).contains(clock.instant().plus(Duration.ofMinutes(9)));
        assertThat(second.record().orElseThrow().failedAttempts()).isEqualTo(2);
    }

    // ---- Local deferrals: never the retry budget, as soon as the destination can take the mail ----

    @Test
    void localDeferralsShouldNotSpendTheRetryBudgetAndComeBackWhenTheDestinationCan() {
        Instant slot = clock.instant().plusSeconds(7);
        DeferralEvent quota = local(DeferralReason.CONNECTION_QUOTA_REACHED);
        Outcome outcome = returns.defer(Optional.empty(), quota, Optional.empty(), slot);
        for (int i = 0; i < 50; i++) {
            outcome = returns.defer(outcome.record(), quota, Optional.empty(), slot);
        }

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.nextAttemptAt()).contains(slot);
        assertThat(outcome.record().orElseThrow().failedAttempts()).isZero();
        assertThat(outcome.record().orElseThrow().localDeferrals()).isEqualTo(51);
        assertThat(outcome.message()).isEqualTo("Messages queued (connection quotas reached)");
    }

    @Test
    void aReturnInThePastShouldBeNow() {
        Outcome outcome = returns.defer(Optional.empty(), local(DeferralReason.RATE_LIMITED), Optional.empty(),
            clock.instant().minusSeconds(5));

        assertThat(outcome.nextAttemptAt()).contains(clock.instant());
    }

    @Test
    void theQuotaShouldReturnOnTheLanesSlotElseAfterTheJitteredLocalDelay() {
        Destination destination = destination(FlowControlPolicy.builtIn());
        Instant slot = clock.instant().plusMillis(800);

        assertThat(returns.localReturn(DeferralReason.CONNECTION_QUOTA_REACHED, Optional.of(destination),
            Optional.of(slot))).isEqualTo(slot);
        random = 0;
        assertThat(returns.localReturn(DeferralReason.CONNECTION_QUOTA_REACHED, Optional.of(destination),
            Optional.empty())).isEqualTo(clock.instant().plusSeconds(5));
        random = 0.9999;
        assertThat(returns.localReturn(DeferralReason.CONNECTION_QUOTA_REACHED, Optional.empty(), Optional.empty()))
            .isBetween(clock.instant().plusSeconds(14), clock.instant().plusSeconds(15));
    }

    @Test
    void theRateShouldReturnWhenTheNextTokenIsDueSpreadOverASecond() {
        Destination destination = governor.destination(MxRule.builder("slow").mxMasks("*.slow.test")
            .messagesPerHour(60).build(), "mx.slow.test");
        while (destination.budget().tryConsume()) {
            // drain the bucket
        }
        Duration untilToken = destination.budget().timeUntilToken();
        random = 0.9999;

        Instant back = returns.localReturn(DeferralReason.RATE_LIMITED, Optional.of(destination), Optional.empty());

        assertThat(untilToken).isPositive();
        assertThat(back).isBetween(clock.instant().plus(untilToken),
            clock.instant().plus(untilToken).plus(ReturnSchedule.RATE_SPREAD));
    }

    @ParameterizedTest(name = "random {0}")
    @CsvSource({"0.0", "0.5", "0.9999"})
    void flowControlShouldReturnAtTheEndOfTheStateSpreadOverATenthOfIt(double value) {
        Destination destination = suspendedFor(Duration.ofMinutes(30));
        Instant end = destination.flowControl().state().until().orElseThrow();
        random = value;

        Instant back = returns.localReturn(DeferralReason.SUSPENDED, Optional.of(destination), Optional.empty());

        assertThat(back).isAfterOrEqualTo(end).isBefore(end.plus(Duration.ofMinutes(3)));
    }

    @Test
    void theSpreadOfALongStateShouldBeCappedAtFifteenMinutes() {
        Destination destination = suspendedFor(Duration.ofDays(7));
        random = 0.9999;

        assertThat(returns.localReturn(DeferralReason.SUSPENDED, Optional.of(destination), Optional.empty()))
            .isBefore(destination.flowControl().state().until().orElseThrow().plus(ReturnSchedule.MAX_STATE_SPREAD));
    }

    @Test
    void aBackoffThatEndsByProbesOnlyShouldReturnAfterTheJitteredLocalDelay() {
        Destination destination = destination(FlowControlPolicy.builder().addResponseRule(new ResponseRule(
            "4\\.7\\.28", 1, Optional.empty(), Reaction.backoff(Optional.empty()), "mx-rules.xml:3")).build());
        SmtpReply unusual = SmtpReply.of(421, "4.7.28 unusual rate");
        destination.flowControl().observe(destination.flowControl().policy().match(unusual).orElseThrow(), unusual);
        assertThat(destination.flowControl().state().until()).isEmpty();
        random = 0;

        assertThat(returns.localReturn(DeferralReason.DYNAMIC_FLOW_CONTROL, Optional.of(destination),
            Optional.empty())).isEqualTo(clock.instant().plusSeconds(5));
    }

    // ---- The maximum age ends every wait ----

    @Test
    void aSuspensionLongerThanTheMaximumAgeShouldHoldTheMailUntilItsAgeThenBounce() {
        ReturnSchedule fiveDays = schedule(Duration.ofDays(5));

        Outcome first = fiveDays.defer(Optional.empty(), local(DeferralReason.SUSPENDED), Optional.empty(),
            clock.instant().plus(Duration.ofDays(7)));

        assertThat(first.nextAttemptAt()).contains(clock.instant().plus(Duration.ofDays(5)));

        clock.advance(Duration.ofDays(5).minusMinutes(1));
        Outcome early = fiveDays.defer(first.record(), local(DeferralReason.SUSPENDED), Optional.empty(),
            clock.instant().plus(Duration.ofDays(2)));

        assertThat(early.nextAttemptAt()).contains(clock.instant().plus(Duration.ofMinutes(1)));

        clock.advance(Duration.ofMinutes(1));
        Outcome aged = fiveDays.defer(early.record(), local(DeferralReason.SUSPENDED), Optional.empty(),
            clock.instant().plus(Duration.ofDays(2)));

        assertThat(aged.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(aged.message()).startsWith("Giving up: the mail has been waiting since 2026-03-01T10:00:00Z and"
            + " its maximum age is PT120H.").contains("destination suspended");
        assertThat(aged.record().orElseThrow().status()).isEqualTo(DeferralRecord.Status.BOUNCED);
    }

    // ---- A mail the queue gives back early ----

    @Test
    void aMailGivenBackBeforeItsNextAttemptShouldBeHeldUntilThenWithinATolerance() {
        DeferralRecord record = returns.defer(Optional.empty(), busy(), Optional.empty(), clock.instant()).record()
            .orElseThrow();

        assertThat(returns.heldUntil(record, governor)).isEqualTo(record.nextAttemptAt());
        clock.advance(Duration.ofMinutes(1).minus(ReturnSchedule.EARLY_TOLERANCE));
        assertThat(returns.heldUntil(record, governor)).isEmpty();
    }

    @Test
    void aMailHeldByFlowControlShouldGoOnceItsDestinationIsNormalAgainOrForgotten() {
        Destination destination = suspendedFor(Duration.ofHours(2));
        DeferralRecord held = returns.defer(Optional.empty(), local(DeferralReason.SUSPENDED), Optional.empty(),
            destination.flowControl().state().until().orElseThrow()).record().orElseThrow();
        DeferralRecord failed = returns.defer(Optional.empty(), busy(), Optional.empty(), clock.instant()).record()
            .orElseThrow();

        assertThat(returns.heldUntil(held, governor)).isPresent();
        governor.resume(destination.name(), "over JMX");
        assertThat(destination.flowControl().state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(returns.heldUntil(held, governor)).isEmpty();
        assertThat(returns.heldUntil(failed, governor)).as("a failed attempt keeps its schedule").isPresent();
        clock.advance(Duration.ofHours(3));
        governor.forgetIdle(Duration.ofHours(1));
        DeferralRecord heldElsewhere = returns.defer(Optional.empty(), DeferralEvent.builder(clock.instant(),
            DeferralReason.SUSPENDED).destination("gone.example.com").rule("default").build(), Optional.empty(),
            clock.instant().plus(Duration.ofHours(1))).record().orElseThrow();
        assertThat(returns.heldUntil(heldElsewhere, governor)).isEmpty();
    }

    private Destination destination(FlowControlPolicy policy) {
        return governor.destination(MxRule.builder("yahoo").mxMasks("*.yahoodns.net").flowControl(policy).build(),
            "mta5.am0.yahoodns.net");
    }

    private Destination suspendedFor(Duration length) {
        Destination destination = destination(FlowControlPolicy.builder().addResponseRule(new ResponseRule("TSS04", 1,
            Optional.empty(), Reaction.suspend(length), "mx-rules.xml:3")).build());
        SmtpReply tss04 = SmtpReply.of(421, "4.7.0 [TSS04] deferred");
        destination.flowControl().observe(destination.flowControl().policy().match(tss04).orElseThrow(), tss04);
        assertThat(destination.flowControl().state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        return destination;
    }

    private DeferralEvent busy() {
        return DeferralEvent.builder(clock.instant(), DeferralReason.SMTP_TEMPORARY_FAILURE).message(BUSY.toString())
            .destination("mta5.am0.yahoodns.net").rule("yahoo").serverReply(BUSY).build();
    }

    private DeferralEvent local(DeferralReason reason) {
        return DeferralEvent.builder(clock.instant(), reason).destination("mta5.am0.yahoodns.net").rule("yahoo")
            .build();
    }
}

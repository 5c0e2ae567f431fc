package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final RetrySchedule schedule = RetrySchedule.parse(Optional.of("1 minute, 10 minutes"), Optional.of("2"));
    private final RetryPolicy policy = new RetryPolicy(schedule, Duration.ofDays(1), clock);

    @Test
    void failedAttemptShouldWaitAsTheScheduleSaysAndCountTheAttempt() {
        RetryPolicy.Decision decision = policy.onDeferred(Optional.empty(), temporaryFailure());

        assertThat(decision.retries()).isTrue();
        assertThat(decision.delay()).isEqualTo(Duration.ofMinutes(1));
        assertThat(decision.record().failedAttempts()).isEqualTo(1);
        assertThat(decision.record().smtpCode()).contains(451);
        assertThat(decision.record().nextAttemptAt()).contains(clock.instant().plus(Duration.ofMinutes(1)));
    }

    @Test
    void spentRetryBudgetShouldGiveUp() {
        DeferralRecord afterTwo = policy.onDeferred(Optional.of(policy.onDeferred(Optional.empty(), temporaryFailure())
            .record()), temporaryFailure()).record();

        RetryPolicy.Decision decision = policy.onDeferred(Optional.of(afterTwo), temporaryFailure());

        assertThat(decision.retries()).isFalse();
        assertThat(decision.bounceMessage()).startsWith("Too many retries failure. Bouncing after 2 retries.")
            .contains("Server busy");
    }

    @Test
    void localDeferralShouldNotSpendTheRetryBudgetAndWaitUntilTheDestinationIsReady() {
        Outcome quota = Outcome.deferred(DeferralReason.CONNECTION_QUOTA_REACHED,
            DeferralReason.CONNECTION_QUOTA_REACHED.message(), Optional.empty(), "mx1.example.com", "default",
            Optional.of(clock.instant().plusSeconds(7)));

        RetryPolicy.Decision decision = policy.onDeferred(Optional.empty(), quota);
        for (int i = 0; i < 50; i++) {
            decision = policy.onDeferred(Optional.of(decision.record()), quota);
        }

        assertThat(decision.retries()).isTrue();
        assertThat(decision.delay()).isEqualTo(Duration.ofSeconds(7));
        assertThat(decision.record().failedAttempts()).isZero();
        assertThat(decision.record().localDeferrals()).isEqualTo(51);
        assertThat(decision.record().message()).isEqualTo("Messages queued (connection quotas reached)");
    }

    @Test
    void localDeferralsShouldEndAtTheMaximumAge() {
        Outcome quota = Outcome.deferred(DeferralReason.CONNECTION_QUOTA_REACHED, "queued", Optional.empty(),
            "mx1.example.com", "default", Optional.of(clock.instant().plusSeconds(5)));
        RetryPolicy.Decision first = policy.onDeferred(Optional.empty(), quota);

        clock.advance(Duration.ofDays(1));
        RetryPolicy.Decision late = policy.onDeferred(Optional.of(first.record()), Outcome.deferred(
            DeferralReason.CONNECTION_QUOTA_REACHED, "queued", Optional.empty(), "mx1.example.com", "default",
            Optional.of(clock.instant().plusSeconds(5))));

        assertThat(late.retries()).isFalse();
        assertThat(late.bounceMessage()).contains("maximum age is PT24H");
    }

    @Test
    void aSuspensionLongerThanTheMaximumAgeShouldHoldTheMailUntilItsAgeThenBounce() {
        RetryPolicy fiveDays = new RetryPolicy(schedule, Duration.ofDays(5), clock);

        RetryPolicy.Decision first = fiveDays.onDeferred(Optional.empty(), suspendedFor(Duration.ofDays(7)));

        assertThat(first.retries()).isTrue();
        assertThat(first.delay()).isEqualTo(Duration.ofDays(5));
        assertThat(first.record().nextAttemptAt()).contains(clock.instant().plus(Duration.ofDays(5)));

        clock.advance(Duration.ofDays(5).minusMinutes(1));
        RetryPolicy.Decision early = fiveDays.onDeferred(Optional.of(first.record()), suspendedFor(Duration.ofDays(2)));

        assertThat(early.retries()).isTrue();
        assertThat(early.delay()).isEqualTo(Duration.ofMinutes(1));

        clock.advance(Duration.ofMinutes(1));
        RetryPolicy.Decision aged = fiveDays.onDeferred(Optional.of(early.record()), suspendedFor(Duration.ofDays(2)));

        assertThat(aged.retries()).isFalse();
        assertThat(aged.bounceMessage()).contains("maximum age is PT120H").contains("destination suspended");
    }

    @Test
    void aRetryScheduledAfterTheMaximumAgeShouldComeAtTheAgeInstead() {
        RetryPolicy tenMinutes = new RetryPolicy(RetrySchedule.parse(Optional.of("1 minute, 1 hour"),
            Optional.of("5")), Duration.ofMinutes(10), clock);
        RetryPolicy.Decision first = tenMinutes.onDeferred(Optional.empty(), temporaryFailure());
        clock.advance(Duration.ofMinutes(1));

        RetryPolicy.Decision second = tenMinutes.onDeferred(Optional.of(first.record()), temporaryFailure());

        assertThat(second.retries()).isTrue();
        assertThat(second.delay()).isEqualTo(Duration.ofMinutes(9));
        assertThat(second.record().failedAttempts()).isEqualTo(2);
    }

    private Outcome suspendedFor(Duration length) {
        return Outcome.deferred(DeferralReason.SUSPENDED, "Messages queued (destination suspended)", Optional.empty(),
            "mx1.example.com", "default", Optional.of(clock.instant().plus(length)));
    }

    private Outcome temporaryFailure() {
        return Outcome.deferred(DeferralReason.SMTP_TEMPORARY_FAILURE, "451 4.7.500 Server busy",
            Optional.of(SmtpReply.of(451, "4.7.500 Server busy")), "mx1.example.com", "default", Optional.empty());
    }
}

package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.testing.FakeScheduler;

import java.time.Duration;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class MessageRateTest {
    private final FakeScheduler ticker = new FakeScheduler();

    @Test
    void unlimitedRateShouldAlwaysGiveATokens() {
        MessageRate rate = new MessageRate(OptionalLong.empty(), ticker);

        for (int i = 0; i < 10_000; i++) {
            assertThat(rate.tryConsume()).isTrue();
        }
        assertThat(rate.timeUntilToken()).isZero();
    }

    @Test
    void burstShouldBeLimitedToOneMinutesShare() {
        MessageRate rate = new MessageRate(OptionalLong.of(600), ticker);

        int taken = 0;
        while (rate.tryConsume()) {
            taken++;
        }

        assertThat(taken).isEqualTo(10);
    }

    @Test
    void tokensShouldRefillAtTheHourlyRate() {
        MessageRate rate = new MessageRate(OptionalLong.of(3600), ticker);
        while (rate.tryConsume()) {
            // drain the burst
        }
        assertThat(rate.timeUntilToken()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));

        ticker.advance(Duration.ofSeconds(10));

        int taken = 0;
        while (rate.tryConsume()) {
            taken++;
        }
        assertThat(taken).isEqualTo(10);
    }

    @Test
    void anHourShouldNeverLetMoreThanTheRatePlusOneBurst() {
        MessageRate rate = new MessageRate(OptionalLong.of(1200), ticker);

        int taken = 0;
        for (int second = 0; second < 3600; second++) {
            while (rate.tryConsume()) {
                taken++;
            }
            ticker.advance(Duration.ofSeconds(1));
        }

        assertThat(taken).isBetween(1200, 1200 + 20);
    }

    @Test
    void slowRateShouldStillAllowOneMessage() {
        MessageRate rate = new MessageRate(OptionalLong.of(1), ticker);

        assertThat(rate.tryConsume()).isTrue();
        assertThat(rate.tryConsume()).isFalse();
        assertThat(rate.timeUntilToken()).isCloseTo(Duration.ofHours(1), Duration.ofSeconds(1));
    }

    @Test
    void refundShouldGiveTheTokenBack() {
        MessageRate rate = new MessageRate(OptionalLong.of(1), ticker);
        rate.tryConsume();

        rate.refund();

        assertThat(rate.tryConsume()).isTrue();
    }

    @Test
    void tokensShouldRefillByTheMonotonicTickerAndIgnoreWallClockSteps() {
        io.github.mxgovernor.testing.FakeClock wallClock = io.github.mxgovernor.testing.FakeClock.at(
            "2026-01-01T00:00:00Z");
        Governor governor = new Governor(wallClock, ticker, () -> 0.5);
        io.github.mxgovernor.flowcontrol.MessageBudget rate = governor.destination(io.github.mxgovernor.rules.MxRule.builder("slow").mxMasks("*")
            .messagesPerHour(60).build(), "mx.example.com").rate();
        assertThat(rate.tryConsume()).isTrue();

        wallClock.advance(Duration.ofHours(1));
        assertThat(rate.tryConsume()).as("a wall clock step gives no token").isFalse();

        ticker.advance(Duration.ofMinutes(1));
        assertThat(rate.tryConsume()).isTrue();
    }

    @Test
    void nonPositiveRateShouldBeRefused() {
        assertThatThrownBy(() -> new MessageRate(OptionalLong.of(0), ticker))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("messagesPerHour must be positive, was 0");
    }
}

package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class MessageRateTest {
    private final FakeClock clock = FakeClock.at("2026-01-01T00:00:00Z");

    @Test
    void unlimitedRateShouldAlwaysGiveATokens() {
        MessageRate rate = new MessageRate(OptionalLong.empty(), clock);

        for (int i = 0; i < 10_000; i++) {
            assertThat(rate.tryConsume()).isTrue();
        }
        assertThat(rate.timeUntilToken()).isZero();
    }

    @Test
    void burstShouldBeLimitedToOneMinutesShare() {
        MessageRate rate = new MessageRate(OptionalLong.of(600), clock);

        int taken = 0;
        while (rate.tryConsume()) {
            taken++;
        }

        assertThat(taken).isEqualTo(10);
    }

    @Test
    void tokensShouldRefillAtTheHourlyRate() {
        MessageRate rate = new MessageRate(OptionalLong.of(3600), clock);
        while (rate.tryConsume()) {
            // drain the burst
        }
        assertThat(rate.timeUntilToken()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));

        clock.advance(Duration.ofSeconds(10));

        int taken = 0;
        while (rate.tryConsume()) {
            taken++;
        }
        assertThat(taken).isEqualTo(10);
    }

    @Test
    void anHourShouldNeverLetMoreThanTheRatePlusOneBurst() {
        MessageRate rate = new MessageRate(OptionalLong.of(1200), clock);

        int taken = 0;
        for (int second = 0; second < 3600; second++) {
            while (rate.tryConsume()) {
                taken++;
            }
            clock.advance(Duration.ofSeconds(1));
        }

        assertThat(taken).isBetween(1200, 1200 + 20);
    }

    @Test
    void slowRateShouldStillAllowOneMessage() {
        MessageRate rate = new MessageRate(OptionalLong.of(1), clock);

        assertThat(rate.tryConsume()).isTrue();
        assertThat(rate.tryConsume()).isFalse();
        assertThat(rate.timeUntilToken()).isCloseTo(Duration.ofHours(1), Duration.ofSeconds(1));
    }

    @Test
    void refundShouldGiveTheTokenBack() {
        MessageRate rate = new MessageRate(OptionalLong.of(1), clock);
        rate.tryConsume();

        rate.refund();

        assertThat(rate.tryConsume()).isTrue();
    }

    @Test
    void nonPositiveRateShouldBeRefused() {
        assertThatThrownBy(() -> new MessageRate(OptionalLong.of(0), clock))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("messagesPerHour must be positive, was 0");
    }
}

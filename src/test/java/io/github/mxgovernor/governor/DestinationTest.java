package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;

import org.junit.jupiter.api.Test;

class DestinationTest {
    private final Destination destination = new Governor(FakeClock.at("2026-03-01T10:00:00Z"))
        .destination(MxRule.builder("all").mxMasks("*").build(), "mx1.example.com");

    @Test
    void deferralsShouldBeCountedByReason() {
        destination.recordDeferred(DeferralReason.CONNECTION_QUOTA_REACHED, 3);
        destination.recordDeferred(DeferralReason.SMTP_TEMPORARY_FAILURE, 2);
        destination.recordDeferred(DeferralReason.CONNECTION_QUOTA_REACHED, 1);

        assertThat(destination.deferredCount(DeferralReason.CONNECTION_QUOTA_REACHED)).isEqualTo(4);
        assertThat(destination.deferredCount(DeferralReason.SMTP_TEMPORARY_FAILURE)).isEqualTo(2);
        assertThat(destination.deferredCount(DeferralReason.RATE_LIMITED)).isZero();
        assertThat(destination.deferredCount()).isEqualTo(6);
    }

    @Test
    void aDestinationNeverDeferredShouldCountZeroForEveryReason() {
        for (DeferralReason reason : DeferralReason.values()) {
            assertThat(destination.deferredCount(reason)).as(reason.name()).isZero();
        }
        assertThat(destination.deferredCount()).isZero();
    }

    @Test
    void deferralsShouldNotCountAsDeliveredOrFailed() {
        destination.recordDeferred(DeferralReason.CONNECTION_FAILED, 1);

        assertThat(destination.deliveredCount()).isZero();
        assertThat(destination.failedCount()).isZero();
    }

    @Test
    void recordDeferredShouldRejectAMissingReason() {
        assertThatThrownBy(() -> destination.recordDeferred(null, 1))
            .isInstanceOf(NullPointerException.class)
            .hasMessage("reason");
    }

    @Test
    void deferredCountShouldRejectAMissingReason() {
        assertThatThrownBy(() -> destination.deferredCount(null))
            .isInstanceOf(NullPointerException.class)
            .hasMessage("reason");
    }
}

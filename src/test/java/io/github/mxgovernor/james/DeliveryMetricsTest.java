package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.FakeClock;

import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.junit.jupiter.api.Test;

class DeliveryMetricsTest {
    private final RecordingMetricFactory factory = new RecordingMetricFactory();
    private final Governor governor = new Governor(FakeClock.at("2026-03-01T10:00:00Z"));
    private final DeliveryMetrics metrics = new DeliveryMetrics(factory, governor.totals());

    @Test
    void everyEndShouldBeCountedInJamesMetricsAndTheGovernorsTotals() {
        metrics.delivered(3);
        metrics.deferred(DeferralReason.SUSPENDED, 2);
        metrics.deferred(DeferralReason.CONNECTION_QUOTA_REACHED, 1);
        metrics.bounced(1);

        assertThat(factory.countFor("mxgovernor.delivered")).isEqualTo(3);
        assertThat(factory.countFor("mxgovernor.deferred")).isEqualTo(3);
        assertThat(factory.countFor("mxgovernor.deferred.SUSPENDED")).isEqualTo(2);
        assertThat(factory.countFor("mxgovernor.deferred.CONNECTION_QUOTA_REACHED")).isEqualTo(1);
        assertThat(factory.countFor("mxgovernor.bounced")).isEqualTo(1);
        assertThat(governor.totals().delivered()).isEqualTo(3);
        assertThat(governor.totals().deferred(DeferralReason.SUSPENDED)).isEqualTo(2);
        assertThat(governor.totals().bounced()).isEqualTo(1);
    }

    @Test
    void attemptTimerShouldBePublishedUnderItsName() {
        metrics.startAttempt().stopAndPublish();

        assertThat(factory.executionTimesFor("mxgovernor.attempt")).hasSize(1);
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;

import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.junit.jupiter.api.Test;

class DeliveryMetricsTest {
    private final RecordingMetricFactory factory = new RecordingMetricFactory();
    private final Governor governor = new Governor(FakeClock.at("2026-03-01T10:00:00Z"));
    private final DeliveryMetrics metrics = new DeliveryMetrics(factory);

    @Test
    void everyEndTheGovernorCountsShouldBeCountedInJamesMetricsUnderTheSameName() {
        governor.addEndListener(metrics);
        Destination destination = governor.destination(MxRule.builder("default").mxMasks("*").build(), "mx1.example.com");

        destination.stats().recordDelivered(3);
        destination.stats().recordDeferred(DeferralReason.SUSPENDED, 2);
        governor.stats().recordDeferred(DeferralReason.DNS_TEMPORARY_FAILURE, 1);
        destination.stats().recordBounced(1);

        assertThat(factory.countFor("mxgovernor.delivered")).isEqualTo(3).isEqualTo(governor.stats().delivered());
        assertThat(factory.countFor("mxgovernor.deferred")).isEqualTo(3).isEqualTo(governor.stats().deferred());
        assertThat(factory.countFor("mxgovernor.deferred.SUSPENDED")).isEqualTo(2);
        assertThat(factory.countFor("mxgovernor.deferred.DNS_TEMPORARY_FAILURE")).isEqualTo(1);
        assertThat(factory.countFor("mxgovernor.deferred.CONNECTION_QUOTA_REACHED")).isZero();
        assertThat(factory.countFor("mxgovernor.bounced")).isEqualTo(1).isEqualTo(governor.stats().bounced());
    }

    @Test
    void attemptTimerShouldBePublishedUnderItsName() {
        metrics.startAttempt().stopAndPublish();

        assertThat(factory.executionTimesFor("mxgovernor.attempt")).hasSize(1);
    }
}

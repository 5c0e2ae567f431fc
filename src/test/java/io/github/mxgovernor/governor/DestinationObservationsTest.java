package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Instant;

import org.junit.jupiter.api.Test;

class DestinationObservationsTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final Destination destination = governor.destination(MxRule.builder("all").mxMasks("*").build(),
        "mx.example.com");

    @Test
    void lastReplyShouldBeTheLatestRecorded() {
        assertThat(destination.lastReply()).isEmpty();

        destination.recordReply(SmtpReply.of(250, "2.0.0 OK"), Instant.parse("2026-03-01T10:00:00Z"));
        destination.recordReply(SmtpReply.of(421, "4.7.0 Try again later"), Instant.parse("2026-03-01T10:01:00Z"));

        assertThat(destination.lastReply()).hasValueSatisfying(seen -> {
            assertThat(seen.reply().toString()).isEqualTo("421 4.7.0 Try again later");
            assertThat(seen.at()).isEqualTo(Instant.parse("2026-03-01T10:01:00Z"));
        });
    }

    @Test
    void tlsOutcomesShouldBeCountedEachOnItsOwn() {
        assertThat(destination.tlsCount(TlsOutcome.VERIFIED)).isZero();

        destination.recordTls(TlsOutcome.VERIFIED);
        destination.recordTls(TlsOutcome.VERIFIED);
        destination.recordTls(TlsOutcome.PLAINTEXT);

        assertThat(destination.tlsCount(TlsOutcome.VERIFIED)).isEqualTo(2);
        assertThat(destination.tlsCount(TlsOutcome.PLAINTEXT)).isEqualTo(1);
        assertThat(destination.tlsCount(TlsOutcome.FAILED)).isZero();
    }

    @Test
    void totalsShouldCountEveryEndByReason() {
        DeliveryTotals totals = governor.totals();

        totals.recordDelivered(3);
        totals.recordDeferred(DeferralReason.SUSPENDED, 2);
        totals.recordDeferred(DeferralReason.RATE_LIMITED, 1);
        totals.recordBounced(1);

        assertThat(totals.delivered()).isEqualTo(3);
        assertThat(totals.deferred()).isEqualTo(3);
        assertThat(totals.deferred(DeferralReason.SUSPENDED)).isEqualTo(2);
        assertThat(totals.bounced()).isEqualTo(1);
        assertThat(totals.deferredByReason()).hasSize(DeferralReason.values().length)
            .containsEntry(DeferralReason.RATE_LIMITED, 1L)
            .containsEntry(DeferralReason.TLS_POLICY_FAILURE, 0L);
    }
}

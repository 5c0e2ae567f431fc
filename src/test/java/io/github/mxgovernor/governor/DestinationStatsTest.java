package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.tls.SessionSecurity;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class DestinationStatsTest {
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages temporarily deferred");
    private static final ResponseRule SUSPEND_ON_TSS04 = new ResponseRule("TSS04", 1, Optional.empty(),
        Reaction.suspend(Duration.ofHours(2)), "mx-rules.xml:12");

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("yahoo").mxMasks("*.yahoodns.net")
        .flowControl(FlowControlPolicy.builder().addResponseRule(SUSPEND_ON_TSS04).build()).build();
    private final Destination destination = governor.destination(rule, "mta5.am0.yahoodns.net");

    @Test
    void recordShouldFeedFlowControlTheSignalAndTheRuleItsReplyMatched() {
        AttemptResult throttled = result(FlowSignal.THROTTLED, deferred(DeferralReason.SMTP_TEMPORARY_FAILURE, TSS04),
            Map.of(TSS04, SUSPEND_ON_TSS04));

        boolean reconnect = destination.record(throttled);

        assertThat(reconnect).isFalse();
        assertThat(destination.flowControl().state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(destination.flowControl().state().cause().reply()).contains(TSS04.toString());
        assertThat(destination.stats().failedAttempts(DeferralReason.SMTP_TEMPORARY_FAILURE)).isEqualTo(1);
        assertThat(destination.lastReply()).hasValueSatisfying(seen -> {
            assertThat(seen.reply()).isEqualTo(TSS04);
            assertThat(seen.at()).isEqualTo(clock.instant());
        });
    }

    @Test
    void recordShouldSayWhenAReconnectRuleFired() {
        ResponseRule reconnectRule = new ResponseRule("too many messages", 1, Optional.empty(),
            Reaction.reconnect(), "mx-rules.xml:13");
        Destination reconnecting = governor.destination(MxRule.builder("r").mxMasks("*.r.test")
            .flowControl(FlowControlPolicy.builder().addResponseRule(reconnectRule).build()).build(), "mx.r.test");
        SmtpReply full = SmtpReply.of(451, "4.7.0 too many messages on this connection");

        assertThat(reconnecting.record(result(FlowSignal.THROTTLED,
            deferred(DeferralReason.SMTP_TEMPORARY_FAILURE, full), Map.of(full, reconnectRule)))).isTrue();
    }

    @Test
    void aSucceededOrRefusedAttemptShouldNotCountAsFailed() {
        destination.record(result(FlowSignal.SUCCEEDED, RecipientVerdict.delivered(SmtpReply.of(250, "ok")),
            Map.of()));
        destination.record(result(FlowSignal.REFUSED, RecipientVerdict.permanentFailure("550 no such user",
            Optional.of(SmtpReply.of(550, "no such user"))), Map.of()));

        assertThat(destination.stats().failedAttempts()).isZero();
        assertThat(destination.lastReply().map(seen -> seen.reply().code())).contains(550);
    }

    @Test
    void aTlsPolicyFailureShouldCountAsAFailedAttemptAndAsTheFailedTlsOutcome() {
        destination.record(result(FlowSignal.FAILED, RecipientVerdict.temporaryFailure(
            DeferralReason.TLS_POLICY_FAILURE, "STARTTLS not offered", Optional.empty(), true), Map.of()));

        assertThat(destination.stats().failedAttempts(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(1);
        assertThat(destination.stats().tlsCount(TlsOutcome.FAILED)).isEqualTo(1);
        assertThat(governor.stats().failedAttemptsByCause()).containsEntry(DeferralReason.TLS_POLICY_FAILURE, 1L)
            .doesNotContainKeys(DeferralReason.CONNECTION_QUOTA_REACHED, DeferralReason.SUSPENDED);
        assertThat(destination.lastReply()).isEmpty();
    }

    @Test
    void sessionsShouldBeCountedByProtectionDaneVerifiedAsVerified() {
        destination.stats().recordSession(SessionSecurity.Protection.VERIFIED);
        destination.stats().recordSession(SessionSecurity.Protection.DANE_VERIFIED);
        destination.stats().recordSession(SessionSecurity.Protection.PLAINTEXT);
        destination.stats().recordMtaStsTestingFailure();

        assertThat(destination.stats().tlsCount(TlsOutcome.VERIFIED)).isEqualTo(2);
        assertThat(destination.stats().tlsCount(TlsOutcome.PLAINTEXT)).isEqualTo(1);
        assertThat(destination.stats().tlsCount(TlsOutcome.ENCRYPTED)).isZero();
        assertThat(destination.stats().tlsCount(TlsOutcome.MTA_STS_TESTING_FAILED)).isEqualTo(1);
        assertThat(governor.stats().tlsCount(TlsOutcome.VERIFIED)).isEqualTo(2);
    }

    @Test
    void endsShouldCountOnTheDestinationAndOnceInTheTotalsWhichListenersHear() {
        List<String> heard = new ArrayList<>();
        governor.addEndListener(new DestinationStats.EndListener() {
            @Override
            public void delivered(int recipients) {
                heard.add("delivered " + recipients);
            }

            @Override
            public void deferred(DeferralReason reason, int recipients) {
                heard.add(reason + " " + recipients);
            }

            @Override
            public void bounced(int recipients) {
                heard.add("bounced " + recipients);
            }
        });

        destination.stats().recordDelivered(3);
        destination.stats().recordDeferred(DeferralReason.SUSPENDED, 2);
        governor.stats().recordDeferred(DeferralReason.DNS_TEMPORARY_FAILURE, 1);
        destination.stats().recordBounced(1);
        destination.stats().recordDelivered(0);

        assertThat(destination.stats().delivered()).isEqualTo(3);
        assertThat(destination.stats().deferred()).isEqualTo(2);
        assertThat(destination.stats().deferredByReason()).hasSize(DeferralReason.values().length)
            .containsEntry(DeferralReason.SUSPENDED, 2L).containsEntry(DeferralReason.DNS_TEMPORARY_FAILURE, 0L);
        assertThat(destination.stats().bounced()).isEqualTo(1);
        assertThat(governor.stats().delivered()).isEqualTo(3);
        assertThat(governor.stats().deferred()).isEqualTo(3);
        assertThat(governor.stats().deferred(DeferralReason.DNS_TEMPORARY_FAILURE)).isEqualTo(1);
        assertThat(governor.stats().bounced()).isEqualTo(1);
        assertThat(heard).containsExactly("delivered 3", "SUSPENDED 2", "DNS_TEMPORARY_FAILURE 1", "bounced 1");
    }

    @Test
    void totalsShouldOutliveAForgottenDestination() {
        destination.stats().recordDelivered(5);
        clock.advance(Duration.ofHours(2));

        assertThat(governor.forgetIdle(Governor.FORGET_AFTER)).containsExactly(destination.name());
        assertThat(governor.stats().delivered()).isEqualTo(5);
    }

    @Test
    void aDeferralShouldCountOnlyAsADeferralAndNeedAReason() {
        destination.stats().recordDeferred(DeferralReason.CONNECTION_FAILED, 1);

        assertThat(destination.stats().delivered()).isZero();
        assertThat(destination.stats().bounced()).isZero();
        assertThat(destination.stats().failedAttempts()).isZero();
        assertThatThrownBy(() -> destination.stats().recordDeferred(null, 1))
            .isInstanceOf(NullPointerException.class).hasMessage("reason");
    }

    @Test
    void countsShouldNeverGoDownAndAFailedAttemptNeverHasALocalCause() {
        assertThatThrownBy(() -> destination.stats().recordDelivered(-1))
            .isInstanceOf(IllegalArgumentException.class).hasMessage("a count never goes down, was -1");
        assertThatThrownBy(() -> destination.stats().recordFailedAttempt(DeferralReason.RATE_LIMITED))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a failed attempt's cause is never a local reason, was RATE_LIMITED");
    }

    private static RecipientVerdict deferred(DeferralReason reason, SmtpReply reply) {
        return RecipientVerdict.temporaryFailure(reason, reply.toString(), Optional.of(reply), false);
    }

    private static AttemptResult result(FlowSignal signal, RecipientVerdict verdict,
                                        Map<SmtpReply, ResponseRule> matches) {
        Map<String, RecipientVerdict> verdicts = new LinkedHashMap<>();
        verdicts.put("a@yahoo.com", verdict);
        return new AttemptResult(verdicts, signal, matches, verdict.reply());
    }
}

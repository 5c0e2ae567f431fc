package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.EngineHarness.outcome;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.DestinationStats;
import io.github.mxgovernor.governor.TlsOutcome;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.tls.TlsProblem;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every recipient's end is counted once, under the name its meaning gives it, on the destination where the attempt
 * ended and in the governor's totals alike: a 421 under its deferral reason, a TLS policy failure as a deferral and
 * as a failed attempt, a bounce the retry budget decides as a bounce, never as a deferral too.
 */
class AttemptCountingTest {
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages temporarily deferred");

    private final EngineHarness harness = new EngineHarness();
    private final FakeSmtpSessions sessions = harness.sessions;

    @AfterEach
    void stop() {
        harness.close();
    }

    @Test
    void a421DuringTheTransactionShouldCountAsItsDeferralReasonAndOneFailedAttempt() {
        start();
        sessions.sendFails = transaction -> new SmtpSessionException(Stage.RCPT, Kind.REFUSED_BY_SERVER,
            "mx1.yahoo.test:25: server is closing the connection: " + TSS04, Optional.of(TSS04), null);

        Outcome outcome = harness.deliverNow("yahoo.test", "someone");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(outcome.record().orElseThrow().latest().smtpCode()).contains(421);
        for (DestinationStats stats : List.of(destination().stats(), harness.governor.stats())) {
            assertThat(stats.deferred(DeferralReason.SMTP_TEMPORARY_FAILURE)).isEqualTo(1);
            assertThat(stats.deferred()).isEqualTo(1);
            assertThat(stats.failedAttempts(DeferralReason.SMTP_TEMPORARY_FAILURE)).isEqualTo(1);
            assertThat(stats.failedAttempts()).isEqualTo(1);
            assertThat(stats.delivered()).isZero();
            assertThat(stats.bounced()).isZero();
        }
        assertThat(destination().lastReply().map(seen -> seen.reply())).contains(TSS04);
    }

    @Test
    void aTlsPolicyFailureOnEveryMxShouldBeADeferralByItsReasonAndAFailedAttemptOnEachHost() {
        harness.start(MxRule.builder("all").mxMasks("*"));
        harness.mx("strict.test", "mx1.strict.test", "mx2.strict.test");
        sessions.openFails = () -> new SmtpSessionException(Stage.STARTTLS, "STARTTLS not offered, but TLS mode"
            + " REQUIRED requires it", Optional.empty(), null, TlsProblem.NO_STARTTLS);

        Outcome outcome = harness.deliverNow("strict.test", "someone");

        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).startsWith("No MX host of strict.test met the TLS policy; last error:");
        Destination first = harness.destination("mx1.strict.test");
        Destination last = harness.destination("mx2.strict.test");
        assertThat(first.stats().failedAttempts(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(1);
        assertThat(first.stats().tlsCount(TlsOutcome.FAILED)).isEqualTo(1);
        assertThat(first.stats().deferred()).as("the part went on to the next MX host").isZero();
        assertThat(last.stats().failedAttempts(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(1);
        assertThat(last.stats().deferred(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(1);
        assertThat(harness.governor.stats().deferred(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(1);
        assertThat(harness.governor.stats().failedAttempts(DeferralReason.TLS_POLICY_FAILURE)).isEqualTo(2);
        assertThat(harness.governor.stats().bounced()).isZero();
    }

    @Test
    void aPermanentRefusalShouldCountAsBouncedNotAsAFailedAttempt() {
        start();
        sessions.rcptReplies = recipient -> SmtpReply.of(550, "5.1.1 no such user");

        Outcome outcome = harness.deliverNow("yahoo.test", "gone");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        for (DestinationStats stats : List.of(destination().stats(), harness.governor.stats())) {
            assertThat(stats.bounced()).isEqualTo(1);
            assertThat(stats.deferred()).isZero();
            assertThat(stats.failedAttempts()).isZero();
        }
    }

    @Test
    void aDeferralThatSpendsTheLastRetryShouldCountAsABounceOnly() {
        harness.start(MxRule.builder("all").mxMasks("*"), EngineHarness.settings()
            .retrySchedule(RetrySchedule.parse(Optional.of("1 minute"), Optional.of("1"))).build());
        harness.mx("yahoo.test", "mx1.yahoo.test");
        sessions.rcptReplies = recipient -> SmtpReply.of(451, "4.7.500 Server busy");
        DeferralRecord once = DeferralRecord.first(DeferralEvent.builder(harness.clock.instant(),
            DeferralReason.SMTP_TEMPORARY_FAILURE).destination("mx1.yahoo.test").rule("all").build(),
            Optional.of(harness.clock.instant()));

        Outcome outcome = outcome(harness.deliver(new DeliveryPart("m-to-yahoo.test", "yahoo.test",
            new SmtpTransaction("", List.of("busy@yahoo.test"), out -> out.write('x'), false), false,
            Optional.of(once))));

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcome.message()).startsWith("Too many retries failure. Bouncing after 1 retries.");
        assertThat(outcome.record().orElseThrow().status()).isEqualTo(DeferralRecord.Status.BOUNCED);
        for (DestinationStats stats : List.of(destination().stats(), harness.governor.stats())) {
            assertThat(stats.bounced()).isEqualTo(1);
            assertThat(stats.deferred()).isZero();
            assertThat(stats.failedAttempts(DeferralReason.SMTP_TEMPORARY_FAILURE)).isEqualTo(1);
        }
    }

    @Test
    void aFailedLookupShouldCountOnTheGovernorAsADeferralAndAFailedAttempt() {
        start();
        harness.dns.put("broken.test", MxResolution.temporaryFailure("SERVFAIL"));

        Outcome outcome = harness.deliverNow("broken.test", "someone");

        assertThat(outcome.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
        assertThat(harness.governor.stats().deferred(DeferralReason.DNS_TEMPORARY_FAILURE)).isEqualTo(1);
        assertThat(harness.governor.stats().failedAttempts(DeferralReason.DNS_TEMPORARY_FAILURE)).isEqualTo(1);
        assertThat(harness.governor.destinations()).isEmpty();
    }

    @Test
    void everyRecipientShouldEndOnceInTheTotals() {
        start();
        sessions.rcptReplies = recipient -> recipient.startsWith("gone") ? SmtpReply.of(550, "5.1.1 no such user")
            : recipient.startsWith("busy") ? SmtpReply.of(451, "4.3.0 try later") : SmtpReply.of(250, "2.1.5 ok");

        harness.deliver(new DeliveryPart("m1", "yahoo.test", new SmtpTransaction("", List.of("ok@yahoo.test",
            "gone@yahoo.test", "busy@yahoo.test", "ok2@yahoo.test"), out -> out.write('x'), true), false,
            Optional.empty())).join();
        harness.deliverNow("yahoo.test", "alone");
        harness.deliverNow("nowhere.test", "nobody");

        DestinationStats totals = harness.governor.stats();
        assertThat(totals.delivered()).isEqualTo(3);
        assertThat(totals.bounced()).as("gone@, and nobody@ whose domain has no host").isEqualTo(2);
        assertThat(totals.deferred()).isEqualTo(1);
        assertThat(totals.delivered() + totals.bounced() + totals.deferred()).isEqualTo(6);
        assertThat(destination().stats().delivered() + destination().stats().bounced()
            + destination().stats().deferred()).isEqualTo(5);
        assertThat(destination().stats().failedAttempts()).as("one recipient delivered: no failed attempt").isZero();
    }

    private void start() {
        harness.start(MxRule.builder("all").mxMasks("*").maxConnections(2));
        harness.mx("yahoo.test", "mx1.yahoo.test");
    }

    private Destination destination() {
        return harness.destination("mx1.yahoo.test");
    }
}

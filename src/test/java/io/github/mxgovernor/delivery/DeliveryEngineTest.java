package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.EngineHarness.LANE_WAIT;
import static io.github.mxgovernor.delivery.EngineHarness.kinds;
import static io.github.mxgovernor.delivery.EngineHarness.outcome;
import static io.github.mxgovernor.delivery.EngineHarness.part;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.DsnRequest;
import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine with fake sessions on fake time: routing, lanes, reuse, caps, waits, failures, replies. */
class DeliveryEngineTest {
    private final EngineHarness harness = new EngineHarness();
    private final FakeSmtpSessions sessions = harness.sessions;

    @AfterEach
    void stop() {
        harness.close();
    }

    @Test
    void deliverShouldReuseConnectionsUpToMaxMessagesPerConnection() {
        harness.start(rule("all", "*").maxConnections(1).maxMessagesPerConnection(3));
        harness.mx("example.com", "mx1.example.com");

        List<CompletableFuture<Map<String, Outcome>>> results = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            results.add(harness.deliver("example.com", "user" + i));
        }

        assertThat(results).allSatisfy(result -> assertThat(outcome(result).kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(sessions.peak.get()).isEqualTo(1);
        assertThat(sessions.transactionsPerSession).containsExactly(3, 3);
        assertThat(sessions.opened.get()).isEqualTo(3);
    }

    @Test
    void sessionBusyDuringHousekeepingShouldStillBeKeptForReuse() {
        harness.start(rule("all", "*").maxConnections(1));
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> first = harness.deliver("example.com", "first");

        harness.advance(DeliveryEngine.SWEEP_INTERVAL.multipliedBy(3));
        sessions.releaseAll();
        sessions.holdTransactions = false;
        Outcome second = harness.deliverNow("example.com", "second");

        assertThat(outcome(first).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(second.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(1);
        assertThat(sessions.transactionsPerSession).isEmpty();
    }

    @Test
    void connectionCapShouldHoldUnderLoad() {
        harness.start(rule("all", "*").maxConnections(2).maxMessagesPerConnection(5));
        harness.mx("a.test", "mx1.shared.test");
        harness.mx("b.test", "mx1.shared.test");
        sessions.holdTransactions = true;

        List<CompletableFuture<Map<String, Outcome>>> futures = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            futures.add(harness.deliver(i % 2 == 0 ? "a.test" : "b.test", "user" + i));
        }
        assertThat(sessions.openNow.get()).isEqualTo(2);
        sessions.releaseAll();

        assertThat(futures).allSatisfy(future -> assertThat(kinds(future.join())).containsOnly(Outcome.Kind.DELIVERED));
        assertThat(sessions.peak.get()).isEqualTo(2);
        assertThat(sessions.peakSending.get()).isEqualTo(2);
        assertThat(sessions.delivered).hasSize(300).doesNotHaveDuplicates();
    }

    @Test
    void sharedLimitsShouldHoldAcrossMxHosts() {
        harness.start(rule("provider", "*.provider.test").maxConnections(2).limitScope(LimitScope.SHARED));
        harness.mx("one.test", "mx1.provider.test");
        harness.mx("two.test", "mx2.provider.test");
        sessions.holdTransactions = true;

        CompletableFuture<Map<String, Outcome>> first = harness.deliver("one.test", "a");
        CompletableFuture<Map<String, Outcome>> second = harness.deliver("two.test", "b");
        CompletableFuture<Map<String, Outcome>> third = harness.deliver("two.test", "c");

        assertThat(sessions.openNow.get()).isEqualTo(2);
        assertThat(third).isNotDone();
        sessions.releaseAll();
        assertThat(outcome(third).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome(first).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome(second).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.peak.get()).isEqualTo(2);
    }

    @Test
    void partWaitingPastMaxLaneWaitShouldBeDeferredForTheQuota() {
        harness.start(rule("all", "*").maxConnections(1));
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> busy = harness.deliver("example.com", "first");
        CompletableFuture<Map<String, Outcome>> waiting = harness.deliver("example.com", "second");

        harness.advance(LANE_WAIT.minusMillis(300));
        assertThat(waiting).isNotDone();
        harness.advance(Duration.ofMillis(500));
        Outcome outcome = outcome(waiting);

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(outcome.message()).isEqualTo("Messages queued (connection quotas reached)");
        assertThat(outcome.destination()).isEqualTo("mx1.example.com");
        assertThat(outcome.nextAttemptAt().get()).isAfter(harness.clock.instant());
        assertThat(harness.destination("mx1.example.com").stats().deferred(DeferralReason.CONNECTION_QUOTA_REACHED))
            .isEqualTo(1);
        sessions.releaseAll();
        assertThat(outcome(busy).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void laneWaitsShouldFollowTheMonotonicTickerNotTheWallClock() {
        harness.start(rule("all", "*").maxConnections(1));
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;
        harness.deliver("example.com", "first");
        CompletableFuture<Map<String, Outcome>> waiting = harness.deliver("example.com", "second");

        harness.clock.advance(Duration.ofDays(1));
        harness.time.advance(Duration.ofSeconds(1));
        assertThat(waiting).as("a wall clock step expires nothing").isNotDone();

        harness.time.advance(LANE_WAIT);
        assertThat(outcome(waiting).reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
    }

    @Test
    void partArrivingAtAFullLaneShouldBeDeferredAtOnceSoOtherDestinationsKeepTheirSlots() {
        harness.start(rule("all", "*").maxConnections(1), EngineHarness.settings().laneCapacity(1).build());
        harness.mx("example.com", "mx1.example.com");
        harness.mx("other.com", "mx1.other.com");
        sessions.holdTransactions = true;
        harness.deliver("example.com", "first");
        CompletableFuture<Map<String, Outcome>> waiting = harness.deliver("example.com", "second");

        Outcome surplus = outcome(harness.deliver("example.com", "third"));

        assertThat(surplus.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(surplus.nextAttemptAt()).isPresent();
        assertThat(waiting).isNotDone();
        sessions.holdTransactions = false;
        sessions.releaseAll();
        assertThat(harness.deliverNow("other.com", "elsewhere").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome(waiting).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void partsTurnedAwayByAFullLaneShouldComeBackOnReturnSlotsAtTheLanesPace() {
        harness.start(rule("all", "*").maxConnections(1), EngineHarness.settings().laneCapacity(4).build());
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;
        List<CompletableFuture<Map<String, Outcome>>> accepted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            accepted.add(harness.deliver("example.com", "user" + i));
        }
        assertThat(harness.engine.waitingParts()).isEqualTo(4);
        // The session carries two parts, 200 ms each...
        harness.advance(DeliveryEngine.SWEEP_INTERVAL);
        sessions.releaseOne();
        harness.advance(DeliveryEngine.SWEEP_INTERVAL);
        sessions.releaseOne();
        assertThat(harness.engine.waitingParts()).isEqualTo(2);
        accepted.add(harness.deliver("example.com", "user5"));
        accepted.add(harness.deliver("example.com", "user6"));
        // ... so the lane's one connection serves 5 parts a second, one every 200 ms.

        Outcome first = outcome(harness.deliver("example.com", "surplus1"));
        Outcome second = outcome(harness.deliver("example.com", "surplus2"));

        // The 4 waiting parts go out within 800 ms, then one return slot every 200 ms.
        assertThat(first.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(first.nextAttemptAt()).contains(harness.clock.instant().plusMillis(800));
        assertThat(second.nextAttemptAt()).contains(harness.clock.instant().plusMillis(1000));
        sessions.releaseAll();
        assertThat(accepted).allSatisfy(future -> assertThat(kinds(future.join())).containsOnly(Outcome.Kind.DELIVERED));
    }

    @Test
    void partWithoutTokenShouldBeDeferredForTheRateUntilATokenIsDue() {
        harness.start(rule("slow", "*").messagesPerHour(60));
        harness.mx("example.com", "mx1.example.com");
        assertThat(harness.deliverNow("example.com", "first").kind()).isEqualTo(Outcome.Kind.DELIVERED);

        CompletableFuture<Map<String, Outcome>> waiting = harness.deliver("example.com", "second");
        harness.advance(LANE_WAIT.plusSeconds(1));
        Outcome outcome = outcome(waiting);

        assertThat(outcome.reason()).contains(DeferralReason.RATE_LIMITED);
        assertThat(outcome.nextAttemptAt().get()).isAfterOrEqualTo(harness.clock.instant().plusSeconds(28));
        assertThat(sessions.delivered).containsExactly("first@example.com");
    }

    @Test
    void aPartWaitingForATokenShouldGoWhenTheTokenIsDue() {
        // 60 an hour: a token a minute; the lane wakes when it is due
        harness.start(rule("slow", "*").messagesPerHour(60),
            EngineHarness.settings().maxLaneWait(Duration.ofMinutes(2)).build());
        harness.mx("example.com", "mx1.example.com");
        harness.deliverNow("example.com", "burst");
        CompletableFuture<Map<String, Outcome>> waiting = harness.deliver("example.com", "next");
        harness.time.advance(Duration.ofSeconds(59));
        assertThat(waiting).isNotDone();

        harness.time.advance(Duration.ofSeconds(2));

        assertThat(outcome(waiting).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void unreachableMxShouldFallBackToTheNextOne() {
        harness.start(rule("all", "*"));
        harness.mx("example.com", "mx1.example.com", "mx2.example.com");
        sessions.unreachableHosts.add("mx1.example.com");

        Outcome outcome = harness.deliverNow("example.com", "user");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.destination()).isEqualTo("mx2.example.com");
        assertThat(harness.connections("mx1.example.com")).isZero();
    }

    @Test
    void noReachableMxShouldDeferAsConnectionFailure() {
        harness.start(rule("all", "*"));
        harness.mx("example.com", "mx1.example.com", "mx2.example.com");
        sessions.unreachableHosts.add("mx1.example.com");
        sessions.unreachableHosts.add("mx2.example.com");

        Outcome outcome = harness.deliverNow("example.com", "user");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(outcome.message()).contains("No MX host of example.com could be reached");
        assertThat(outcome.nextAttemptAt()).as("a failed attempt waits as delayTime says (6 hours by default)")
            .contains(harness.clock.instant().plus(Duration.ofHours(6)));
        assertThat(outcome.record().orElseThrow().failedAttempts()).isEqualTo(1);
    }

    @Test
    void staleReusedSessionShouldRetryThePartOnAFreshOne() {
        harness.start(rule("all", "*").maxConnections(1));
        harness.mx("example.com", "mx1.example.com");
        assertThat(harness.deliverNow("example.com", "first").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        sessions.staleAfterFirstTransaction = true;

        Outcome outcome = harness.deliverNow("example.com", "second");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(2);
        assertThat(harness.connections("mx1.example.com")).isEqualTo(1);
    }

    @Test
    void repliesShouldDecideEachRecipientsEnd() {
        harness.start(rule("all", "*"));
        harness.mx("example.com", "mx1.example.com");
        sessions.rcptReplies = recipient -> recipient.startsWith("gone")
            ? SmtpReply.of(550, "5.1.1 no such user")
            : recipient.startsWith("busy") ? SmtpReply.of(451, "4.7.500 Server busy") : SmtpReply.of(250, "ok");

        Map<String, Outcome> outcomes = harness.deliver(EngineHarness.part("m1", "example.com", new SmtpTransaction(
            "sender@local.test", List.of("ok@example.com", "gone@example.com", "busy@example.com"),
            out -> out.write('x'), true), false)).join();

        assertThat(outcomes.get("ok@example.com").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcomes.get("gone@example.com").kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcomes.get("gone@example.com").reply()).contains(SmtpReply.of(550, "5.1.1 no such user"));
        assertThat(outcomes.get("busy@example.com").reason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
    }

    @Test
    void domainWithoutHostShouldBounceOrDeferAsMaxDnsProblemRetriesSays() {
        harness.start(rule("all", "*"));
        harness.dns.put("nowhere.test", MxResolution.noHost("no MX or A record"));

        Outcome bounced = outcome(harness.deliver(EngineHarness.part("m1", "nowhere.test", new SmtpTransaction("",
            List.of("a@nowhere.test"), out -> out.write('x'), false), false)));
        Outcome deferred = outcome(harness.deliver(EngineHarness.part("m2", "nowhere.test", new SmtpTransaction("",
            List.of("a@nowhere.test"), out -> out.write('x'), false), true)));

        assertThat(bounced.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(bounced.message()).contains("There are no DNS entries for the host name nowhere.test");
        assertThat(deferred.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
    }

    @Test
    void temporaryDnsFailureShouldDefer() {
        harness.start(rule("all", "*"));
        harness.dns.put("flaky.test", MxResolution.temporaryFailure("SERVFAIL"));

        Outcome outcome = harness.deliverNow("flaky.test", "a");

        assertThat(outcome.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
        assertThat(outcome.message()).contains("SERVFAIL");
    }

    @Test
    void aResolverThatThrowsShouldDeferForDns() {
        harness.resolver = domain -> {
            throw new IllegalStateException("resolver broken");
        };
        harness.start(rule("all", "*"));

        Outcome outcome = harness.deliverNow("broken.test", "a");

        assertThat(outcome.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
        assertThat(outcome.message()).contains("MX lookup failed: java.lang.IllegalStateException: resolver broken");
    }

    @Test
    void deliverShouldHandThePartsDsnRequestToTheSession() {
        harness.start(rule("all", "*"));
        harness.mx("example.com", "mx1.example.com");
        DsnRequest dsn = DsnRequest.builder().ret(DsnRequest.Ret.FULL).envelopeId("env-1")
            .recipient("a@example.com", new DsnRequest.Recipient(Set.of(DsnRequest.Notify.FAILURE), Optional.empty()))
            .build();

        harness.deliver(EngineHarness.part("m-to-example.com", "example.com", new SmtpTransaction(
            "sender@local.test", List.of("a@example.com"), out -> out.write('x'), false, dsn), false)).join();

        assertThat(sessions.transactions).singleElement().satisfies(transaction ->
            assertThat(transaction.dsn()).isEqualTo(dsn));
    }

    @Test
    void aLocallyRefusedMailShouldBounceWithOurExplanationAndNoReply() {
        harness.start(rule("all", "*"));
        harness.mx("example.com", "mx1.example.com");
        sessions.localRefusal = new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE,
            "the message is 30 bytes, more than the 10 bytes mx1.example.com accepts (SIZE)");

        Outcome outcome = harness.deliverNow("example.com", "a");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcome.reply()).isEmpty();
        assertThat(outcome.message()).isEqualTo("not sent: 5.3.4 the message is 30 bytes, more than the 10 bytes"
            + " mx1.example.com accepts (SIZE)");
    }

    @Test
    void dsnForAnAddressOutsideThePartShouldBeRefused() {
        DsnRequest dsn = DsnRequest.builder()
            .recipient("z@example.com", new DsnRequest.Recipient(Set.of(), Optional.of("z@old.test"))).build();

        assertThatThrownBy(() -> new SmtpTransaction("", List.of("a@example.com"), out -> { }, false, dsn))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("DSN parameters for z@example.com, which is not a recipient of the transaction"
                + " [a@example.com]");
    }

    @Test
    void idleSessionsShouldCloseAfterTheRulesIdleTimeoutOnTheTicker() {
        harness.start(rule("all", "*").idleTimeout(Duration.ofSeconds(60)));
        harness.mx("example.com", "mx1.example.com");
        harness.deliverNow("example.com", "a");
        assertThat(harness.engine.idleSessions()).isEqualTo(1);

        harness.clock.advance(Duration.ofHours(2));
        harness.time.advance(Duration.ofSeconds(59));
        assertThat(harness.engine.idleSessions()).as("a wall clock step closes nothing").isEqualTo(1);

        harness.time.advance(Duration.ofSeconds(2));
        assertThat(harness.engine.idleSessions()).isZero();
        assertThat(sessions.openNow.get()).isZero();
        assertThat(harness.connections("mx1.example.com")).isZero();
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");
    }

    @Test
    void deliveryThreadsShouldNotLimitHowManySessionsCarryMailAtOnce() {
        harness.start(rule("all", "*").maxConnections(10), EngineHarness.settings().deliveryThreads(1).build());
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;

        List<CompletableFuture<Map<String, Outcome>>> futures = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            futures.add(harness.deliver("example.com", "user" + i));
        }

        assertThat(sessions.sendingNow.get()).isEqualTo(10);
        assertThat(harness.engine.waitingParts()).isZero();
        sessions.releaseAll();
        assertThat(futures).allSatisfy(future -> assertThat(outcome(future).kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(harness.destination("mx1.example.com").stats().deferred()).isZero();
    }

    private static MxRule.Builder rule(String name, String mask) {
        return MxRule.builder(name).mxMasks(mask);
    }
}

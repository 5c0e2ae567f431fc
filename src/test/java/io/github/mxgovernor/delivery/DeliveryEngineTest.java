package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.DsnRequest;
import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeliveryEngineTest {
    private static final Duration LANE_WAIT = Duration.ofSeconds(30);

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final FakeSmtpSessions sessions = new FakeSmtpSessions();
    private final Map<String, MxResolution> dns = new HashMap<>();
    private DeliveryEngine engine;

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close(Duration.ofSeconds(2));
        }
    }

    @Test
    void deliverShouldReuseConnectionsUpToMaxMessagesPerConnection() throws Exception {
        start(rule("all", "*").maxConnections(1).maxMessagesPerConnection(3));
        mx("example.com", "mx1.example.com");

        List<Map<String, Outcome>> results = deliverAll("example.com", 7);

        assertThat(results).allSatisfy(outcomes -> assertThat(kinds(outcomes)).containsOnly(Outcome.Kind.DELIVERED));
        assertThat(sessions.peak.get()).isEqualTo(1);
        await().untilAsserted(() -> assertThat(sessions.transactionsPerSession).hasSizeGreaterThanOrEqualTo(2));
        assertThat(sessions.transactionsPerSession).allSatisfy(count -> assertThat(count).isLessThanOrEqualTo(3));
        assertThat(sessions.opened.get()).isEqualTo(3);
    }

    @Test
    void sessionBusyDuringHousekeepingShouldStillBeKeptForReuse() throws Exception {
        start(rule("all", "*").maxConnections(1));
        mx("example.com", "mx1.example.com");
        sessions.gate = new CountDownLatch(1);
        CompletableFuture<Map<String, Outcome>> first = engine.deliver(part("example.com", "first"));
        await().until(() -> sessions.openNow.get() == 1);

        engine.sweep();
        sessions.gate.countDown();
        assertThat(kinds(first.get(5, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
        Map<String, Outcome> second = engine.deliver(part("example.com", "second")).get(5, TimeUnit.SECONDS);

        assertThat(kinds(second)).containsOnly(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(1);
        assertThat(sessions.transactionsPerSession).isEmpty();
    }

    @Test
    void closeShouldAbortTransactionsStillRunningAfterTheGraceAndCompleteTheirParts() throws Exception {
        start(rule("all", "*").maxConnections(2));
        mx("example.com", "mx1.example.com");
        sessions.gate = new CountDownLatch(1);
        CompletableFuture<Map<String, Outcome>> inFlight = engine.deliver(part("example.com", "slow"));
        await().until(() -> sessions.openNow.get() == 1);

        engine.close(Duration.ofMillis(200));

        assertThat(inFlight).isDone();
        Outcome outcome = inFlight.join().values().iterator().next();
        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(outcome.message()).isEqualTo("Messages queued (delivery is stopping)");
        assertThat(sessions.aborted.get()).isEqualTo(1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1))
            .until(() -> sessions.transactions.isEmpty() && sessions.openNow.get() == 0);
    }

    @Test
    void partDispatchedWhenTheEngineClosesShouldNotOpenAConnection() throws Exception {
        start(rule("all", "*").maxConnections(1));
        mx("example.com", "mx1.example.com");
        sessions.gate = new CountDownLatch(1);
        CompletableFuture<Map<String, Outcome>> first = engine.deliver(part("example.com", "first"));
        await().until(() -> sessions.openNow.get() == 1);
        CompletableFuture<Map<String, Outcome>> waiting = engine.deliver(part("example.com", "waiting"));

        engine.close(Duration.ofMillis(100));

        assertThat(first).isDone();
        assertThat(waiting).isDone();
        assertThat(kinds(waiting.join())).containsOnly(Outcome.Kind.DEFERRED);
        assertThat(sessions.opened.get()).isEqualTo(1);
    }

    @Test
    void connectionCapShouldHoldUnderLoad() throws Exception {
        start(rule("all", "*").maxConnections(2).maxMessagesPerConnection(5));
        mx("a.test", "mx1.shared.test");
        mx("b.test", "mx1.shared.test");

        List<CompletableFuture<Map<String, Outcome>>> futures = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            futures.add(engine.deliver(part((i % 2 == 0 ? "a.test" : "b.test"), "user" + i)));
        }
        for (CompletableFuture<Map<String, Outcome>> future : futures) {
            assertThat(kinds(future.get(10, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
        }

        assertThat(sessions.peak.get()).isLessThanOrEqualTo(2);
        assertThat(sessions.delivered).hasSize(300).doesNotHaveDuplicates();
    }

    @Test
    void sharedLimitsShouldHoldAcrossMxHosts() throws Exception {
        start(rule("provider", "*.provider.test").maxConnections(2).limitScope(LimitScope.SHARED));
        mx("one.test", "mx1.provider.test");
        mx("two.test", "mx2.provider.test");
        sessions.gate = new CountDownLatch(1);

        CompletableFuture<Map<String, Outcome>> first = engine.deliver(part("one.test", "a"));
        CompletableFuture<Map<String, Outcome>> second = engine.deliver(part("two.test", "b"));
        CompletableFuture<Map<String, Outcome>> third = engine.deliver(part("two.test", "c"));
        await().until(() -> sessions.openNow.get() == 2);

        assertThat(third).isNotDone();
        sessions.gate.countDown();
        assertThat(kinds(third.get(5, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
        assertThat(first.get(5, TimeUnit.SECONDS)).isNotEmpty();
        assertThat(second.get(5, TimeUnit.SECONDS)).isNotEmpty();
        assertThat(sessions.peak.get()).isEqualTo(2);
    }

    @Test
    void partWaitingPastMaxLaneWaitShouldBeDeferredForTheQuota() throws Exception {
        start(rule("all", "*").maxConnections(1));
        mx("example.com", "mx1.example.com");
        sessions.gate = new CountDownLatch(1);
        CompletableFuture<Map<String, Outcome>> busy = engine.deliver(part("example.com", "first"));
        await().until(() -> sessions.openNow.get() == 1);
        CompletableFuture<Map<String, Outcome>> waiting = engine.deliver(part("example.com", "second"));

        clock.advance(LANE_WAIT.plusSeconds(1));
        Outcome outcome = waiting.get(5, TimeUnit.SECONDS).get("second@example.com");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(outcome.message()).isEqualTo("Messages queued (connection quotas reached)");
        assertThat(outcome.destination()).isEqualTo("mx1.example.com");
        assertThat(outcome.notBefore()).isPresent();
        assertThat(outcome.notBefore().get()).isAfter(clock.instant());
        assertThat(engine.governor().destinations()).singleElement()
            .satisfies(destination -> assertThat(destination.deferredCount(DeferralReason.CONNECTION_QUOTA_REACHED))
                .isEqualTo(1));
        sessions.gate.countDown();
        assertThat(kinds(busy.get(5, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
    }

    @Test
    void partArrivingAtAFullLaneShouldBeDeferredAtOnceSoOtherDestinationsKeepTheirSlots() throws Exception {
        startWith(rule("all", "*").maxConnections(1), EngineSettings.builder().heloName("test.local")
            .maxLaneWait(LANE_WAIT).laneCapacity(1).deliveryThreads(8).build());
        mx("example.com", "mx1.example.com");
        mx("other.com", "mx1.other.com");
        sessions.gate = new CountDownLatch(1);
        engine.deliver(part("example.com", "first"));
        await().until(() -> sessions.openNow.get() == 1);
        CompletableFuture<Map<String, Outcome>> waiting = engine.deliver(part("example.com", "second"));

        Outcome surplus = engine.deliver(part("example.com", "third")).get(5, TimeUnit.SECONDS)
            .get("third@example.com");

        assertThat(surplus.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(surplus.notBefore()).isPresent();
        assertThat(waiting).isNotDone();
        sessions.gate.countDown();
        assertThat(kinds(engine.deliver(part("other.com", "elsewhere")).get(5, TimeUnit.SECONDS)))
            .containsOnly(Outcome.Kind.DELIVERED);
        assertThat(kinds(waiting.get(5, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
    }

    @Test
    void partsTurnedAwayByAFullLaneShouldComeBackOnReturnSlotsAtTheLanesPace() throws Exception {
        startWith(rule("all", "*").maxConnections(1), EngineSettings.builder().heloName("test.local")
            .maxLaneWait(LANE_WAIT).laneCapacity(4).deliveryThreads(8).build());
        mx("example.com", "mx1.example.com");
        Semaphore replies = new Semaphore(0);
        sessions.rcptReplies = recipient -> {
            try {
                replies.tryAcquire(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return SmtpReply.of(250, "2.1.5 ok");
        };
        List<CompletableFuture<Map<String, Outcome>>> accepted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            accepted.add(engine.deliver(part("example.com", "user" + i)));
        }
        await().until(() -> engine.waitingParts() == 4);
        engine.sweep();
        // two parts taken into service within the backlogged second that follows
        replies.release(2);
        await().until(() -> engine.waitingParts() == 2);
        accepted.add(engine.deliver(part("example.com", "user5")));
        accepted.add(engine.deliver(part("example.com", "user6")));
        clock.advance(Duration.ofSeconds(1));
        engine.sweep();

        Outcome first = engine.deliver(part("example.com", "surplus1")).get(5, TimeUnit.SECONDS)
            .get("surplus1@example.com");
        Outcome second = engine.deliver(part("example.com", "surplus2")).get(5, TimeUnit.SECONDS)
            .get("surplus2@example.com");

        // 2 parts a second: the 4 waiting parts go out within 2 s, then one return slot every 500 ms
        assertThat(first.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(first.notBefore()).contains(clock.instant().plusMillis(2000));
        assertThat(second.notBefore()).contains(clock.instant().plusMillis(2500));
        replies.release(100);
        for (CompletableFuture<Map<String, Outcome>> future : accepted) {
            assertThat(kinds(future.get(5, TimeUnit.SECONDS))).containsOnly(Outcome.Kind.DELIVERED);
        }
    }

    @Test
    void partWithoutTokenShouldBeDeferredForTheRateUntilATokenIsDue() throws Exception {
        start(rule("slow", "*").messagesPerHour(60));
        mx("example.com", "mx1.example.com");
        assertThat(kinds(engine.deliver(part("example.com", "first")).get(5, TimeUnit.SECONDS)))
            .containsOnly(Outcome.Kind.DELIVERED);

        CompletableFuture<Map<String, Outcome>> waiting = engine.deliver(part("example.com", "second"));
        clock.advance(LANE_WAIT.plusSeconds(1));
        Outcome outcome = waiting.get(5, TimeUnit.SECONDS).get("second@example.com");

        assertThat(outcome.reason()).contains(DeferralReason.RATE_LIMITED);
        assertThat(outcome.notBefore().get()).isAfterOrEqualTo(clock.instant().plusSeconds(28));
        assertThat(sessions.delivered).containsExactly("first@example.com");
    }

    @Test
    void unreachableMxShouldFallBackToTheNextOne() throws Exception {
        start(rule("all", "*"));
        mx("example.com", "mx1.example.com", "mx2.example.com");
        sessions.unreachableHosts.add("mx1.example.com");

        Outcome outcome = engine.deliver(part("example.com", "user")).get(5, TimeUnit.SECONDS).get("user@example.com");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.destination()).isEqualTo("mx2.example.com");
    }

    @Test
    void noReachableMxShouldDeferAsConnectionFailure() throws Exception {
        start(rule("all", "*"));
        mx("example.com", "mx1.example.com", "mx2.example.com");
        sessions.unreachableHosts.add("mx1.example.com");
        sessions.unreachableHosts.add("mx2.example.com");

        Outcome outcome = engine.deliver(part("example.com", "user")).get(5, TimeUnit.SECONDS).get("user@example.com");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(outcome.message()).contains("No MX host of example.com could be reached");
        assertThat(outcome.notBefore()).isEmpty();
    }

    @Test
    void staleReusedSessionShouldRetryThePartOnAFreshOne() throws Exception {
        start(rule("all", "*").maxConnections(1));
        mx("example.com", "mx1.example.com");
        assertThat(kinds(engine.deliver(part("example.com", "first")).get(5, TimeUnit.SECONDS)))
            .containsOnly(Outcome.Kind.DELIVERED);
        sessions.staleAfterFirstTransaction = true;

        Outcome outcome = engine.deliver(part("example.com", "second")).get(5, TimeUnit.SECONDS)
            .get("second@example.com");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(2);
    }

    @Test
    void repliesShouldDecideEachRecipientsEnd() throws Exception {
        start(rule("all", "*"));
        mx("example.com", "mx1.example.com");
        sessions.rcptReplies = recipient -> recipient.startsWith("gone")
            ? SmtpReply.of(550, "5.1.1 no such user")
            : recipient.startsWith("busy") ? SmtpReply.of(451, "4.7.500 Server busy") : SmtpReply.of(250, "ok");

        Map<String, Outcome> outcomes = engine.deliver(new DeliveryPart("m1", "example.com", "sender@local.test",
            List.of("ok@example.com", "gone@example.com", "busy@example.com"), out -> out.write('x'), true, false))
            .get(5, TimeUnit.SECONDS);

        assertThat(outcomes.get("ok@example.com").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcomes.get("gone@example.com").kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcomes.get("gone@example.com").reply()).contains(SmtpReply.of(550, "5.1.1 no such user"));
        assertThat(outcomes.get("busy@example.com").reason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
    }

    @Test
    void domainWithoutHostShouldBounceOrDeferAsMaxDnsProblemRetriesSays() throws Exception {
        start(rule("all", "*"));
        dns.put("nowhere.test", MxResolution.noHost("no MX or A record"));

        Outcome bounced = engine.deliver(new DeliveryPart("m1", "nowhere.test", "", List.of("a@nowhere.test"),
            out -> out.write('x'), false, false)).get(5, TimeUnit.SECONDS).get("a@nowhere.test");
        Outcome deferred = engine.deliver(new DeliveryPart("m2", "nowhere.test", "", List.of("a@nowhere.test"),
            out -> out.write('x'), false, true)).get(5, TimeUnit.SECONDS).get("a@nowhere.test");

        assertThat(bounced.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(bounced.message()).contains("There are no DNS entries for the host name nowhere.test");
        assertThat(deferred.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
    }

    @Test
    void temporaryDnsFailureShouldDefer() throws Exception {
        start(rule("all", "*"));
        dns.put("flaky.test", MxResolution.temporaryFailure("SERVFAIL"));

        Outcome outcome = engine.deliver(part("flaky.test", "a")).get(5, TimeUnit.SECONDS).get("a@flaky.test");

        assertThat(outcome.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
        assertThat(outcome.message()).contains("SERVFAIL");
    }

    @Test
    void closingShouldDeferWaitingParts() throws Exception {
        start(rule("all", "*").maxConnections(1));
        mx("example.com", "mx1.example.com");
        sessions.gate = new CountDownLatch(1);
        engine.deliver(part("example.com", "first"));
        await().until(() -> sessions.openNow.get() == 1);
        CompletableFuture<Map<String, Outcome>> waiting = engine.deliver(part("example.com", "second"));

        sessions.gate.countDown();
        engine.close(Duration.ofSeconds(2));

        assertThat(waiting.get(5, TimeUnit.SECONDS)).isNotEmpty();
    }

    private MxRule.Builder rule(String name, String mask) {
        return MxRule.builder(name).mxMasks(mask);
    }

    @Test
    void deliverShouldHandThePartsDsnRequestToTheSession() throws Exception {
        start(rule("all", "*"));
        mx("example.com", "mx1.example.com");
        DsnRequest dsn = DsnRequest.builder().ret(DsnRequest.Ret.FULL).envelopeId("env-1")
            .recipient("a@example.com", new DsnRequest.Recipient(Set.of(DsnRequest.Notify.FAILURE), Optional.empty()))
            .build();

        engine.deliver(new DeliveryPart("m-to-example.com", "example.com", "sender@local.test",
            List.of("a@example.com"), out -> out.write('x'), false, false, dsn)).get(5, TimeUnit.SECONDS);

        assertThat(sessions.transactions).singleElement().satisfies(transaction ->
            assertThat(transaction.dsn()).isEqualTo(dsn));
    }

    @Test
    void aLocallyRefusedMailShouldBounceWithOurExplanationAndNoReply() throws Exception {
        start(rule("all", "*"));
        mx("example.com", "mx1.example.com");
        sessions.localRefusal = new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE,
            "the message is 30 bytes, more than the 10 bytes mx1.example.com accepts (SIZE)");

        Map<String, Outcome> outcomes = engine.deliver(part("example.com", "a")).get(5, TimeUnit.SECONDS);

        assertThat(outcomes.get("a@example.com")).satisfies(outcome -> {
            assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
            assertThat(outcome.reply()).isEmpty();
            assertThat(outcome.message()).isEqualTo("not sent: 5.3.4 the message is 30 bytes, more than the 10 bytes"
                + " mx1.example.com accepts (SIZE)");
        });
    }

    @Test
    void dsnForAnAddressOutsideThePartShouldBeRefused() {
        DsnRequest dsn = DsnRequest.builder()
            .recipient("z@example.com", new DsnRequest.Recipient(Set.of(), Optional.of("z@old.test"))).build();

        assertThatThrownBy(() -> new DeliveryPart("m", "example.com", "", List.of("a@example.com"), out -> { },
            false, false, dsn))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("DSN parameters for z@example.com, which is not a recipient of the part [a@example.com]");
    }

    private void start(MxRule.Builder rule) {
        startWith(rule, EngineSettings.builder().heloName("test.local").maxLaneWait(LANE_WAIT).deliveryThreads(8)
            .build());
    }

    private void startWith(MxRule.Builder rule, EngineSettings settings) {
        RuleSet rules = RuleSet.of(MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").build(), List.of(rule.build()));
        engine = new DeliveryEngine(new Governor(clock), rules, domain -> dns.getOrDefault(domain,
            MxResolution.noHost("unknown test domain")), sessions, new ReplyClassifier(), settings);
    }

    private void mx(String domain, String... hosts) throws Exception {
        List<SmtpEndpoint> endpoints = new ArrayList<>();
        int address = 2;
        for (String host : hosts) {
            endpoints.add(new SmtpEndpoint(host, InetAddress.getByName("127.0.0." + address++), 25));
        }
        dns.put(domain, MxResolution.found(endpoints));
    }

    private static DeliveryPart part(String domain, String localPart) {
        return new DeliveryPart(localPart + "-to-" + domain, domain, "sender@local.test",
            List.of(localPart + "@" + domain), out -> out.write("Subject: test\r\n\r\nhello\r\n".getBytes()), false, false);
    }

    private List<Map<String, Outcome>> deliverAll(String domain, int count) throws Exception {
        List<CompletableFuture<Map<String, Outcome>>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            futures.add(engine.deliver(part(domain, "user" + i)));
        }
        List<Map<String, Outcome>> results = new ArrayList<>();
        for (CompletableFuture<Map<String, Outcome>> future : futures) {
            results.add(future.get(10, TimeUnit.SECONDS));
        }
        return results;
    }

    private static List<Outcome.Kind> kinds(Map<String, Outcome> outcomes) {
        List<Outcome.Kind> kinds = new ArrayList<>();
        outcomes.values().forEach(outcome -> kinds.add(outcome.kind()));
        return kinds;
    }
}

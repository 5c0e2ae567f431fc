package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.BackoffLimits;
import io.github.mxgovernor.flowcontrol.ErrorRateTrigger;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The delivery engine under flow control, with in-memory SMTP sessions on fake time. */
class FlowControlDeliveryTest {
    private static final Duration LANE_WAIT = Duration.ofSeconds(30);
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily"
        + " deferred due to unexpected volume or user complaints");

    private final EngineHarness harness = new EngineHarness();
    private final FakeSmtpSessions sessions = harness.sessions;
    private final FakeClock clock = harness.clock;
    private final Governor governor = harness.governor;
    private DeliveryEngine engine;

    @AfterEach
    void stop() {
        harness.close();
    }

    @Test
    void suspendedDestinationShouldDeferAtOnceUntilTheSuspensionEndsWhileAnotherKeepsDelivering() {
        start(policy().addResponseRule(new ResponseRule("421 4\\.7\\.0 \\[TSS0[45]\\]", 1, Optional.empty(),
            Reaction.suspend(Duration.ofHours(2)), "mx-rules.xml:12")));
        mx("yahoo.test", "mx1.yahoo.test");
        mx("other.test", "mx1.other.test");
        sessions.rcptReplies = recipient -> recipient.endsWith("@yahoo.test") ? TSS04 : SmtpReply.of(250, "ok");

        Outcome first = deliver("yahoo.test", "first");
        assertThat(first.reason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        int openedBefore = sessions.opened.get();

        Outcome held = deliver("yahoo.test", "second");
        Outcome elsewhere = deliver("other.test", "someone");

        Instant end = clock.instant().plus(Duration.ofHours(2));
        assertThat(held.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(held.reason()).contains(DeferralReason.SUSPENDED);
        assertThat(held.nextAttemptAt().get()).isAfterOrEqualTo(end)
            .isBeforeOrEqualTo(end.plus(Duration.ofMinutes(12)).plus(Duration.ofMinutes(15)));
        assertThat(held.message()).startsWith("Messages queued (destination suspended): mx1.yahoo.test in SUSPENDED"
            + " until ").endsWith("(a reply matching '421 4\\.7\\.0 \\[TSS0[45]\\]', mx-rules.xml:12)");
        assertThat(held.destination()).isEqualTo("mx1.yahoo.test");
        assertThat(elsewhere.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(openedBefore + 1);
        assertThat(governor.flowControlStatus()).extracting(FlowControlStatus::destination)
            .containsExactly("mx1.yahoo.test");
    }

    @Test
    void suspensionShouldDeferThePartsAlreadyWaitingInTheLane() {
        start(policy());
        mx("example.test", "mx1.example.test");
        CompletableFuture<Map<String, Outcome>> waiting;
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> busy = engine.deliver(part("example.test", "busy"));
        assertThat(sessions.openNow.get()).isEqualTo(1);
        governor.backoff("mx1.example.test", clock.instant().plus(Duration.ofHours(1)), "test");
        waiting = engine.deliver(part("example.test", "waiting"));

        governor.suspend("mx1.example.test", clock.instant().plus(Duration.ofHours(1)), "abuse desk asked");
        sessions.releaseAll();

        Outcome outcome = EngineHarness.outcome(waiting);
        assertThat(outcome.reason()).contains(DeferralReason.SUSPENDED);
        assertThat(outcome.nextAttemptAt().get()).isAfterOrEqualTo(clock.instant().plus(Duration.ofHours(1)));
        assertThat(outcome.message()).contains("an operator suspended: abuse desk asked");
        assertThat(EngineHarness.outcome(busy).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void backoffShouldRunAtTheBackoffRateAndDeferTheRestForDynamicFlowControl() {
        start(policy().backoff(new BackoffLimits(OptionalInt.of(1), OptionalInt.empty(), OptionalLong.of(60)))
            .addResponseRule(new ResponseRule("421[- ]4\\.7\\.28 .*unusual rate", 1, Optional.empty(),
                Reaction.backoff(Optional.of(Duration.ofMinutes(30))), "mx-rules.xml:20")));
        mx("gmail.test", "mx1.gmail.test");
        AtomicInteger replies = new AtomicInteger();
        sessions.rcptReplies = recipient -> replies.getAndIncrement() == 0
            ? SmtpReply.of(421, "4.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail")
            : SmtpReply.of(250, "ok");
        assertThat(deliver("gmail.test", "throttled").reason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        Instant end = clock.instant().plus(Duration.ofMinutes(30));

        List<CompletableFuture<Map<String, Outcome>>> futures = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            futures.add(engine.deliver(part("gmail.test", "user" + i)));
        }
        assertThat(sessions.delivered).hasSize(1);
        harness.advance(LANE_WAIT.plusSeconds(1));
        List<Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            outcomes.add(EngineHarness.outcome(futures.get(i)));
        }

        assertThat(outcomes).filteredOn(outcome -> outcome.kind() == Outcome.Kind.DELIVERED).hasSize(1);
        assertThat(outcomes).filteredOn(outcome -> outcome.kind() == Outcome.Kind.DEFERRED).hasSize(2)
            .allSatisfy(outcome -> {
                assertThat(outcome.reason()).contains(DeferralReason.DYNAMIC_FLOW_CONTROL);
                assertThat(outcome.message()).startsWith("Messages queued (dynamic flow control): mx1.gmail.test in"
                    + " BACKOFF until " + end);
                assertThat(outcome.nextAttemptAt().get()).isAfterOrEqualTo(end);
            });
    }

    @Test
    void oneMxHostsFailuresShouldNotBackOffItsHealthySiblings() {
        start(policy().errorRate(Optional.of(errorRate(3, 0.4))));
        mx("example.test", "mx1.example.test", "mx2.example.test");
        sessions.unreachableHosts.add("mx1.example.test");

        for (int i = 0; i < 4; i++) {
            assertThat(deliver("example.test", "user" + i).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        }

        assertThat(governor.flowControlStatus("mx1.example.test").get().state()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(governor.flowControlStatus("mx2.example.test").get().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void sharedDestinationShouldCountTheFailuresOfEveryMxHost() {
        // One mail per connection, so that every mail tries the unreachable host first.
        startWith(MxRule.builder("provider").mxMasks("*.example.test").limitScope(LimitScope.SHARED)
            .maxMessagesPerConnection(1)
            .flowControl(policy().errorRate(Optional.of(errorRate(6, 0.4))).build()));
        mx("example.test", "mx1.example.test", "mx2.example.test");
        sessions.unreachableHosts.add("mx1.example.test");

        for (int i = 0; i < 3; i++) {
            deliver("example.test", "user" + i);
        }

        FlowControlStatus status = governor.flowControlStatus("shared:provider").orElseThrow();
        assertThat(status.state()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(status.cause().description()).isEqualTo("3 of 6 attempts failed within PT5M, above the ratio 0.4");
    }

    @Test
    void textsOfOurOwnMakingShouldNeverMatchAResponseRule() {
        start(policy().addResponseRule(new ResponseRule("Connection refused", 1, Optional.empty(),
            Reaction.suspend(Duration.ofHours(1)), "mx-rules.xml:3")));
        mx("example.test", "mx1.example.test");
        sessions.unreachableHosts.add("mx1.example.test");

        Outcome outcome = deliver("example.test", "user");

        assertThat(outcome.message()).contains("Connection refused");
        assertThat(governor.flowControlStatus("mx1.example.test").get().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void reconnectRuleShouldRetryTheMailOnAFreshConnection() {
        start(policy().addResponseRule(new ResponseRule("Max message per connection reached", 1, Optional.empty(),
            Reaction.reconnect(), "mx-rules.xml:5")));
        mx("yahoo.test", "mx1.yahoo.test");
        AtomicInteger replies = new AtomicInteger();
        sessions.rcptReplies = recipient -> replies.getAndIncrement() == 0
            ? SmtpReply.of(451, "Max message per connection reached, closing transmission channel")
            : SmtpReply.of(250, "ok");

        Outcome outcome = deliver("yahoo.test", "user");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened.get()).isEqualTo(2);
        assertThat(governor.flowControlStatus("mx1.yahoo.test").get().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void resumedDestinationShouldDeliverAgain() {
        start(policy());
        mx("example.test", "mx1.example.test");
        assertThat(deliver("example.test", "first").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        governor.suspend("mx1.example.test", clock.instant().plus(Duration.ofDays(1)), null);
        assertThat(deliver("example.test", "held").reason()).contains(DeferralReason.SUSPENDED);

        governor.resume("mx1.example.test", "all clear");

        assertThat(deliver("example.test", "again").kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    private static FlowControlPolicy.Builder policy() {
        return FlowControlPolicy.builder().errorRate(Optional.empty());
    }

    private static ErrorRateTrigger errorRate(int minAttempts, double ratio) {
        return new ErrorRateTrigger(minAttempts, ratio, Duration.ofMinutes(5),
            Reaction.backoff(Optional.of(Duration.ofMinutes(15))));
    }

    private void start(FlowControlPolicy.Builder policy) {
        startWith(MxRule.builder("all").mxMasks("*").flowControl(policy.build()));
    }

    private void startWith(MxRule.Builder rule) {
        engine = harness.start(rule).engine;
    }

    private void mx(String domain, String... hosts) {
        harness.mx(domain, hosts);
    }

    private Outcome deliver(String domain, String localPart) {
        return harness.deliverNow(domain, localPart);
    }

    private static DeliveryPart part(String domain, String localPart) {
        return EngineHarness.part(domain, localPart);
    }
}

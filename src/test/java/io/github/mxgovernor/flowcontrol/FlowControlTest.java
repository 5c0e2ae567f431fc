package io.github.mxgovernor.flowcontrol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FlowControlTest {
    private static final DeliveryLimits NORMAL = new DeliveryLimits(10, 100, OptionalLong.of(3600));
    private static final SmtpReply UNUSUAL_RATE = SmtpReply.of(421,
        "4.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail");
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily"
        + " deferred due to unexpected volume or user complaints");

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final List<FlowControlEvent> events = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> budgetsMade = Collections.synchronizedList(new ArrayList<>());
    private double randomValue;

    private FlowControl flow(FlowControlPolicy policy) {
        return new FlowControl("mx.example.com", policy, NORMAL, clock, perHour -> {
            budgetsMade.add(perHour);
            return new CountingBudget();
        }, events::add, () -> randomValue);
    }

    private static FlowControlPolicy.Builder policy() {
        return FlowControlPolicy.builder().errorRate(Optional.of(new ErrorRateTrigger(4, 0.5, Duration.ofMinutes(5),
            Reaction.backoff(Optional.of(Duration.ofMinutes(15))))))
            .recovery(new Recovery(3, Duration.ofMinutes(10)))
            .adaptive(new AdaptiveConcurrency(false, 0.5));
    }

    private static ResponseRule response(String match, int threshold, Reaction reaction) {
        return new ResponseRule(match, threshold, threshold == 1 ? Optional.empty() : Optional.of(Duration.ofHours(1)),
            reaction, "mx-rules.xml:7");
    }

    /** A server reply, matched against the rules as the reply classifier does, then counted. */
    private static boolean observe(FlowControl flow, SmtpReply reply) {
        return flow.policy().match(reply).map(rule -> flow.observe(rule, reply)).orElse(false);
    }

    private static void attempts(FlowControl flow, FlowSignal result, int count) {
        for (int i = 0; i < count; i++) {
            flow.recordAttempt(result);
        }
    }

    @Test
    void flowControlShouldStartNormalWithTheRulesLimits() {
        FlowControl flow = flow(policy().build());
        CountingBudget normalBudget = new CountingBudget();

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(flow.state().cause().kind()).isEqualTo(FlowCause.Kind.INITIAL);
        assertThat(flow.maxConnections()).isEqualTo(10);
        assertThat(flow.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(flow.budget(normalBudget)).isSameAs(normalBudget);
        assertThat(events).isEmpty();
    }

    @Test
    void errorRateShouldNotFireBelowMinAttempts() {
        FlowControl flow = flow(policy().build());

        attempts(flow, FlowSignal.FAILED, 3);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void errorRateShouldFireAtMinAttemptsWhenTheRatioIsAbove() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.SUCCEEDED, 1);

        attempts(flow, FlowSignal.FAILED, 3);

        FlowState state = flow.state();
        assertThat(state.kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(state.cause().kind()).isEqualTo(FlowCause.Kind.ERROR_RATE);
        assertThat(state.cause().description()).isEqualTo("3 of 4 attempts failed within PT5M, above the ratio 0.5");
        assertThat(state.until()).contains(clock.instant().plus(Duration.ofMinutes(15)));
        assertThat(events).singleElement().satisfies(event -> {
            assertThat(event.from()).isEqualTo(FlowState.Kind.NORMAL);
            assertThat(event.to()).isEqualTo(FlowState.Kind.BACKOFF);
            assertThat(event.destination()).isEqualTo("mx.example.com");
        });
    }

    @Test
    void errorRateShouldNotFireAtExactlyTheRatio() {
        FlowControl flow = flow(policy().build());

        attempts(flow, FlowSignal.SUCCEEDED, 2);
        attempts(flow, FlowSignal.FAILED, 2);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void errorRateShouldCountPermanentRefusalsAsAttemptsButNotAsFailures() {
        FlowControl flow = flow(policy().build());

        attempts(flow, FlowSignal.REFUSED, 2);
        attempts(flow, FlowSignal.FAILED, 2);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void errorRateShouldForgetAttemptsOlderThanTheWindow() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.FAILED, 3);

        clock.advance(Duration.ofMinutes(5).plusSeconds(1));
        attempts(flow, FlowSignal.FAILED, 3);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        attempts(flow, FlowSignal.FAILED, 1);
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
    }

    @Test
    void backoffShouldRunWithTheBackoffLimitsAndABudgetOfItsOwn() {
        FlowControl flow = flow(policy().backoff(new BackoffLimits(OptionalInt.of(2), OptionalInt.of(10),
            OptionalLong.of(600))).build());
        CountingBudget normalBudget = new CountingBudget();

        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.maxConnections()).isEqualTo(2);
        assertThat(flow.maxMessagesPerConnection()).isEqualTo(10);
        assertThat(budgetsMade).containsExactly(600L);
        assertThat(flow.budget(normalBudget)).isNotSameAs(normalBudget);
    }

    @Test
    void backoffShouldKeepTheNormalBudgetWhenItDoesNotLowerTheRate() {
        FlowControl flow = flow(policy().build());
        CountingBudget normalBudget = new CountingBudget();

        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.maxConnections()).isEqualTo(1);
        assertThat(flow.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(flow.budget(normalBudget)).isSameAs(normalBudget);
        assertThat(budgetsMade).isEmpty();
    }

    @Test
    void backoffShouldEndWhenItsDurationIsOver() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.FAILED, 4);

        clock.advance(Duration.ofMinutes(15).minusMillis(1));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        clock.advance(Duration.ofMillis(1));

        FlowState state = flow.state();
        assertThat(state.kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(state.cause().kind()).isEqualTo(FlowCause.Kind.EXPIRED);
        assertThat(flow.maxConnections()).isEqualTo(10);
        assertThat(events).extracting(FlowControlEvent::to).containsExactly(FlowState.Kind.BACKOFF,
            FlowState.Kind.NORMAL);
    }

    @Test
    void backoffShouldEndEarlyAfterTheProbesSucceedInARow() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.FAILED, 4);
        clock.advance(Duration.ofMinutes(6));

        attempts(flow, FlowSignal.SUCCEEDED, 2);
        attempts(flow, FlowSignal.FAILED, 1);
        attempts(flow, FlowSignal.SUCCEEDED, 2);
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(flow.status("r").probesSucceeded()).isEqualTo(2);
        attempts(flow, FlowSignal.SUCCEEDED, 1);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(flow.state().cause().kind()).isEqualTo(FlowCause.Kind.PROBES);
        assertThat(flow.state().cause().description()).isEqualTo("3 successful deliveries in a row");
    }

    @Test
    void backoffWithoutProbesShouldEndByTimeOnly() {
        FlowControl flow = flow(policy().recovery(new Recovery(0, Duration.ZERO)).build());
        attempts(flow, FlowSignal.FAILED, 4);

        attempts(flow, FlowSignal.SUCCEEDED, 100);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
    }

    @Test
    void backoffWithoutDurationShouldLastUntilTheProbesSucceed() {
        FlowControl flow = flow(policy().addResponseRule(response("4\\.7\\.28", 1,
            Reaction.backoff(Optional.empty()))).build());

        observe(flow, UNUSUAL_RATE);
        clock.advance(Duration.ofDays(30));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(flow.state().until()).isEmpty();
        attempts(flow, FlowSignal.SUCCEEDED, 3);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void immediateResponseRuleShouldSuspendUntilTheDurationAtTheLeastJitter() {
        FlowControl flow = flow(policy().addResponseRule(response("421 4\\.7\\.0 \\[TSS04\\]", 1,
            Reaction.suspend(Duration.ofHours(2)))).build());
        randomValue = 0;

        boolean reconnect = observe(flow, TSS04);

        FlowState state = flow.state();
        assertThat(reconnect).isFalse();
        assertThat(state.kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(state.until()).contains(clock.instant().plus(Duration.ofHours(2)));
        assertThat(state.cause().kind()).isEqualTo(FlowCause.Kind.RESPONSE_RULE);
        assertThat(state.cause().source()).contains("mx-rules.xml:7");
        assertThat(state.cause().reply()).contains(TSS04.toString());
        assertThat(flow.maxConnections()).isZero();
        assertThat(flow.maxMessagesPerConnection()).isZero();
        assertThat(flow.budget(new CountingBudget()).tryConsume()).isFalse();
    }

    @Test
    void suspensionEndShouldBeJitteredByAtMostATenthOfItsDuration() {
        FlowControl flow = flow(policy().addResponseRule(response("TSS04", 1,
            Reaction.suspend(Duration.ofHours(2)))).build());
        randomValue = 0.9999;

        observe(flow, TSS04);

        Instant end = flow.state().until().orElseThrow();
        assertThat(end).isAfter(clock.instant().plus(Duration.ofHours(2)))
            .isBefore(clock.instant().plus(Duration.ofMinutes(132)));
    }

    @Test
    void responseRuleShouldFireWhenItsThresholdIsReachedWithinTheWindow() {
        FlowControl flow = flow(policy().addResponseRule(response("421[- ]4\\.7\\.28 .*unusual rate", 2,
            Reaction.backoff(Optional.of(Duration.ofMinutes(30))))).build());

        observe(flow, UNUSUAL_RATE);
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        clock.advance(Duration.ofMinutes(50));
        observe(flow, UNUSUAL_RATE);

        FlowState state = flow.state();
        assertThat(state.kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(state.cause().description())
            .isEqualTo("2 replies matching '421[- ]4\\.7\\.28 .*unusual rate' within PT1H");
        assertThat(state.until()).contains(clock.instant().plus(Duration.ofMinutes(30)));
    }

    @Test
    void responseRuleShouldNotFireWhenTheMatchesAreFurtherApartThanTheWindow() {
        FlowControl flow = flow(policy().addResponseRule(response("4\\.7\\.28", 2,
            Reaction.backoff(Optional.of(Duration.ofMinutes(30))))).build());

        observe(flow, UNUSUAL_RATE);
        clock.advance(Duration.ofMinutes(61));
        observe(flow, UNUSUAL_RATE);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void responseRulesShouldMatchCaseInsensitivelyAndOnlyTheFirstMatchingRuleCounts() {
        FlowControl flow = flow(policy()
            .addResponseRule(response("SERVER BUSY", 1, Reaction.limitConnections(2, Optional.of(Duration.ofHours(1)))))
            .addResponseRule(response("4\\.7\\.500", 1, Reaction.suspend(Duration.ofHours(1))))
            .build());

        observe(flow, SmtpReply.of(451, "4.7.500 Server busy. Please try again later"));

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(flow.maxConnections()).isEqualTo(2);
        assertThat(flow.maxMessagesPerConnection()).isEqualTo(100);
    }

    @Test
    void positiveRepliesShouldNeverMatch() {
        FlowControl flow = flow(policy().addResponseRule(response("ok", 1, Reaction.suspend(Duration.ofHours(1))))
            .build());

        observe(flow, SmtpReply.of(250, "2.0.0 ok queued"));

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void reconnectShouldAskToCloseTheConnectionWithoutChangingTheState() {
        FlowControl flow = flow(policy().addResponseRule(response("Max message per connection reached", 1,
            Reaction.reconnect())).build());

        assertThat(observe(flow, SmtpReply.of(421, "Max message per connection reached, closing transmission"
            + " channel"))).isTrue();
        assertThat(observe(flow, SmtpReply.of(451, "something else"))).isFalse();

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(events).isEmpty();
    }

    @Test
    void limitMessagesPerConnectionShouldLowerOnlyThatLimit() {
        FlowControl flow = flow(policy().addResponseRule(response("exceeded maximum number of messages per connection",
            1, Reaction.limitMessagesPerConnection(20, Optional.of(Duration.ofHours(1))))).build());

        observe(flow, SmtpReply.of(451, "4.4.0 exceeded maximum number of messages per connection"));

        assertThat(flow.maxMessagesPerConnection()).isEqualTo(20);
        assertThat(flow.maxConnections()).isEqualTo(10);
    }

    @Test
    void secondBackoffShouldTightenAndExtendTheFirst() {
        FlowControl flow = flow(policy()
            .addResponseRule(response("A", 1, Reaction.limitConnections(3, Optional.of(Duration.ofHours(1)))))
            .addResponseRule(response("B", 1, Reaction.limitMessagesPerConnection(5, Optional.of(Duration.ofMinutes(10)))))
            .build());
        observe(flow, SmtpReply.of(451, "A"));
        Instant firstEnd = flow.state().until().orElseThrow();

        clock.advance(Duration.ofMinutes(5));
        observe(flow, SmtpReply.of(451, "B"));

        assertThat(flow.maxConnections()).isEqualTo(3);
        assertThat(flow.maxMessagesPerConnection()).isEqualTo(5);
        assertThat(flow.state().until()).contains(firstEnd);
        assertThat(events).extracting(FlowControlEvent::to).containsExactly(FlowState.Kind.BACKOFF,
            FlowState.Kind.BACKOFF);
    }

    @Test
    void backoffThatIsNoStricterShouldChangeNothing() {
        FlowControl flow = flow(policy().addResponseRule(response("A", 1,
            Reaction.limitConnections(3, Optional.of(Duration.ofHours(1))))).build());
        observe(flow, SmtpReply.of(451, "A"));
        FlowState first = flow.state();

        observe(flow, SmtpReply.of(451, "A"));

        assertThat(flow.state()).isSameAs(first);
        assertThat(events).hasSize(1);
    }

    @Test
    void backoffTriggerShouldNotLiftASuspension() {
        FlowControl flow = flow(policy()
            .addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2))))
            .build());
        observe(flow, TSS04);

        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(events).hasSize(1);
    }

    @Test
    void laterSuspensionShouldExtendAnEarlierOneButAShorterOneShouldNot() {
        FlowControl flow = flow(policy()
            .addResponseRule(response("TSS05", 1, Reaction.suspend(Duration.ofHours(4))))
            .addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2))))
            .build());
        observe(flow, TSS04);
        Instant first = flow.state().until().orElseThrow();

        clock.advance(Duration.ofMinutes(30));
        observe(flow, TSS04);
        Instant extended = flow.state().until().orElseThrow();
        observe(flow, SmtpReply.of(421, "4.7.0 [TSS05] nope"));
        Instant longer = flow.state().until().orElseThrow();
        clock.advance(Duration.ofMinutes(1));
        observe(flow, TSS04);

        assertThat(extended).isEqualTo(first.plus(Duration.ofMinutes(30)));
        assertThat(longer).isEqualTo(clock.instant().minus(Duration.ofMinutes(1)).plus(Duration.ofHours(4)));
        assertThat(flow.state().until()).contains(longer);
    }

    @Test
    void suspensionShouldEndHalfOpenAndThenNormalAfterTheProbes() {
        FlowControl flow = flow(policy().addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2))))
            .build());
        observe(flow, TSS04);

        clock.advance(Duration.ofHours(2));
        FlowState halfOpen = flow.state();
        assertThat(halfOpen.kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(halfOpen.cause().kind()).isEqualTo(FlowCause.Kind.HALF_OPEN);
        assertThat(halfOpen.until()).contains(clock.instant().plus(Duration.ofMinutes(10)));
        assertThat(flow.maxConnections()).isEqualTo(1);
        attempts(flow, FlowSignal.SUCCEEDED, 3);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(events).extracting(FlowControlEvent::to).containsExactly(FlowState.Kind.SUSPENDED,
            FlowState.Kind.BACKOFF, FlowState.Kind.NORMAL);
    }

    @Test
    void halfOpenShouldEndByTimeWithoutTraffic() {
        FlowControl flow = flow(policy().addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2))))
            .build());
        observe(flow, TSS04);

        clock.advance(Duration.ofHours(2));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        clock.advance(Duration.ofMinutes(10));

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void suspensionWithoutHalfOpenShouldReturnStraightToNormal() {
        FlowControl flow = flow(policy().recovery(new Recovery(3, Duration.ZERO))
            .addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2)))).build());
        observe(flow, TSS04);

        clock.advance(Duration.ofHours(3));

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(events).extracting(FlowControlEvent::to).containsExactly(FlowState.Kind.SUSPENDED,
            FlowState.Kind.NORMAL);
    }

    @Test
    void adaptiveConcurrencyShouldDecreaseMultiplicativelyAndIncreaseAdditively() {
        FlowControl flow = flow(policy().errorRate(Optional.empty()).adaptive(new AdaptiveConcurrency(true, 0.5))
            .build());

        attempts(flow, FlowSignal.FAILED, 1);
        assertThat(flow.maxConnections()).isEqualTo(5);
        attempts(flow, FlowSignal.FAILED, 10);
        assertThat(flow.maxConnections()).isEqualTo(1);
        attempts(flow, FlowSignal.SUCCEEDED, 1);
        assertThat(flow.maxConnections()).isEqualTo(2);
        attempts(flow, FlowSignal.REFUSED, 50);
        assertThat(flow.maxConnections()).isEqualTo(2);
        attempts(flow, FlowSignal.SUCCEEDED, 1000);

        assertThat(flow.maxConnections()).isEqualTo(10);
        assertThat(flow.status("r").adaptiveConnectionLimit()).isEqualTo(10);
    }

    @Test
    void adaptiveConcurrencyShouldNeverRaiseABackoffLimit() {
        FlowControl flow = flow(policy().adaptive(new AdaptiveConcurrency(true, 0.9)).build());

        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.maxConnections()).isEqualTo(1);
    }

    @Test
    void operatorSuspensionShouldLastExactlyUntilTheGivenTimeAndHoldOffTriggers() {
        FlowControl flow = flow(policy().addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(9))))
            .build());
        Instant until = clock.instant().plus(Duration.ofHours(1));

        FlowState forced = flow.suspend(until, "provider asked us to pause");
        observe(flow, TSS04);
        attempts(flow, FlowSignal.FAILED, 10);

        assertThat(flow.state()).isSameAs(forced);
        assertThat(forced.origin()).isEqualTo(FlowState.Origin.OPERATOR);
        assertThat(forced.cause().description()).isEqualTo("an operator suspended: provider asked us to pause");
        assertThat(forced.until()).contains(until);
        assertThat(flow.cancelAutomatic("no")).isFalse();
        clock.advance(Duration.ofHours(1));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
    }

    @Test
    void operatorBackoffShouldUseTheBackoffLimitsAndIgnoreProbes() {
        FlowControl flow = flow(policy().build());

        flow.backoff(clock.instant().plus(Duration.ofHours(1)), null);
        attempts(flow, FlowSignal.SUCCEEDED, 10);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(flow.maxConnections()).isEqualTo(1);
        assertThat(flow.state().cause().description()).isEqualTo("an operator backed off");
    }

    @Test
    void operatorShouldNotForceAStateIntoThePast() {
        FlowControl flow = flow(policy().build());

        assertThatThrownBy(() -> flow.suspend(clock.instant(), "x"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("until must be in the future, was 2026-03-01T10:00:00Z (now 2026-03-01T10:00:00Z)");
    }

    @Test
    void resumeShouldEndAnyStateAndLetTriggersWorkAgain() {
        FlowControl flow = flow(policy().build());
        flow.suspend(clock.instant().plus(Duration.ofHours(1)), "x");

        FlowState resumed = flow.resume("provider fixed it");
        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(resumed.kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(resumed.cause().description()).isEqualTo("an operator resumed: provider fixed it");
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
    }

    @Test
    void cancelAutomaticShouldEndAnAutomaticBackoff() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.cancelAutomatic("false alarm")).isTrue();

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(flow.state().cause().description())
            .isEqualTo("an operator cancelled the automatic BACKOFF: false alarm");
        assertThat(flow.cancelAutomatic("again")).isFalse();
    }

    @Test
    void resetShouldClearTheCountsAndTheAdaptiveLimit() {
        FlowControl flow = flow(policy().adaptive(new AdaptiveConcurrency(true, 0.5)).build());
        attempts(flow, FlowSignal.FAILED, 3);
        assertThat(flow.maxConnections()).isEqualTo(1);

        flow.reset("new IP address");
        attempts(flow, FlowSignal.FAILED, 1);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(flow.status("r").attemptsInWindow()).isEqualTo(1);
        assertThat(flow.maxConnections()).isEqualTo(5);
    }

    @Test
    void statusShouldSayWhatIsInEffectAndWhy() {
        FlowControl flow = flow(policy().build());
        attempts(flow, FlowSignal.FAILED, 4);
        attempts(flow, FlowSignal.SUCCEEDED, 1);

        FlowControlStatus status = flow.status("google");

        assertThat(status.destination()).isEqualTo("mx.example.com");
        assertThat(status.rule()).isEqualTo("google");
        assertThat(status.state()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(status.origin()).isEqualTo(FlowState.Origin.AUTOMATIC);
        assertThat(status.since()).isEqualTo(clock.instant());
        assertThat(status.until()).contains(clock.instant().plus(Duration.ofMinutes(15)));
        assertThat(status.cause().kind()).isEqualTo(FlowCause.Kind.ERROR_RATE);
        assertThat(status.limits()).contains(new DeliveryLimits(1, 100, OptionalLong.of(3600)));
        assertThat(status.probesSucceeded()).isEqualTo(1);
        assertThat(status.probesNeeded()).isEqualTo(3);
        assertThat(status.attemptsInWindow()).isEqualTo(1);
        assertThat(status.failuresInWindow()).isZero();
    }

    @Test
    void listenersShouldHearOfAChangeOnlyAfterItTookEffect() {
        List<FlowState.Kind> seenInListener = new ArrayList<>();
        FlowControl[] holder = new FlowControl[1];
        holder[0] = new FlowControl("d", policy().build(), NORMAL, clock, perHour -> new CountingBudget(),
            event -> seenInListener.add(holder[0].state().kind()), () -> 0);

        attempts(holder[0], FlowSignal.FAILED, 4);

        assertThat(seenInListener).containsExactly(FlowState.Kind.BACKOFF);
    }

    @Test
    void failingListenerShouldNotStopTheTransition() {
        FlowControl flow = new FlowControl("d", policy().build(), NORMAL, clock, perHour -> new CountingBudget(),
            event -> {
                throw new IllegalStateException("listener bug");
            }, () -> 0);

        attempts(flow, FlowSignal.FAILED, 4);

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
    }

    @ParameterizedTest(name = "{0}: {1} -> {2} allowed {3}")
    @CsvSource({
        "TRIGGER, NORMAL, BACKOFF, true",
        "TRIGGER, NORMAL, SUSPENDED, true",
        "TRIGGER, NORMAL, NORMAL, false",
        "TRIGGER, BACKOFF, BACKOFF, true",
        "TRIGGER, BACKOFF, SUSPENDED, true",
        "TRIGGER, BACKOFF, NORMAL, false",
        "TRIGGER, SUSPENDED, SUSPENDED, true",
        "TRIGGER, SUSPENDED, BACKOFF, false",
        "TRIGGER, SUSPENDED, NORMAL, false",
        "EXPIRY, NORMAL, NORMAL, false",
        "EXPIRY, BACKOFF, NORMAL, true",
        "EXPIRY, BACKOFF, SUSPENDED, false",
        "EXPIRY, SUSPENDED, BACKOFF, true",
        "EXPIRY, SUSPENDED, NORMAL, true",
        "PROBES, BACKOFF, NORMAL, true",
        "PROBES, SUSPENDED, NORMAL, false",
        "PROBES, NORMAL, NORMAL, false",
        "OPERATOR, NORMAL, SUSPENDED, true",
        "OPERATOR, SUSPENDED, NORMAL, true",
        "OPERATOR, NORMAL, NORMAL, true",
    })
    void transitionTableShouldAllowOnlyTheListedChanges(FlowControl.Transition transition, FlowState.Kind from,
                                                        FlowState.Kind to, boolean allowed) {
        assertThat(FlowControl.isAllowed(transition, from, to)).isEqualTo(allowed);
    }

    @Test
    void concurrentAttemptsShouldLoseNoCount() throws Exception {
        FlowControl flow = flow(policy().errorRate(Optional.of(new ErrorRateTrigger(100_000, 0.99,
            Duration.ofHours(1), Reaction.backoff(Optional.of(Duration.ofMinutes(1)))))).build());
        int threads = 8;
        int perThread = 5_000;

        runConcurrently(threads, () -> attempts(flow, FlowSignal.SUCCEEDED, perThread));

        assertThat(flow.status("r").attemptsInWindow()).isEqualTo((long) threads * perThread);
    }

    @Test
    void concurrentTriggersShouldChangeTheStateOnceAndPublishOneEvent() throws Exception {
        FlowControl flow = flow(policy().addResponseRule(response("TSS04", 1, Reaction.suspend(Duration.ofHours(2))))
            .build());

        runConcurrently(8, () -> {
            for (int i = 0; i < 1000; i++) {
                observe(flow, TSS04);
                flow.recordAttempt(FlowSignal.FAILED);
            }
        });

        // Time stands still, so every trigger after the first proposes the same end: one change, one event.
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(events).singleElement().satisfies(event -> {
            assertThat(event.from()).isEqualTo(FlowState.Kind.NORMAL);
            assertThat(event.to()).isEqualTo(FlowState.Kind.SUSPENDED);
        });
    }

    @Test
    void concurrentAdaptiveUpdatesShouldStayWithinOneAndTheCap() throws Exception {
        FlowControl flow = flow(policy().errorRate(Optional.empty()).adaptive(new AdaptiveConcurrency(true, 0.5))
            .build());

        runConcurrently(8, () -> {
            for (int i = 0; i < 10_000; i++) {
                flow.recordAttempt(i % 3 == 0 ? FlowSignal.FAILED : FlowSignal.SUCCEEDED);
                assertThat(flow.maxConnections()).isBetween(1, 10);
            }
        });
        attempts(flow, FlowSignal.SUCCEEDED, 1000);

        assertThat(flow.maxConnections()).isEqualTo(10);
    }

    private static void runConcurrently(int threads, Runnable task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    task.run();
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** A budget that always has a token. */
    static final class CountingBudget implements MessageBudget {
        int consumed;

        @Override
        public boolean tryConsume() {
            consumed++;
            return true;
        }

        @Override
        public void refund() {
            consumed--;
        }

        @Override
        public Duration timeUntilToken() {
            return Duration.ZERO;
        }
    }
}

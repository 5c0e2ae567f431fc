package io.github.mxgovernor.flowcontrol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class FlowControlPolicyTest {
    private static final Optional<Duration> HOUR = Optional.of(Duration.ofHours(1));

    @Test
    void builtInPolicyShouldBackOffToOneConnectionOnHalfFailedAttempts() {
        FlowControlPolicy policy = FlowControlPolicy.builtIn();

        assertThat(policy.backoff().applyTo(new DeliveryLimits(10, 100, OptionalLong.empty())))
            .isEqualTo(new DeliveryLimits(1, 100, OptionalLong.empty()));
        assertThat(policy.errorRate()).contains(new ErrorRateTrigger(20, 0.5, Duration.ofMinutes(5),
            Reaction.backoff(Optional.of(Duration.ofMinutes(15)))));
        assertThat(policy.responseRules()).isEmpty();
        assertThat(policy.recovery()).isEqualTo(new Recovery(5, Duration.ofMinutes(15)));
        assertThat(policy.adaptive()).isEqualTo(new AdaptiveConcurrency(true, 0.9));
    }

    @Test
    void buildShouldRejectABackoffWithoutDurationWhenThereAreNoProbes() {
        FlowControlPolicy.Builder builder = FlowControlPolicy.builder().recovery(new Recovery(0, Duration.ZERO))
            .addResponseRule(new ResponseRule("4\\.7\\.28", 1, Optional.empty(), Reaction.backoff(Optional.empty()),
                "mx-rules.xml:9"));

        assertThatThrownBy(builder::build).isInstanceOf(IllegalArgumentException.class).hasMessage(
            "a destination could never return to normal: response{'4\\.7\\.28' (mx-rules.xml:9), immediate: backoff"
                + " until recovered} backs off without a duration and recovery has 0 probes");
    }

    @Test
    void theFirstResponseRuleMatchingCodeAndTextOfANon2xxReplyShouldBeTheMatch() {
        ResponseRule policyRule = new ResponseRule("550 5\\.7\\.1 .*policy", 1, Optional.empty(),
            Reaction.backoff(HOUR), "mx-rules.xml:8");
        ResponseRule frequency = new ResponseRule("frequency limited", 1, Optional.empty(), Reaction.backoff(HOUR),
            "mx-rules.xml:9", true);
        FlowControlPolicy policy = FlowControlPolicy.builder().addResponseRule(policyRule).addResponseRule(frequency)
            .build();

        assertThat(policy.match(SmtpReply.of(550, "Ip frequency limited"))).containsSame(frequency);
        assertThat(policy.match(SmtpReply.of(550, "5.7.1 policy: frequency limited"))).containsSame(policyRule);
        assertThat(policy.match(SmtpReply.of(550, "5.1.1 no such user"))).isEmpty();
        assertThat(policy.match(SmtpReply.of(250, "frequency limited, but accepted"))).isEmpty();
        assertThat(FlowControlPolicy.builtIn().match(SmtpReply.of(550, "Ip frequency limited"))).isEmpty();
    }

    @Test
    void buildShouldAcceptABackoffWithoutDurationWhenProbesCanEndIt() {
        FlowControlPolicy policy = FlowControlPolicy.builder().errorRate(Optional.of(new ErrorRateTrigger(5, 0.2,
            Duration.ofMinutes(1), Reaction.limitConnections(1, Optional.empty())))).build();

        assertThat(FlowControlPolicy.canEnd(policy.errorRate().get().reaction(), policy.recovery())).isTrue();
    }

    @Test
    void backoffLimitsShouldNeverRaiseTheRulesLimits() {
        BackoffLimits backoff = new BackoffLimits(OptionalInt.of(20), OptionalInt.of(5), OptionalLong.of(600));

        assertThat(backoff.applyTo(new DeliveryLimits(3, 100, OptionalLong.of(300))))
            .isEqualTo(new DeliveryLimits(3, 5, OptionalLong.of(300)));
        assertThat(backoff.applyTo(new DeliveryLimits(3, 100, OptionalLong.empty())))
            .isEqualTo(new DeliveryLimits(3, 5, OptionalLong.of(600)));
    }

    @Test
    void backoffLimitsShouldRejectValuesOutOfRange() {
        assertThatThrownBy(() -> new BackoffLimits(OptionalInt.of(0), OptionalInt.empty(), OptionalLong.empty()))
            .hasMessage("maxConnections must be from 1 to 10000, was 0");
        assertThatThrownBy(() -> new BackoffLimits(OptionalInt.empty(), OptionalInt.of(100_001), OptionalLong.empty()))
            .hasMessage("maxMessagesPerConnection must be from 1 to 100000, was 100001");
        assertThatThrownBy(() -> new BackoffLimits(OptionalInt.empty(), OptionalInt.empty(), OptionalLong.of(0)))
            .hasMessage("messagesPerHour must be from 1 to 100000000, was 0");
    }

    @Test
    void reactionShouldRejectDurationsOutOfRange() {
        assertThatThrownBy(() -> Reaction.suspend(Duration.ofMillis(999)))
            .hasMessage("duration must be from 1s to 7d, was PT0.999S");
        assertThatThrownBy(() -> Reaction.backoff(Optional.of(Duration.ofDays(7).plusSeconds(1))))
            .hasMessage("duration must be from 1s to 7d, was PT168H0.001S".replace("0.001S", "1S"));
        assertThat(Reaction.suspend(Duration.ofDays(7)).duration()).contains(Duration.ofDays(7));
        assertThat(Reaction.backoff(Optional.of(Duration.ofSeconds(1))).duration()).contains(Duration.ofSeconds(1));
    }

    @Test
    void reactionShouldRejectLimitsOutOfRange() {
        assertThatThrownBy(() -> Reaction.limitConnections(0, HOUR))
            .hasMessage("maxConnections must be from 1 to 10000, was 0");
        assertThatThrownBy(() -> Reaction.limitMessagesPerConnection(100_001, HOUR))
            .hasMessage("maxMessagesPerConnection must be from 1 to 100000, was 100001");
    }

    @Test
    void errorRateShouldRejectValuesOutOfRange() {
        Reaction backoff = Reaction.backoff(HOUR);
        assertThatThrownBy(() -> new ErrorRateTrigger(0, 0.5, Duration.ofMinutes(1), backoff))
            .hasMessage("minAttempts must be from 1 to 100000, was 0");
        assertThatThrownBy(() -> new ErrorRateTrigger(1, 1.0, Duration.ofMinutes(1), backoff))
            .hasMessage("ratio must be a number from 0 up to, but not including, 1, was 1.0");
        assertThatThrownBy(() -> new ErrorRateTrigger(1, -0.1, Duration.ofMinutes(1), backoff))
            .hasMessage("ratio must be a number from 0 up to, but not including, 1, was -0.1");
        assertThatThrownBy(() -> new ErrorRateTrigger(1, 0.5, Duration.ofDays(2), backoff))
            .hasMessage("window must be from 1s to 1d, was PT48H");
        assertThatThrownBy(() -> new ErrorRateTrigger(1, 0.5, Duration.ofMinutes(1), Reaction.reconnect()))
            .hasMessageStartingWith("action reconnect acts on one connection and cannot answer an error rate");
    }

    @Test
    void errorRateShouldFireOnlyAboveTheRatioFromMinAttemptsOn() {
        ErrorRateTrigger trigger = new ErrorRateTrigger(10, 0.3, Duration.ofMinutes(1), Reaction.backoff(HOUR));

        assertThat(trigger.firesAt(9, 9)).isFalse();
        assertThat(trigger.firesAt(10, 3)).isFalse();
        assertThat(trigger.firesAt(10, 4)).isTrue();
    }

    @Test
    void errorRateWithRatioZeroShouldFireOnAnyFailure() {
        ErrorRateTrigger trigger = new ErrorRateTrigger(1, 0, Duration.ofMinutes(1), Reaction.backoff(HOUR));

        assertThat(trigger.firesAt(5, 0)).isFalse();
        assertThat(trigger.firesAt(5, 1)).isTrue();
    }

    @Test
    void responseRuleShouldRejectAnInvalidRegularExpression() {
        assertThatThrownBy(() -> new ResponseRule("421 (4\\.7\\.0", 1, Optional.empty(), Reaction.backoff(HOUR), "f:1"))
            .hasMessage("match is not a valid regular expression: Unclosed group at index 12 in '421 (4\\.7\\.0'");
    }

    @Test
    void responseRuleShouldRejectAnEmptyOrHugeExpression() {
        assertThatThrownBy(() -> new ResponseRule(" ", 1, Optional.empty(), Reaction.backoff(HOUR), "f:1"))
            .hasMessage("match must be a regular expression, was empty");
        assertThatThrownBy(() -> new ResponseRule("x".repeat(1001), 1, Optional.empty(), Reaction.backoff(HOUR), "f:1"))
            .hasMessage("match must be at most 1000 characters, was 1001");
    }

    @Test
    void responseRuleShouldRejectThresholdsOutOfRange() {
        assertThatThrownBy(() -> new ResponseRule("x", 0, Optional.empty(), Reaction.backoff(HOUR), "f:1"))
            .hasMessage("threshold must be from 1 to 10000, was 0");
        assertThatThrownBy(() -> new ResponseRule("x", 10_001, HOUR, Reaction.backoff(HOUR), "f:1"))
            .hasMessage("threshold must be from 1 to 10000, was 10001");
    }

    @Test
    void responseRuleShouldNeedAWindowExactlyWhenTheThresholdIsAboveOne() {
        assertThatThrownBy(() -> new ResponseRule("x", 2, Optional.empty(), Reaction.backoff(HOUR), "f:1"))
            .hasMessage("window is required when the threshold is above 1: it says within how long 2 matching"
                + " replies fire the rule");
        assertThatThrownBy(() -> new ResponseRule("x", 1, HOUR, Reaction.backoff(HOUR), "f:1"))
            .hasMessage("window has no meaning with threshold 1 (the rule fires at once); remove it or raise the"
                + " threshold");
        assertThatThrownBy(() -> new ResponseRule("x", 2, Optional.of(Duration.ofMillis(10)), Reaction.backoff(HOUR),
            "f:1")).hasMessage("window must be from 1s to 1d, was PT0.01S");
    }

    @Test
    void responseRuleShouldSearchTheWholeReplyIgnoringCase() {
        ResponseRule rule = new ResponseRule("421[- ]4\\.7\\.28 .*unusual rate", 1, Optional.empty(),
            Reaction.backoff(HOUR), "f:1");

        assertThat(rule.matches("421 4.7.28 [192.0.2.1] Our system has detected an Unusual Rate of mail")).isTrue();
        assertThat(rule.matches("421 4.7.0 Try again later")).isFalse();
    }

    @Test
    void recoveryShouldRejectValuesOutOfRange() {
        assertThatThrownBy(() -> new Recovery(-1, Duration.ZERO)).hasMessage("probes must be from 0 to 10000, was -1");
        assertThatThrownBy(() -> new Recovery(10_001, Duration.ZERO))
            .hasMessage("probes must be from 0 to 10000, was 10001");
        assertThatThrownBy(() -> new Recovery(1, Duration.ofDays(1).plusSeconds(1)))
            .hasMessage("halfOpen must be from 0s to 1d, was PT24H1S");
    }

    @Test
    void adaptiveConcurrencyShouldRejectADecreaseOutsideZeroAndOne() {
        assertThatThrownBy(() -> new AdaptiveConcurrency(true, 1.0))
            .hasMessage("decrease must be a number above 0 and below 1, was 1.0");
        assertThatThrownBy(() -> new AdaptiveConcurrency(true, 0))
            .hasMessage("decrease must be a number above 0 and below 1, was 0.0");
    }
}

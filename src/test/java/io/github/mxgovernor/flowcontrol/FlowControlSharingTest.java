package io.github.mxgovernor.flowcontrol;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.cluster.SharedFlowState;
import io.github.mxgovernor.flowcontrol.FlowControlTest.CountingBudget;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

/** What a destination's flow control publishes to the other nodes, and how it takes theirs ({@link FlowControl#adopt}). */
class FlowControlSharingTest {
    private static final DeliveryLimits NORMAL = new DeliveryLimits(10, 100, OptionalLong.of(3600));
    private static final SmtpReply TSS04 = SmtpReply.of(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily"
        + " deferred due to unexpected volume or user complaints");

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final List<FlowControlEvent> events = Collections.synchronizedList(new ArrayList<>());
    private final List<SharedFlowState> published = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> budgetsMade = new ArrayList<>();
    private final FlowSharing sharing = new FlowSharing() {
        @Override
        public AttemptCounts counts(String name, Duration window) {
            return new SlidingCounts(window);
        }

        @Override
        public void publish(SharedFlowState state) {
            published.add(state);
        }
    };

    private FlowControl flow(FlowControlPolicy policy) {
        return new FlowControl("mta5.am0.yahoodns.net", policy, NORMAL, clock, perHour -> {
            budgetsMade.add(perHour);
            return new CountingBudget();
        }, events::add, () -> 0, sharing);
    }

    private static FlowControlPolicy policy() {
        return FlowControlPolicy.builder()
            .responseRules(List.of(new ResponseRule("421 4\\.7\\.0 \\[TSS04\\]", 1, Optional.empty(),
                Reaction.suspend(Duration.ofHours(2)), "mx-rules.xml:12")))
            .recovery(new Recovery(3, Duration.ofMinutes(10)))
            .adaptive(new AdaptiveConcurrency(false, 0.5)).build();
    }

    private SharedFlowState.Builder remote(FlowState.Kind kind, Duration length) {
        SharedFlowState.Builder builder = SharedFlowState.builder("mta5.am0.yahoodns.net", kind)
            .origin(FlowState.Origin.AUTOMATIC).since(clock.instant())
            .cause(FlowCause.Kind.RESPONSE_RULE, "a reply matching '421 4.7.0 [TSS04]'", "mx-rules.xml:12",
                TSS04.toString());
        if (length != null) {
            builder.until(clock.instant().plus(length));
        }
        return builder;
    }

    @Test
    void aTriggeredSuspensionShouldBePublishedWithItsCauseAndEnd() {
        FlowControl flow = flow(policy());

        flow.observe(flow.policy().match(TSS04).orElseThrow(), TSS04);

        assertThat(published).hasSize(1);
        SharedFlowState state = published.get(0);
        assertThat(state.kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(state.origin()).isEqualTo(FlowState.Origin.AUTOMATIC);
        assertThat(state.causeKind()).isEqualTo(FlowCause.Kind.RESPONSE_RULE);
        assertThat(state.source()).contains("mx-rules.xml:12");
        assertThat(state.reply()).contains(TSS04.toString());
        assertThat(state.until()).contains(Instant.parse("2026-03-01T12:00:00Z"));
    }

    @Test
    void operatorActionsAndTheHalfOpenEndShouldBePublishedButNotTheEndByTime() {
        FlowControl flow = flow(policy());

        flow.suspend(clock.instant().plus(Duration.ofMinutes(30)), "maintenance");
        assertThat(published).extracting(SharedFlowState::kind).containsExactly(FlowState.Kind.SUSPENDED);
        assertThat(published.get(0).origin()).isEqualTo(FlowState.Origin.OPERATOR);

        clock.advance(Duration.ofMinutes(31));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(published).extracting(SharedFlowState::kind).as("the half-open backoff is every node's")
            .containsExactly(FlowState.Kind.SUSPENDED, FlowState.Kind.BACKOFF);

        clock.advance(Duration.ofMinutes(11));
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(published).as("each node ends a state by its own clock").hasSize(2);

        flow.resume("done");
        assertThat(published).extracting(SharedFlowState::kind).last().isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void aRemoteSuspensionShouldBeAdoptedAsItIsAndNotPublishedBack() {
        FlowControl flow = flow(policy());

        assertThat(flow.adopt(remote(FlowState.Kind.SUSPENDED, Duration.ofHours(2)).build())).isTrue();

        FlowState state = flow.state();
        assertThat(state.kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(state.origin()).isEqualTo(FlowState.Origin.AUTOMATIC);
        assertThat(state.cause().reply()).contains(TSS04.toString());
        assertThat(state.until()).contains(Instant.parse("2026-03-01T12:00:00Z"));
        assertThat(flow.maxMessagesPerConnection()).isZero();
        assertThat(events).hasSize(1);
        assertThat(published).isEmpty();

        assertThat(flow.adopt(remote(FlowState.Kind.SUSPENDED, Duration.ofHours(2)).build()))
            .as("the same state heard again").isFalse();
        assertThat(events).hasSize(1);
    }

    @Test
    void aRemoteBackoffShouldBringItsLimitsNeverAboveTheRulesAndItsOwnBudget() {
        FlowControl flow = flow(policy());

        flow.adopt(remote(FlowState.Kind.BACKOFF, Duration.ofMinutes(15))
            .limits(new SharedFlowState.Limits(2, 500, OptionalLong.of(600))).build());

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(flow.maxConnections()).isEqualTo(2);
        assertThat(flow.maxMessagesPerConnection()).as("never above the rule's 100").isEqualTo(100);
        assertThat(budgetsMade).containsExactly(600L);
        assertThat(published).isEmpty();
    }

    @Test
    void aRemoteResumeShouldEndALocalSuspension() {
        FlowControl flow = flow(policy());
        flow.observe(flow.policy().match(TSS04).orElseThrow(), TSS04);
        published.clear();

        clock.advance(Duration.ofMinutes(1));
        assertThat(flow.adopt(SharedFlowState.builder("mta5.am0.yahoodns.net", FlowState.Kind.NORMAL)
            .origin(FlowState.Origin.OPERATOR).since(clock.instant())
            .cause(FlowCause.Kind.OPERATOR, "an operator resumed", null, null).build())).isTrue();

        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(flow.state().origin()).isEqualTo(FlowState.Origin.OPERATOR);
        assertThat(published).isEmpty();
    }

    @Test
    void aRemoteStateAlreadyOverShouldBeIgnored() {
        FlowControl flow = flow(policy());
        SharedFlowState old = remote(FlowState.Kind.SUSPENDED, Duration.ofMinutes(5)).build();
        clock.advance(Duration.ofMinutes(6));

        assertThat(flow.adopt(old)).isFalse();
        assertThat(flow.state().kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(events).isEmpty();
    }

    @Test
    void aRemoteStateMayReplaceAnyLocalOne() {
        for (FlowState.Kind from : FlowState.Kind.values()) {
            for (FlowState.Kind to : FlowState.Kind.values()) {
                assertThat(FlowControl.isAllowed(FlowControl.Transition.REMOTE, from, to)).isTrue();
            }
        }
        assertThat(FlowControl.isAllowed(FlowControl.Transition.TRIGGER, FlowState.Kind.SUSPENDED,
            FlowState.Kind.NORMAL)).isFalse();
    }
}

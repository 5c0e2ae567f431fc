package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.FlowControlEvent;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;

import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class GovernorFlowControlTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("all").mxMasks("*").maxConnections(4).build();
    private final Destination destination = governor.destination(rule, "MX1.Example.com");

    @Test
    void destinationShouldRunUnderItsFlowControl() {
        assertThat(destination.tryOpenConnection()).isNotNull();
        assertThat(destination.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(destination.budget()).isSameAs(destination.rate());

        governor.backoff("mx1.example.com", clock.instant().plus(Duration.ofHours(1)), null);

        assertThat(destination.overConnectionLimit()).isFalse();
        assertThat(destination.tryOpenConnection()).isNull();
        assertThat(destination.flowControl().maxConnections()).isEqualTo(1);
    }

    @Test
    void statusListShouldHoldOnlyWhatIsInEffect() {
        Destination other = governor.destination(rule, "mx2.example.com");
        Destination adapted = governor.destination(rule, "mx3.example.com");
        governor.suspend("mx1.example.com", clock.instant().plus(Duration.ofHours(2)), "complaint");
        adapted.flowControl().recordAttempt(FlowSignal.FAILED);

        List<FlowControlStatus> inEffect = governor.flowControlStatus();

        assertThat(inEffect).extracting(FlowControlStatus::destination)
            .containsExactly("mx1.example.com", "mx3.example.com");
        assertThat(inEffect.get(0).state()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(inEffect.get(0).origin()).isEqualTo(FlowState.Origin.OPERATOR);
        assertThat(inEffect.get(0).until()).contains(Instant.parse("2026-03-01T12:00:00Z"));
        assertThat(inEffect.get(1).adaptiveConnectionLimit()).isEqualTo(3);
        assertThat(governor.flowControlStatus(other.name()).get().state()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(governor.flowControlStatus("nowhere.example.com")).isEmpty();
    }

    @Test
    void operatorCommandsShouldForceResumeResetAndCancel() {
        assertThat(governor.suspend("mx1.example.com", clock.instant().plus(Duration.ofHours(1)), "x").state())
            .isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(governor.cancelAutomatic("mx1.example.com", "no").state()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(governor.resume("mx1.example.com", "ok").state()).isEqualTo(FlowState.Kind.NORMAL);
        for (int i = 0; i < 20; i++) {
            destination.flowControl().recordAttempt(FlowSignal.FAILED);
        }
        assertThat(destination.flowControl().state().kind()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(governor.cancelAutomatic("mx1.example.com", "false alarm").state())
            .isEqualTo(FlowState.Kind.NORMAL);

        FlowControlStatus reset = governor.reset("mx1.example.com", "new IP");

        assertThat(reset.state()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(reset.adaptiveConnectionLimit()).isEqualTo(4);
        assertThat(reset.attemptsInWindow()).isZero();
    }

    @Test
    void operatorCommandsShouldRejectAnUnknownDestination() {
        assertThatThrownBy(() -> governor.resume("mx9.example.com", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("no destination named 'mx9.example.com'; a destination exists once mail was routed to it"
                + " (names are MX host names, rule/host, or shared:rule)");
    }

    @Test
    void listenersShouldHearOfEveryDestinationsChanges() {
        List<FlowControlEvent> events = new ArrayList<>();
        governor.addFlowControlListener(events::add);

        governor.suspend("mx1.example.com", clock.instant().plus(Duration.ofMinutes(1)), null);
        clock.advance(Duration.ofMinutes(1));
        destination.flowControl().state();

        assertThat(events).extracting(FlowControlEvent::to).containsExactly(FlowState.Kind.SUSPENDED,
            FlowState.Kind.BACKOFF);
    }

    @Test
    void statusShouldBeSerialisable() throws Exception {
        FlowControlStatus status = governor.suspend("mx1.example.com", clock.instant().plus(Duration.ofHours(1)),
            "x");

        try (ObjectOutputStream out = new ObjectOutputStream(new ByteArrayOutputStream())) {
            out.writeObject(status);
        }
        assertThat(status.cause().description()).isEqualTo("an operator suspended: x");
    }
}

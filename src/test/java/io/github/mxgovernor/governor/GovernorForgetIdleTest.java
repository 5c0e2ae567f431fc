package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class GovernorForgetIdleTest {
    private static final Duration HOUR = Duration.ofHours(1);

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("all").mxMasks("*").maxConnections(2).build();

    @Test
    void forgetIdleShouldDropOnlyIdleNormalDestinationsWithoutConnections() {
        Destination idle = governor.destination(rule, "idle.example.com");
        Destination connected = governor.destination(rule, "connected.example.com");
        connected.tryOpenConnection();
        Destination suspended = governor.destination(rule, "suspended.example.com");
        governor.suspend(suspended.name(), clock.instant().plus(Duration.ofHours(3)), "complaint");
        clock.advance(Duration.ofMinutes(50));
        Destination recent = governor.destination(rule, "recent.example.com");
        clock.advance(Duration.ofMinutes(11));

        assertThat(governor.forgetIdle(HOUR)).containsExactly("idle.example.com");

        assertThat(governor.find(idle.name())).isEmpty();
        assertThat(governor.find(connected.name())).containsSame(connected);
        assertThat(governor.find(suspended.name())).containsSame(suspended);
        assertThat(governor.find(recent.name())).containsSame(recent);
    }

    @Test
    void routingShouldKeepADestinationRemembered() {
        Destination destination = governor.destination(rule, "mx.example.com");
        clock.advance(Duration.ofMinutes(59));
        governor.destination(rule, "mx.example.com");
        clock.advance(Duration.ofMinutes(59));

        assertThat(governor.forgetIdle(HOUR)).isEmpty();
        assertThat(governor.find("mx.example.com")).containsSame(destination);
    }

    @Test
    void closingAConnectionShouldCountAsActivity() {
        Destination destination = governor.destination(rule, "mx.example.com");
        ConnectionPermit permit = destination.tryOpenConnection();
        clock.advance(Duration.ofHours(2));
        destination.connectionClosed(permit);
        clock.advance(Duration.ofMinutes(30));

        assertThat(governor.forgetIdle(HOUR)).isEmpty();
        assertThat(destination.lastActivity()).isEqualTo(clock.instant().minus(Duration.ofMinutes(30)));
    }

    @Test
    void forgottenDestinationShouldStartAfreshWhenMailComesBack() {
        Destination forgotten = governor.destination(rule, "mx.example.com");
        forgotten.stats().recordDelivered(3);
        clock.advance(Duration.ofHours(2));
        governor.forgetIdle(HOUR);

        Destination again = governor.destination(rule, "mx.example.com");

        assertThat(again).isNotSameAs(forgotten);
        assertThat(again.stats().delivered()).isZero();
        assertThat(governor.destinations()).containsExactly(again);
    }

    @Test
    void retiredDestinationLeftInTheMapShouldBeReplacedOnRouting() {
        Destination retired = governor.destination(rule, "mx.example.com");
        clock.advance(Duration.ofHours(2));
        assertThat(retired.retireIfIdleSince(clock.millis() - HOUR.toMillis())).isTrue();

        Destination routed = governor.destination(rule, "mx.example.com");

        assertThat(routed).isNotSameAs(retired);
        assertThat(governor.find("mx.example.com")).containsSame(routed);
    }
}

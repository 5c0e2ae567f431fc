package io.github.mxgovernor.james.jmx;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.Attempts;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.TabularData;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GovernorBeansTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("all").mxMasks("*").maxConnections(3).messagesPerHour(600).build();
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private GovernorBeans beans = new GovernorBeans(server, governor, Duration.ofMinutes(10), 100);

    @AfterEach
    void close() {
        beans.close();
    }

    @Test
    void destinationNamesShouldBeQuotedOnlyWhenTheyMustBe() throws Exception {
        assertThat(GovernorBeans.governorName()).isEqualTo(new ObjectName("io.github.mxgovernor:type=Governor"));
        assertThat(GovernorBeans.destinationName("mx1.example.com"))
            .isEqualTo(new ObjectName("io.github.mxgovernor:type=Destination,name=mx1.example.com"));
        assertThat(GovernorBeans.destinationName("google/gmail-smtp-in.l.google.com").getKeyProperty("name"))
            .isEqualTo("google/gmail-smtp-in.l.google.com");
        ObjectName shared = GovernorBeans.destinationName("shared:google");
        assertThat(shared.getKeyProperty("name")).isEqualTo("\"shared:google\"");
        assertThat(ObjectName.unquote(shared.getKeyProperty("name"))).isEqualTo("shared:google");
    }

    @Test
    void refreshShouldRegisterABeanPerActiveDestination() throws Exception {
        governor.destination(rule, "mx1.example.com");
        governor.destination(MxRule.builder("google").mxMasks("*").limitScope(LimitScope.SHARED).build(), "mx.g");

        beans.refresh();

        assertThat(destinationBeans()).containsExactlyInAnyOrder("mx1.example.com", "\"shared:google\"");
    }

    @Test
    void beanOfAnIdleDestinationShouldExpireAndComeBackWithMail() throws Exception {
        governor.destination(rule, "mx1.example.com");
        beans.refresh();
        clock.advance(Duration.ofMinutes(11));

        beans.refresh();

        assertThat(destinationBeans()).isEmpty();
        assertThat(governor.find("mx1.example.com")).isPresent();

        governor.destination(rule, "mx1.example.com");
        beans.refresh();

        assertThat(destinationBeans()).containsExactly("mx1.example.com");
    }

    @Test
    void destinationWithConnectionsOrHeldByFlowControlShouldKeepItsBean() throws Exception {
        governor.destination(rule, "connected.example.com").tryOpenConnection();
        governor.destination(rule, "suspended.example.com");
        governor.suspend("suspended.example.com", clock.instant().plus(Duration.ofHours(3)), "complaint");
        clock.advance(Duration.ofHours(2));

        beans.refresh();

        assertThat(destinationBeans()).containsExactlyInAnyOrder("connected.example.com", "suspended.example.com");
    }

    @Test
    void refreshShouldOnlyReadTheGovernorForgettingBeingTheGovernorsOwnHousekeeping() {
        governor.destination(rule, "mx1.example.com");
        clock.advance(Duration.ofMinutes(61));

        beans.refresh();

        assertThat(governor.destinations()).extracting(Destination::name).containsExactly("mx1.example.com");
        assertThat(beans.registeredDestinations()).isEmpty();
    }

    @Test
    void recentDestinationsShouldGetAtMostTheMaximumOfBeansKeepingThoseThatHaveOne() throws Exception {
        beans = new GovernorBeans(server, governor, Duration.ofMinutes(10), 2);
        governor.destination(rule, "mx1.example.com");
        governor.destination(rule, "mx2.example.com");
        beans.refresh();
        governor.destination(rule, "mx3.example.com");
        governor.destination(rule, "held.example.com").tryOpenConnection();

        beans.refresh();

        assertThat(destinationBeans()).containsExactlyInAnyOrder("mx1.example.com", "mx2.example.com",
            "held.example.com");
    }

    @Test
    void forgottenAndRecreatedDestinationShouldGetANewBean() throws Exception {
        Destination first = governor.destination(rule, "mx1.example.com");
        first.stats().recordDelivered(4);
        beans.refresh();
        clock.advance(Duration.ofMinutes(61));
        governor.forgetIdle(Duration.ofHours(1));
        governor.destination(rule, "mx1.example.com");

        beans.refresh();

        assertThat(server.getAttribute(GovernorBeans.destinationName("mx1.example.com"), "Delivered")).isEqualTo(0L);
    }

    @Test
    void destinationBeanShouldShowRuleLimitsStateAndCountsInOpenTypes() throws Exception {
        Destination destination = governor.destination(rule, "mx1.example.com");
        destination.tryOpenConnection();
        destination.budget().tryConsume();
        destination.stats().recordDelivered(2);
        destination.stats().recordDeferred(DeferralReason.SMTP_TEMPORARY_FAILURE, 1);
        destination.record(Attempts.replied(SmtpReply.of(421, "4.7.0 Try again later")));
        beans.refresh();
        ObjectName name = GovernorBeans.destinationName("mx1.example.com");

        for (MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
            assertThat(attribute.getDescriptor().getFieldValue("openType")).isInstanceOf(OpenType.class);
            assertThat(attribute.getType()).doesNotContain("mxgovernor");
        }
        assertThat(server.getAttribute(name, "Name")).isEqualTo("mx1.example.com");
        assertThat(server.getAttribute(name, "Rule")).isEqualTo("all");
        assertThat(server.getAttribute(name, "RuleSource")).isEqualTo("built-in");
        assertThat(server.getAttribute(name, "LimitScope")).isEqualTo("per-mx");
        assertThat(server.getAttribute(name, "TlsMode")).isEqualTo("OPPORTUNISTIC");
        assertThat(server.getAttribute(name, "MaxConnections")).isEqualTo(3);
        assertThat(server.getAttribute(name, "ConnectionsAllowedNow")).as("lowered by the throttled attempt")
            .isEqualTo(2);
        assertThat(server.getAttribute(name, "ActiveConnections")).isEqualTo(1);
        assertThat(server.getAttribute(name, "PeakConnections")).isEqualTo(1);
        assertThat(server.getAttribute(name, "MessagesPerHour")).isEqualTo(600L);
        assertThat(server.getAttribute(name, "MessagesLastHour")).isEqualTo(1L);
        assertThat(server.getAttribute(name, "FlowControlState")).isEqualTo("NORMAL");
        assertThat(server.getAttribute(name, "FlowControlOrigin")).isEqualTo("AUTOMATIC");
        assertThat(server.getAttribute(name, "FlowControlSince")).isEqualTo("2026-03-01T10:00:00Z");
        assertThat(server.getAttribute(name, "FlowControlUntil")).isEqualTo("");
        assertThat(server.getAttribute(name, "FlowControlCause")).isEqualTo("normal since first use");
        assertThat(server.getAttribute(name, "LimitsInForce"))
            .isEqualTo("2 connections, 100 mails per connection, 600 mails per hour");
        assertThat(server.getAttribute(name, "LastReply")).isEqualTo("421 4.7.0 Try again later");
        assertThat(server.getAttribute(name, "LastReplyAt")).isEqualTo("2026-03-01T10:00:00Z");
        assertThat(server.getAttribute(name, "LastActivity")).isEqualTo("2026-03-01T10:00:00Z");
        assertThat(server.getAttribute(name, "Delivered")).isEqualTo(2L);
        assertThat(server.getAttribute(name, "Deferred")).isEqualTo(1L);
        TabularData deferred = (TabularData) server.getAttribute(name, "DeferredByReason");
        assertThat(deferred.size()).isEqualTo(DeferralReason.values().length);
        assertThat(deferred.get(new Object[] {"SMTP_TEMPORARY_FAILURE"}).get("value")).isEqualTo(1L);
        assertThat(deferred.get(new Object[] {"SUSPENDED"}).get("value")).isEqualTo(0L);
        assertThat(server.getAttribute(name, "Bounced")).isEqualTo(0L);
        assertThat(server.getAttribute(name, "Failed")).as("the 421 attempt").isEqualTo(1L);
        TabularData failed = (TabularData) server.getAttribute(name, "FailedByCause");
        assertThat(failed.size()).isEqualTo(4);
        assertThat(failed.get(new Object[] {"SMTP_TEMPORARY_FAILURE"}).get("value")).isEqualTo(1L);
        assertThat(failed.get(new Object[] {"TLS_POLICY_FAILURE"}).get("value")).isEqualTo(0L);
        TabularData tls = (TabularData) server.getAttribute(name, "TlsOutcomes");
        assertThat(tls.size()).isEqualTo(5);
        assertThat(tls.get(new Object[] {"MTA_STS_TESTING_FAILED"}).get("value")).isEqualTo(0L);
        assertThat(tls.get(new Object[] {"VERIFIED"}).get("value")).isEqualTo(0L);
    }

    @Test
    void suspendedDestinationShouldShowUntilWhenAndWhy() throws Exception {
        governor.destination(rule, "mx1.example.com");
        governor.suspend("mx1.example.com", clock.instant().plus(Duration.ofMinutes(30)), "complaint");
        beans.refresh();
        ObjectName name = GovernorBeans.destinationName("mx1.example.com");

        assertThat(server.getAttribute(name, "FlowControlState")).isEqualTo("SUSPENDED");
        assertThat(server.getAttribute(name, "FlowControlOrigin")).isEqualTo("OPERATOR");
        assertThat(server.getAttribute(name, "FlowControlUntil")).isEqualTo("2026-03-01T10:30:00Z");
        assertThat(server.getAttribute(name, "FlowControlCause")).isEqualTo("an operator suspended: complaint");
        assertThat(server.getAttribute(name, "ConnectionsAllowedNow")).isEqualTo(0);
        assertThat(server.getAttribute(name, "LimitsInForce")).isEqualTo("none: suspended");
    }

    @Test
    void closeShouldUnregisterEveryBean() throws Exception {
        beans.registerGovernor(new FakeRulesFiles(), List::of, new FakeWaitingPlaces());
        governor.destination(rule, "mx1.example.com");
        beans.refresh();

        beans.close();

        assertThat(server.queryNames(new ObjectName("io.github.mxgovernor:*"), null)).isEmpty();
    }

    private Set<String> destinationBeans() throws Exception {
        return server.queryNames(new ObjectName("io.github.mxgovernor:type=Destination,*"), null).stream()
            .map(name -> name.getKeyProperty("name")).collect(Collectors.toSet());
    }
}

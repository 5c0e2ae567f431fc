package io.github.mxgovernor.james.jmx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.Attempts;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.List;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Governor bean as a JMX client sees it: through an MBean server, with open types only. */
class GovernorBeanTest {
    private static final String[] SUSPEND_SIGNATURE = {String.class.getName(), long.class.getName(),
        String.class.getName()};
    private static final String[] ONE_STRING = {String.class.getName()};

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule yahoo = MxRule.builder("yahoo").mxMasks("*.yahoodns.net").maxConnections(4).build();
    private final FakeRulesFiles rules = new FakeRulesFiles();
    private List<DequeueRow> dequeueRows = List.of();
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private final ObjectName name = GovernorBeans.governorName();
    private GovernorBeans beans;
    private Destination yahooMx;

    @BeforeEach
    void register() throws Exception {
        beans = new GovernorBeans(server, governor, Duration.ofMinutes(10), 100);
        beans.registerGovernor(rules, () -> dequeueRows, new FakeWaitingPlaces());
        yahooMx = governor.destination(yahoo, "mta5.am0.yahoodns.net");
    }

    @AfterEach
    void close() {
        beans.close();
    }

    @Test
    void dequeueStatesShouldShowEachMailetsQueueInOpenTypes() throws Exception {
        dequeueRows = List.of(
            new DequeueRow("outgoing", DequeueRow.State.RECOVERING, Instant.parse("2026-03-01T09:59:00Z"), 3,
                Optional.of("MailQueueException: Unable to dequeue next message"),
                Optional.of(Instant.parse("2026-03-01T09:59:00Z")), 7),
            new DequeueRow("other", DequeueRow.State.RUNNING, Instant.parse("2026-03-01T09:00:00Z"), 1,
                Optional.empty(), Optional.empty(), 0));

        CompositeData[] rows = (CompositeData[]) server.getAttribute(name, "DequeueStates");

        assertThat(rows).hasSize(2);
        assertThat(rows[0].get("queue")).isEqualTo("outgoing");
        assertThat(rows[0].get("state")).isEqualTo("RECOVERING");
        assertThat(rows[0].get("since")).isEqualTo("2026-03-01T09:59:00Z");
        assertThat(rows[0].get("errors")).isEqualTo(3L);
        assertThat(rows[0].get("lastError")).isEqualTo("MailQueueException: Unable to dequeue next message");
        assertThat(rows[0].get("lastErrorAt")).isEqualTo("2026-03-01T09:59:00Z");
        assertThat(rows[0].get("inFlight")).isEqualTo(7);
        assertThat(rows[1].get("lastError")).isEqualTo("");
        assertThat(server.getAttribute(name, "DequeueErrors")).isEqualTo(4L);
    }

    @Test
    void attributesShouldShowTotalsConnectionsAndRules() throws Exception {
        governor.stats().recordDelivered(5);
        governor.stats().recordDeferred(DeferralReason.SUSPENDED, 2);
        governor.stats().recordBounced(1);
        yahooMx.tryOpenConnection();
        governor.destination(MxRule.builder("google").mxMasks("*.google.com").limitScope(LimitScope.SHARED).build(),
            "gmail-smtp-in.l.google.com").tryOpenConnection();
        rules.files.add("/etc/james/mx-rules.xml");
        rules.loadedAt = Instant.parse("2026-03-01T09:00:00Z");

        assertThat(server.getAttribute(name, "Delivered")).isEqualTo(5L);
        assertThat(server.getAttribute(name, "Deferred")).isEqualTo(2L);
        assertThat(server.getAttribute(name, "Bounced")).isEqualTo(1L);
        assertThat(server.getAttribute(name, "ActiveConnections")).isEqualTo(2);
        assertThat(server.getAttribute(name, "DestinationsTracked")).isEqualTo(2);
        assertThat(server.getAttribute(name, "RulesFile")).isEqualTo("/etc/james/mx-rules.xml");
        assertThat(server.getAttribute(name, "RulesLoadedAt")).isEqualTo("2026-03-01T09:00:00Z");
    }

    @Test
    void rulesFileShouldSayBuiltInWhenNoMailetNamesOne() throws Exception {
        assertThat(server.getAttribute(name, "RulesFile")).isEqualTo("built-in");
        assertThat(server.getAttribute(name, "RulesLoadedAt")).isEqualTo("");
    }

    @Test
    void deferredByReasonShouldBeATableOfEveryReason() throws Exception {
        governor.stats().recordDeferred(DeferralReason.SUSPENDED, 2);

        TabularData byReason = (TabularData) server.getAttribute(name, "DeferredByReason");

        assertThat(byReason.size()).isEqualTo(DeferralReason.values().length);
        assertThat(byReason.get(new Object[] {"SUSPENDED"}).get("value")).isEqualTo(2L);
        assertThat(byReason.get(new Object[] {"RATE_LIMITED"}).get("value")).isEqualTo(0L);
    }

    @Test
    void suspendShouldHoldTheDestinationForTheMinutesGiven() throws Exception {
        Object status = server.invoke(name, "suspend", new Object[] {"mta5.am0.yahoodns.net", 30L, "complaint"},
            SUSPEND_SIGNATURE);

        assertThat((String) status).contains("SUSPENDED").contains("until 2026-03-01T10:30:00Z")
            .contains("an operator suspended: complaint");
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(yahooMx.flowControlStatus().until()).contains(Instant.parse("2026-03-01T10:30:00Z"));
    }

    @Test
    void backoffShouldReduceTheDestinationsLimits() throws Exception {
        server.invoke(name, "backoff", new Object[] {"mta5.am0.yahoodns.net", 15L, "421s"}, SUSPEND_SIGNATURE);

        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.BACKOFF);
        assertThat(yahooMx.flowControl().maxConnections()).isEqualTo(1);
    }

    @Test
    void resumeShouldReturnTheDestinationToNormal() throws Exception {
        governor.suspend(yahooMx.name(), clock.instant().plus(Duration.ofHours(1)), "complaint");

        Object status = server.invoke(name, "resume", new Object[] {"mta5.am0.yahoodns.net"}, ONE_STRING);

        assertThat((String) status).contains("NORMAL").contains("an operator resumed: over JMX");
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void resetFlowControlShouldClearTheErrorCounts() throws Exception {
        for (int i = 0; i < 20; i++) {
            yahooMx.flowControl().recordAttempt(FlowSignal.FAILED);
        }

        server.invoke(name, "resetFlowControl", new Object[] {"mta5.am0.yahoodns.net"}, ONE_STRING);

        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(yahooMx.flowControlStatus().adaptiveConnectionLimit()).isEqualTo(4);
    }

    @Test
    void cancelAutomaticFlowControlShouldLiftOnlyAnAutomaticState() throws Exception {
        for (int i = 0; i < 20; i++) {
            yahooMx.flowControl().recordAttempt(FlowSignal.FAILED);
        }
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.BACKOFF);

        server.invoke(name, "cancelAutomaticFlowControl", new Object[] {"mta5.am0.yahoodns.net"}, ONE_STRING);

        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void suspendShouldRejectAnUnknownDestination() {
        assertRejected(() -> server.invoke(name, "suspend", new Object[] {"mx.nowhere.test", 30L, "complaint"},
            SUSPEND_SIGNATURE))
            .hasMessage("no destination named 'mx.nowhere.test'; a destination exists once mail was routed to it"
                + " (names are MX host names, rule/host, or shared:rule; see destinations())");
    }

    @Test
    void suspendShouldRejectABlankDestination() {
        assertRejected(() -> server.invoke(name, "suspend", new Object[] {" ", 30L, "complaint"},
            SUSPEND_SIGNATURE))
            .hasMessage("destination must be given: a name as destinations() and the Destination beans show it,"
                + " such as mx1.example.com or shared:google");
    }

    @Test
    void suspendShouldRejectNegativeMinutesAndChangeNothing() {
        assertRejected(() -> server.invoke(name, "suspend", new Object[] {"mta5.am0.yahoodns.net", -5L, "x"},
            SUSPEND_SIGNATURE))
            .hasMessage("minutes must be from 1 to 10080 (a week), was -5");
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void suspendShouldRejectZeroMinutes() {
        assertRejected(() -> server.invoke(name, "suspend", new Object[] {"mta5.am0.yahoodns.net", 0L, "x"},
            SUSPEND_SIGNATURE))
            .hasMessage("minutes must be from 1 to 10080 (a week), was 0");
    }

    @Test
    void backoffShouldRejectMoreThanAWeek() {
        assertRejected(() -> server.invoke(name, "backoff", new Object[] {"mta5.am0.yahoodns.net", 10081L, "x"},
            SUSPEND_SIGNATURE))
            .hasMessage("minutes must be from 1 to 10080 (a week), was 10081");
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void suspendShouldRejectABlankReasonAndChangeNothing() {
        assertRejected(() -> server.invoke(name, "suspend", new Object[] {"mta5.am0.yahoodns.net", 30L, "  "},
            SUSPEND_SIGNATURE))
            .hasMessage("reason must not be blank: say why, it is shown in the destination's state and in the"
                + " deferral records of the mail held back");
        assertThat(yahooMx.flowControlStatus().state()).isEqualTo(FlowState.Kind.NORMAL);
    }

    @Test
    void resumeShouldRejectAnUnknownDestination() {
        assertRejected(() -> server.invoke(name, "resume", new Object[] {"mx.nowhere.test"}, ONE_STRING))
            .hasMessageStartingWith("no destination named 'mx.nowhere.test'");
    }

    @Test
    void resetFlowControlShouldRejectAnUnknownDestination() {
        assertRejected(() -> server.invoke(name, "resetFlowControl", new Object[] {"mx.nowhere.test"}, ONE_STRING))
            .hasMessageStartingWith("no destination named 'mx.nowhere.test'");
    }

    @Test
    void reloadRulesShouldReturnWhatWasReloaded() throws Exception {
        rules.files.add("mx-rules.xml");

        assertThat(server.invoke(name, "reloadRules", new Object[0], new String[0]))
            .isEqualTo("Reloaded [mx-rules.xml]");
        assertThat(rules.reloads).isEqualTo(1);
    }

    @Test
    void reloadRulesShouldPassTheFilesErrorOn() {
        rules.reloadFailure = new IllegalStateException("MX rules not reloaded, the rules in force are unchanged:"
            + " mx-rules.xml:2: rule 'yahoo', field 'maxConnections': must be an integer from 1 to 10000, was '-3'");

        assertThatThrownBy(() -> server.invoke(name, "reloadRules", new Object[0], new String[0]))
            .isInstanceOf(RuntimeMBeanException.class)
            .cause().isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("mx-rules.xml:2: rule 'yahoo', field 'maxConnections'");
    }

    @Test
    void destinationsShouldBeRowsOfOpenTypesOnePerDestinationByName() throws Exception {
        yahooMx.tryOpenConnection();
        yahooMx.stats().recordDelivered(3);
        yahooMx.record(Attempts.replied(SmtpReply.of(250, "2.0.0 OK")));
        governor.destination(yahoo, "mta6.am0.yahoodns.net");
        governor.suspend("mta6.am0.yahoodns.net", clock.instant().plus(Duration.ofMinutes(5)), "complaint");

        CompositeData[] table = (CompositeData[]) server.invoke(name, "destinations", new Object[0], new String[0]);

        assertThat(table).hasSize(2);
        CompositeData first = table[0];
        assertThat(first.get("destination")).isEqualTo("mta5.am0.yahoodns.net");
        assertThat(first.get("rule")).isEqualTo("yahoo");
        assertThat(first.get("state")).isEqualTo("NORMAL");
        assertThat(first.get("activeConnections")).isEqualTo(1);
        assertThat(first.get("maxConnections")).isEqualTo(4);
        assertThat(first.get("delivered")).isEqualTo(3L);
        assertThat(first.get("lastReply")).isEqualTo("250 2.0.0 OK");
        CompositeData second = table[1];
        assertThat(second.get("destination")).isEqualTo("mta6.am0.yahoodns.net");
        assertThat(second.get("state")).isEqualTo("SUSPENDED");
        assertThat(second.get("until")).isEqualTo("2026-03-01T10:05:00Z");
        assertThat((String) second.get("cause")).contains("complaint");
        assertThat(second.get("connectionsAllowedNow")).isEqualTo(0);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(
            org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        return assertThatThrownBy(call).isInstanceOf(RuntimeMBeanException.class)
            .cause().isInstanceOf(IllegalArgumentException.class);
    }
}

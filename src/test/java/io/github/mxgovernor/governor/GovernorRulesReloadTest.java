package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.flowcontrol.BackoffLimits;
import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.rules.HostMask;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class GovernorRulesReloadTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule defaultRule = RuleSet.builtInDefaults().defaultRule();
    private final MxRule yahoo = yahoo(4).source("mx-rules.xml:3").build();

    @Test
    void reloadShouldGiveANormalDestinationItsNewCapAtOnceKeepingItsConnectionsAndCounts() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        List<ConnectionPermit> permits = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            permits.add(destination.tryOpenConnection());
        }
        assertThat(permits).doesNotContainNull();
        destination.stats().recordDelivered(7);
        MxRule lowered = yahoo(2).source("mx-rules.xml:3").build();

        int changed = governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(lowered))));

        assertThat(changed).isEqualTo(1);
        assertThat(destination.rule()).isSameAs(lowered);
        assertThat(destination.overConnectionLimit()).isTrue();
        assertThat(destination.tryOpenConnection()).isNull();
        assertThat(destination.connections().inUse()).isEqualTo(3);
        assertThat(destination.stats().delivered()).isEqualTo(7);
        destination.connectionClosed(permits.get(0));
        assertThat(destination.tryOpenConnection()).isNull();
        destination.connectionClosed(permits.get(1));
        assertThat(destination.tryOpenConnection()).isNotNull();
        assertThat(governor.destination(lowered, "mta5.am0.yahoodns.net")).isSameAs(destination);
    }

    @Test
    void reloadShouldRaiseACapAsWell() {
        Destination destination = governor.destination(yahoo(1).build(), "mta5.am0.yahoodns.net");
        assertThat(destination.tryOpenConnection()).isNotNull();

        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(yahoo))));

        assertThat(destination.tryOpenConnection()).isNotNull();
        assertThat(destination.flowControl().maxConnections()).isEqualTo(4);
    }

    @Test
    void suspendedDestinationShouldKeepItsRuleUntilItIsNormalAgain() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        FlowControl suspended = destination.flowControl();
        governor.suspend(destination.name(), clock.instant().plus(Duration.ofHours(1)), "complaint");
        MxRule lowered = yahoo(2).build();

        int changed = governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(lowered))));
        Destination routed = governor.destination(lowered, "mta5.am0.yahoodns.net");

        assertThat(changed).isZero();
        assertThat(routed).isSameAs(destination);
        assertThat(destination.rule()).isSameAs(yahoo);
        assertThat(destination.flowControl()).isSameAs(suspended);
        assertThat(destination.flowControlStatus().state()).isEqualTo(FlowState.Kind.SUSPENDED);

        governor.resume(destination.name(), "over");
        governor.destination(lowered, "mta5.am0.yahoodns.net");

        assertThat(destination.rule()).isSameAs(lowered);
        assertThat(destination.flowControl().maxConnections()).isEqualTo(2);
    }

    @Test
    void hostRoutedToAnotherRuleShouldTakeThatRuleAfterAReload() {
        Destination destination = governor.destination(yahoo, "mx.example.com");
        MxRule catchAll = MxRule.builder("example").mxMasks("*.example.com").maxConnections(1).build();

        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(catchAll, yahoo(4).build()))));
        Destination routed = governor.destination(catchAll, "mx.example.com");

        assertThat(routed).isSameAs(destination);
        assertThat(destination.rule()).isSameAs(catchAll);
        assertThat(destination.flowControl().maxConnections()).isEqualTo(1);
    }

    @Test
    void ruleFromBeforeAReloadShouldNeverBeTakenAgain() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        MxRule lowered = yahoo(2).build();
        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(lowered))));

        governor.destination(yahoo, "mta5.am0.yahoodns.net");

        assertThat(destination.rule()).isSameAs(lowered);
    }

    @Test
    void firstRuleSeenShouldSetTheLimitsBeforeAnyReload() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");

        governor.destination(yahoo(1).build(), "mta5.am0.yahoodns.net");

        assertThat(destination.rule()).isSameAs(yahoo);
    }

    @Test
    void twoRulesForOneDestinationShouldNotTakeTurnsAfterAReload() {
        Destination destination = governor.destination(yahoo, "mx.example.com");
        MxRule one = MxRule.builder("one").mxMasks("*.example.com").maxConnections(1).build();
        MxRule two = MxRule.builder("two").mxMasks("*.example.com").maxConnections(2).build();
        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(one)), RuleSet.of(defaultRule, List.of(two))));

        governor.destination(one, "mx.example.com");
        FlowControl taken = destination.flowControl();
        governor.destination(two, "mx.example.com");

        assertThat(destination.rule()).isSameAs(one);
        assertThat(destination.flowControl()).isSameAs(taken);
    }

    @Test
    void ruleThatOnlyMovedInItsFileShouldKeepTheDestinationsFlowControl() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        FlowControl flowControl = destination.flowControl();
        MxRule moved = yahoo(4).source("mx-rules.xml:9").build();

        int changed = governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(moved))));

        assertThat(changed).isZero();
        assertThat(destination.rule()).isSameAs(moved);
        assertThat(destination.flowControl()).isSameAs(flowControl);
    }

    @Test
    void aRuleThatTurnedDaneOnOrChangedItsTransactionTimeoutShouldBeTakenAtOnce() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        MxRule withDane = yahoo(4).dane(true).source("mx-rules.xml:3").build();

        assertThat(governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(withDane))))).isEqualTo(1);
        assertThat(destination.rule().dane()).isTrue();

        MxRule slower = yahoo(4).dane(true).transactionTimeout(Duration.ofHours(1)).source("mx-rules.xml:3").build();
        assertThat(governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(slower))))).isEqualTo(1);
        assertThat(destination.rule().transactionTimeout()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void namesakeThatNoLongerMatchesTheHostShouldWaitForRouting() {
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        MxRule elsewhere = MxRule.builder("yahoo").mxMasks("*.yahoo.com").maxConnections(1).build();

        int changed = governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(elsewhere))));

        assertThat(changed).isZero();
        assertThat(destination.rule()).isSameAs(yahoo);
    }

    @Test
    void namesakeWhoseScopeChangedShouldNotApplyToTheOldDestinations() {
        Destination perHost = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        MxRule shared = yahoo(8).limitScope(LimitScope.SHARED).build();

        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(shared))));

        assertThat(perHost.rule()).isSameAs(yahoo);
        assertThat(governor.destination(shared, "mta5.am0.yahoodns.net").name()).isEqualTo("shared:yahoo");
    }

    @Test
    void sharedDestinationShouldTakeItsNamesake() {
        Destination destination = governor.destination(yahoo(4).limitScope(LimitScope.SHARED).build(), "mta5.test");
        MxRule shared = yahoo(8).limitScope(LimitScope.SHARED).build();

        governor.applyRules(List.of(RuleSet.of(defaultRule, List.of(shared))));

        assertThat(destination.rule()).isSameAs(shared);
    }

    @Test
    void messagesLastHourShouldCountTokensTakenUnderEveryBudget() {
        FlowControlPolicy slower = FlowControlPolicy.builder()
            .backoff(new BackoffLimits(OptionalInt.empty(), OptionalInt.empty(), OptionalLong.of(600))).build();
        Destination destination = governor.destination(MxRule.builder("r").mxMasks("*").messagesPerHour(6000)
            .flowControl(slower).build(), "mx.example.com");
        destination.budget().tryConsume();
        destination.budget().tryConsume();
        destination.budget().refund();
        governor.backoff(destination.name(), clock.instant().plus(Duration.ofMinutes(5)), null);
        destination.budget().tryConsume();

        assertThat(destination.budget()).isNotSameAs(destination.rate());
        assertThat(destination.messagesLastHour()).isEqualTo(2);
        clock.advance(Duration.ofMinutes(61));
        assertThat(destination.messagesLastHour()).isZero();
    }

    private static MxRule.Builder yahoo(int maxConnections) {
        return MxRule.builder("yahoo").mxMasks(List.of(HostMask.parse("*.yahoodns.net")))
            .maxConnections(maxConnections);
    }
}

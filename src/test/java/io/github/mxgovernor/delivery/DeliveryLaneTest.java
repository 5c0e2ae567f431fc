package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.LaneFixture.outcome;
import static io.github.mxgovernor.delivery.LaneFixture.part;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.rules.MxRule;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/** One lane on fake time, with sessions whose futures the test completes by hand. */
class DeliveryLaneTest {
    private static final Duration LANE_WAIT = EngineHarness.LANE_WAIT;
    private static final String HOST = "mx1.example.com";

    private final LaneFixture fixture = new LaneFixture();
    private final FakeSmtpSessions sessions = fixture.sessions;

    @Test
    void dispatchShouldOpenNoMoreSessionsThanTheCapAndKeepTheRestWaiting() {
        DeliveryLane lane = lane(rule().maxConnections(2));
        sessions.holdOpens = true;
        sessions.holdTransactions = true;
        List<PendingPart> parts = offer(lane, 3);

        assertThat(sessions.pending()).as("openings started").isEqualTo(2);
        assertThat(lane.waitingCount()).isEqualTo(1);
        assertThat(lane.busyCount()).isEqualTo(2);
        assertThat(lane.destination().connections().inUse()).isEqualTo(2);

        sessions.releaseAll();

        assertThat(parts).allSatisfy(part -> assertThat(outcome(part).kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(sessions.opened).hasValue(2);
        assertThat(sessions.peakSending).hasValue(2);
        assertThat(lane.idleCount()).isEqualTo(2);
        assertThat(lane.busyCount()).isZero();
    }

    @Test
    void aPartShouldLeaveAfterMaxLaneWaitOnTheTickerWithAReturnSlot() {
        DeliveryLane lane = lane(rule().maxConnections(1));
        sessions.holdTransactions = true;
        offer(lane, 1);
        PendingPart waiting = offer(lane, "waiting");

        fixture.time.advance(LANE_WAIT.minusMillis(1));
        lane.sweep();
        assertThat(waiting.isDone()).isFalse();
        fixture.time.advance(Duration.ofMillis(1));
        lane.sweep();

        Outcome outcome = outcome(waiting);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(outcome.nextAttemptAt()).as("pace not measured yet: back in 0.8 s")
            .contains(fixture.clock.instant().plusMillis(LanePace.UNMEASURED_RETURN_MILLIS));
    }

    @Test
    void aPartTurnedAwayShouldComeBackWhenTheLanesSessionsHaveCarriedThoseWaiting() {
        LaneFixture small = new LaneFixture(EngineHarness.settings().laneCapacity(5).build());
        DeliveryLane lane = small.lane(small.destination(rule().maxConnections(5).build(), HOST));
        small.sessions.holdTransactions = true;
        offer(lane, 10);
        small.time.advance(Duration.ofMillis(400));
        for (int i = 0; i < 5; i++) {
            small.sessions.releaseOne();
        }
        assertThat(lane.busyCount()).as("the five sessions took the five waiting").isEqualTo(5);
        offer(lane, 5);

        Outcome surplus = outcome(offer(lane, "surplus"));

        // five sessions, 400 ms a part each: 12.5 parts a second, so the five waiting are out in 400 ms
        assertThat(surplus.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(surplus.nextAttemptAt()).contains(small.clock.instant().plusMillis(400));
    }

    @Test
    void aClosingSessionsSlotShouldComeBackOnlyOnceItIsGoneAndThenServeTheNextPart() {
        DeliveryLane lane = lane(rule().maxConnections(1).idleTimeout(Duration.ofSeconds(10)));
        assertThat(outcome(offer(lane, "first")).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        sessions.holdCloses = true;
        fixture.time.advance(Duration.ofSeconds(10));
        lane.sweep();
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");

        PendingPart next = offer(lane, "next", "mx2.example.com");
        assertThat(lane.destination().connections().inUse()).isEqualTo(1);
        assertThat(next.isDone()).isFalse();

        sessions.releaseAll();

        assertThat(outcome(next).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened).hasValue(2);
        assertThat(sessions.peak).hasValue(1);
    }

    @Test
    void atTheCapAnIdleSessionThatCannotCarryTheNextPartShouldMakeRoomForOneThatCan() {
        Destination shared = fixture.destination(MxRule.builder("provider").mxMasks("*.example.com")
            .limitScope(io.github.mxgovernor.rules.LimitScope.SHARED).maxConnections(1).build(), HOST);
        DeliveryLane lane = fixture.lane(shared);
        assertThat(outcome(offer(lane, "first")).kind()).isEqualTo(Outcome.Kind.DELIVERED);

        PendingPart other = offer(lane, "other", "mx2.example.com");

        assertThat(outcome(other).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");
        assertThat(sessions.peak).hasValue(1);
    }

    @Test
    void retryingOnAFreshSessionShouldRefundTheTokenOnceAndOpenANewSession() {
        // two tokens: without the refund the retried part would wait half a minute for a third
        DeliveryLane lane = lane(rule().messagesPerHour(120));
        assertThat(outcome(offer(lane, "first")).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        sessions.staleAfterFirstTransaction = true;

        PendingPart second = offer(lane, "second");

        assertThat(outcome(second).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.opened).hasValue(2);
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "send", "close");
        assertThat(lane.destination().connections().inUse()).isEqualTo(1);
    }

    @Test
    void aPartShouldBeRetriedOnAFreshSessionOnlyOnce() {
        DeliveryLane lane = lane(rule());
        sessions.holdOpens = true;
        PendingPart part = offer(lane, "part");
        MessageToken token = MessageToken.tryTake(lane.destination().budget());

        assertThat(lane.retryOnFreshSession(part, token, null)).isTrue();
        assertThat(token.refund()).as("refunded by the retry").isFalse();
        assertThat(lane.retryOnFreshSession(part, token, null)).isFalse();
    }

    @Test
    void aLoweredCapShouldBeHonouredAtReuseSoNoMoreSessionsCarryMailThanTheNewCap() {
        DeliveryLane lane = lane(rule().maxConnections(5));
        sessions.holdTransactions = true;
        offer(lane, 5);
        sessions.releaseAll();
        assertThat(lane.idleCount()).isEqualTo(5);

        fixture.reload(rule().maxConnections(2).build());
        sessions.peakSending.set(0);
        List<PendingPart> parts = offer(lane, 6);
        assertThat(sessions.sendingNow).hasValue(2);
        sessions.releaseAll();

        assertThat(parts).allSatisfy(part -> assertThat(outcome(part).kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(sessions.peakSending).hasValue(2);
        assertThat(sessions.sessions.stream().filter(session -> session.calls.contains("close")))
            .as("the three beyond the new cap closed").hasSize(3);
        assertThat(sessions.sessions.stream().filter(session -> session.calls.stream()
            .filter("send"::equals).count() > 1).collect(Collectors.toList())).hasSize(2);
        assertThat(lane.destination().connections().inUse()).isEqualTo(2);
    }

    @Test
    void aPartWithoutATokenShouldWaitForTheLaneToWakeWhenOneIsDue() {
        DeliveryLane lane = lane(rule().messagesPerHour(60));
        assertThat(outcome(offer(lane, "first")).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        PendingPart next = offer(lane, "next");

        assertThat(fixture.time.pendingDelays()).singleElement().satisfies(delay ->
            assertThat(delay).isBetween(Duration.ofSeconds(59), Duration.ofSeconds(60)));
        fixture.time.advance(Duration.ofSeconds(60));

        assertThat(outcome(next).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void aSuspendedDestinationShouldSendEveryWaitingAndOfferedPartBackUntilItsEnd() {
        DeliveryLane lane = lane(rule().maxConnections(1));
        sessions.holdTransactions = true;
        offer(lane, 1);
        PendingPart waiting = offer(lane, "waiting");

        fixture.governor.suspend(HOST, fixture.clock.instant().plus(Duration.ofHours(1)), "test");
        PendingPart offered = offer(lane, "offered");
        lane.dispatch();

        assertThat(outcome(offered).reason()).contains(DeferralReason.SUSPENDED);
        assertThat(outcome(waiting).reason()).contains(DeferralReason.SUSPENDED);
        assertThat(outcome(waiting).nextAttemptAt().get()).isAfterOrEqualTo(fixture.clock.instant()
            .plus(Duration.ofHours(1)));
    }

    @Test
    void stoppingShouldHandBackWaitingPartsAndCloseBusySessionsAfterTheirMail() {
        DeliveryLane lane = lane(rule().maxConnections(2));
        sessions.holdTransactions = true;
        PendingPart busy = offer(lane, "busy");
        PendingPart busyToo = offer(lane, "busy-too", "mx2.example.com");
        PendingPart waiting = offer(lane, "waiting", "mx3.example.com");

        List<PendingPart> handedBack = lane.stop();
        sessions.releaseAll();

        assertThat(handedBack).containsExactly(waiting);
        assertThat(outcome(busy).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome(busyToo).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.sessions).allSatisfy(session -> assertThat(session.calls).containsExactly("send", "close"));
        assertThat(lane.destination().connections().inUse()).isZero();
    }

    @Test
    void stoppingShouldCloseIdleSessions() {
        DeliveryLane lane = lane(rule());
        assertThat(outcome(offer(lane, "idle")).kind()).isEqualTo(Outcome.Kind.DELIVERED);

        assertThat(lane.stop()).isEmpty();

        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");
        assertThat(lane.idleCount()).isZero();
        assertThat(lane.destination().connections().inUse()).isZero();
    }

    private DeliveryLane lane(MxRule.Builder rule) {
        return fixture.lane(fixture.destination(rule.build(), HOST));
    }

    private static MxRule.Builder rule() {
        return MxRule.builder("all").mxMasks("*");
    }

    private static List<PendingPart> offer(DeliveryLane lane, int count) {
        List<PendingPart> parts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            parts.add(offer(lane, "user" + i));
        }
        return parts;
    }

    private static PendingPart offer(DeliveryLane lane, String localPart, String... otherHosts) {
        String[] hosts = otherHosts.length == 0 ? new String[] {HOST} : otherHosts;
        PendingPart part = part(localPart, hosts);
        assertThat(lane.offer(part)).isTrue();
        return part;
    }
}

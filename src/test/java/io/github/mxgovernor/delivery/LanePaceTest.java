package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class LanePaceTest {
    private final LanePace pace = new LanePace();

    /** Takes {@code parts} parts into service over one backlogged second starting at {@code from}. */
    private void backloggedSecond(long from, int parts) {
        pace.sample(from, true);
        for (int i = 0; i < parts; i++) {
            pace.taken();
        }
        pace.sample(from + 1000, true);
    }

    @Test
    void beforeAnyMeasurementAPartShouldComeBackWhenThePaceWillBeKnown() {
        pace.sample(0, true);
        pace.taken();
        pace.sample(LanePace.SAMPLE_MILLIS - 1, true);

        assertThat(pace.perSecond()).isZero();
        assertThat(pace.takeReturnSlot(399, 10)).isEqualTo(OptionalLong.of(399 + LanePace.UNMEASURED_RETURN_MILLIS));
    }

    @Test
    void aLaneMeasuredToTakeNothingShouldLeaveTheDelayToTheCaller() {
        pace.sample(0, true);
        pace.sample(1000, true);

        assertThat(pace.takeReturnSlot(1000, 10)).isEmpty();
    }

    @Test
    void theTimeALaneWaitsWithoutAnySessionShouldNotCountAsSlowService() {
        // five seconds with parts waiting and no session at all (another node holds the cluster's connections)
        for (long now = 0; now <= 5000; now += 100) {
            pace.sample(now, 20, 0);
        }
        assertThat(pace.takeReturnSlot(5000, 20)).as("nothing measured, nothing taken: back soon")
            .isEqualTo(OptionalLong.of(5000 + LanePace.UNMEASURED_RETURN_MILLIS));

        // then one session takes 10 parts in half a second
        pace.sample(5100, 20, 1);
        for (int i = 0; i < 10; i++) {
            pace.taken();
        }
        pace.sample(5600, 10, 1);

        assertThat(pace.perSecond()).isEqualTo(20.0);
        assertThat(pace.takeReturnSlot(5600, 10)).as("the 10 waiting go first, at 50 ms each")
            .isEqualTo(OptionalLong.of(5600 + 10 * 50));
    }

    @Test
    void paceShouldBeThePartsTakenPerSecondWhileBacklogged() {
        backloggedSecond(0, 20);

        assertThat(pace.perSecond()).isEqualTo(20.0);
    }

    @Test
    void laterMeasurementsShouldMoveThePaceGradually() {
        backloggedSecond(0, 20);
        for (int i = 0; i < 10; i++) {
            pace.taken();
        }
        pace.sample(2000, true);

        assertThat(pace.perSecond()).isEqualTo(20 * 0.7 + 10 * 0.3);
    }

    @Test
    void partsTakenWithoutABacklogShouldNotCount() {
        pace.sample(0, false);
        for (int i = 0; i < 100; i++) {
            pace.taken();
        }
        pace.sample(500, true);
        for (int i = 0; i < 5; i++) {
            pace.taken();
        }
        pace.sample(1500, true);

        assertThat(pace.perSecond()).isEqualTo(5.0);
    }

    @Test
    void aBacklogEndingBeforeAFullPeriodShouldMeasureNothing() {
        pace.sample(0, true);
        pace.taken();
        pace.sample(300, false);
        pace.sample(600, true);

        assertThat(pace.perSecond()).isZero();
        assertThat(pace.takeReturnSlot(600, 1)).isEqualTo(OptionalLong.of(600 + LanePace.UNMEASURED_RETURN_MILLIS));
    }

    @Test
    void returnSlotsShouldFollowTheBacklogThenOnePerServiceInterval() {
        backloggedSecond(0, 4);

        assertThat(pace.takeReturnSlot(1000, 8)).isEqualTo(OptionalLong.of(3000));
        assertThat(pace.takeReturnSlot(1000, 8)).isEqualTo(OptionalLong.of(3250));
        assertThat(pace.takeReturnSlot(1100, 8)).isEqualTo(OptionalLong.of(3500));
        // the lane goes on at its pace; once the slots handed out are behind, the backlog of the moment decides again
        for (int i = 0; i < 16; i++) {
            pace.taken();
        }
        pace.sample(5000, true);
        assertThat(pace.takeReturnSlot(5000, 2)).isEqualTo(OptionalLong.of(5500));
    }

    @Test
    void aBacklogEndingAfterAFullPeriodShouldCountThePartsTakenInIt() {
        pace.sample(0, true);
        pace.taken();
        pace.taken();
        pace.sample(400, true);
        pace.taken();
        pace.sample(1000, false);

        assertThat(pace.perSecond()).isEqualTo(5 * 0.7 + 1000.0 / 600 * 0.3);
    }

    @Test
    void aLaneThatTakesNothingForLongerThanItsIntervalShouldGetLaterSlots() {
        backloggedSecond(0, 4);
        pace.sample(2000, true);
        pace.sample(3000, true);

        assertThat(pace.perSecond()).as("no measurement without a part taken").isEqualTo(4.0);
        assertThat(pace.takeReturnSlot(3000, 2)).as("nothing taken for 2 s: at least 2 s per part")
            .isEqualTo(OptionalLong.of(3000 + 2 * 2000));
    }

    /**
     * One connection that carries a part every 1.4 s, and now and then is replaced (QUIT, connect, greeting, EHLO:
     * 2.8 s without a part), swept every 200 ms as the engine does: the return slot of a part turned away with two
     * waiting stays within what three parts take at the slowest spacing seen. Periods without a part counted as a
     * pace of 0 once took it to a tenth of the real one, and such a part came back after 26 s.
     */
    @Test
    void aSlowLaneShouldKeepItsPaceThroughTheGapsBetweenItsParts() {
        long[] takes = {0, 2800, 4200, 5600, 7000, 8400, 11200, 12600};
        int next = 0;
        for (long now = 0; now <= 11_000; now += 200) {
            while (next < takes.length && takes[next] <= now) {
                pace.taken();
                next++;
            }
            pace.sample(now, true);
        }

        OptionalLong slot = pace.takeReturnSlot(11_000, 2);
        assertThat(pace.perSecond()).isBetween(1 / 2.8, 1 / 1.4);
        assertThat(slot).isPresent();
        assertThat(slot.getAsLong() - 11_000).isBetween(2 * 1400L, 3 * 2800L);
    }

    @Test
    void aReturnSlotShouldBeAtMostAnHourAway() {
        pace.sample(0, true);
        pace.taken();
        pace.sample(100_000, true);

        assertThat(pace.perSecond()).isEqualTo(0.01);
        assertThat(pace.takeReturnSlot(100_000, 1000))
            .isEqualTo(OptionalLong.of(100_000 + LanePace.MAX_RETURN_DELAY.toMillis()));
    }
}

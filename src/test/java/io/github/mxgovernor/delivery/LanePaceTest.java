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
        // once the slots handed out are behind, the backlog of the moment decides again
        assertThat(pace.takeReturnSlot(5000, 2)).isEqualTo(OptionalLong.of(5500));
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

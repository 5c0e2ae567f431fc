package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

class LanePaceTest {
    private static final double NO_RATE = Double.POSITIVE_INFINITY;

    private final LanePace pace = new LanePace();

    private static long millis(long millis) {
        return millis * 1_000_000L;
    }

    @Test
    void beforeAnOpenSessionCarriedAPartAPartShouldComeBackWhenThePaceWillBeKnown() {
        pace.opened(millis(600));

        assertThat(pace.perSecond(5, 100, NO_RATE)).isZero();
        assertThat(pace.takeReturnSlot(399, 10, 0)).isEqualTo(OptionalLong.of(399 + LanePace.UNMEASURED_RETURN_MILLIS));
    }

    @Test
    void aLaneStalledBeforeAnyMeasurementShouldLeaveTheDelayToTheCaller() {
        pace.sample(0, 10, 1);
        pace.sample(LanePace.STALL_MILLIS, 10, 1);

        assertThat(pace.takeReturnSlot(LanePace.STALL_MILLIS, 10, 0)).isEmpty();
    }

    @Test
    void paceShouldBeTheSessionsTimesWhatOneOpenSessionCarriesPerSecond() {
        pace.carried(millis(400));

        assertThat(pace.perSecond(5, 10_000, NO_RATE)).isEqualTo(12.5);
        assertThat(pace.perSecond(1, 10_000, NO_RATE)).isEqualTo(2.5);
        assertThat(pace.perSecond(0, 10_000, NO_RATE)).as("a lane without a session yet counts one").isEqualTo(2.5);
    }

    @Test
    void openingShouldBeSharedByTheMailsAConnectionMayCarry() {
        pace.opened(millis(600));
        pace.carried(millis(400));

        assertThat(pace.perSecond(1, 1, NO_RATE)).as("one mail per connection: 1 s a part").isEqualTo(1.0);
        assertThat(pace.perSecond(1, 3, NO_RATE)).as("three: 600 ms a part").isCloseTo(1000.0 / 600, within(1e-9));
    }

    @Test
    void thePaceShouldNeverExceedTheRulesRate() {
        pace.carried(millis(10));

        assertThat(pace.perSecond(5, 100, 3600 / 3600.0)).isEqualTo(1.0);
    }

    @Test
    void laterPartsShouldMoveTheMeanGradually() {
        pace.carried(millis(400));
        pace.carried(millis(1400));

        assertThat(pace.perSecond(1, 10_000, NO_RATE)).isCloseTo(1000.0 / 500, within(1e-9));
    }

    /**
     * A lane fed a few parts at a time (the queue was busy with other mail), with one part or none waiting whenever it
     * is looked at: it took about four parts a second, but each of its five sessions carries a part in 400 ms. Measured
     * by the parts it took, a burst's surplus was sent back at four a second and the lane, starved by its own return
     * slots, never measured better; the FlowControlIT healthy destinations took 23 s, and on a loaded machine more
     * than a minute, for a burst their connections carry in ten.
     */
    @Test
    void aLaneFedSlowerThanItServesShouldBePacedByWhatItsSessionsCanDo() {
        for (long now = 0; now < 5000; now += 250) {
            pace.sample(now, 1, 1);
            pace.taken(now);
            pace.carried(millis(400));
        }

        assertThat(pace.perSecond(5, 10_000, NO_RATE)).isEqualTo(12.5);
        assertThat(pace.takeReturnSlot(5000, 125, pace.perSecond(5, 10_000, NO_RATE)))
            .as("the 125 waiting go out in 10 s").isEqualTo(OptionalLong.of(5000 + 10_000));
    }

    @Test
    void returnSlotsShouldFollowTheBacklogThenOnePerServiceInterval() {
        assertThat(pace.takeReturnSlot(1000, 8, 4)).isEqualTo(OptionalLong.of(3000));
        assertThat(pace.takeReturnSlot(1000, 8, 4)).isEqualTo(OptionalLong.of(3250));
        assertThat(pace.takeReturnSlot(1100, 8, 4)).isEqualTo(OptionalLong.of(3500));
        // once the slots handed out are behind, the backlog of the moment decides again
        assertThat(pace.takeReturnSlot(5000, 2, 4)).isEqualTo(OptionalLong.of(5500));
    }

    @Test
    void aLaneThatTakesNothingForLongerThanItsIntervalShouldGetLaterSlots() {
        pace.carried(millis(250));
        pace.sample(0, 10, 1);
        pace.taken(1000);
        pace.sample(2000, 10, 1);
        pace.sample(3000, 10, 1);

        assertThat(pace.takeReturnSlot(3000, 2, pace.perSecond(1, 100, NO_RATE)))
            .as("nothing taken for 2 s: at least 2 s per part").isEqualTo(OptionalLong.of(3000 + 2 * 2000));
    }

    @Test
    void theTimeALaneWaitsWithoutAnySessionShouldNotCountAsAStall() {
        pace.carried(millis(50));
        // five seconds with parts waiting and no session at all (another node holds the cluster's connections)
        for (long now = 0; now <= 5000; now += 100) {
            pace.sample(now, 20, 0);
        }

        assertThat(pace.takeReturnSlot(5000, 10, pace.perSecond(1, 100, NO_RATE)))
            .as("the 10 waiting go first, at 50 ms each").isEqualTo(OptionalLong.of(5000 + 10 * 50));
    }

    @Test
    void aLaneWhoseBacklogEndedShouldNotCountAsStalled() {
        pace.carried(millis(100));
        pace.sample(0, 10, 1);
        pace.sample(200, 0, 1);
        pace.sample(5000, 10, 1);

        assertThat(pace.takeReturnSlot(5000, 1, pace.perSecond(1, 100, NO_RATE)))
            .isEqualTo(OptionalLong.of(5000 + 100));
    }

    @Test
    void aReturnSlotShouldBeAtMostAnHourAway() {
        pace.carried(millis(100_000));

        assertThat(pace.takeReturnSlot(100_000, 1000, pace.perSecond(1, 100, NO_RATE)))
            .isEqualTo(OptionalLong.of(100_000 + LanePace.MAX_RETURN_DELAY.toMillis()));
    }
}

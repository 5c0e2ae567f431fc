package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class HourlyCountTest {
    private static final long MINUTE = Duration.ofMinutes(1).toMillis();
    private static final long START = 1_780_000_000_000L / HourlyCount.SLICE_MILLIS * HourlyCount.SLICE_MILLIS;

    private final HourlyCount count = new HourlyCount();

    @Test
    void totalShouldCoverTheLastHourInTenMinuteSlices() {
        count.add(START, 1);
        count.add(START + 15 * MINUTE, 2);
        count.add(START + 45 * MINUTE, 4);

        assertThat(count.total(START + 59 * MINUTE)).isEqualTo(7);
        assertThat(count.total(START + 60 * MINUTE)).isEqualTo(6);
        assertThat(count.total(START + 75 * MINUTE)).isEqualTo(4);
        assertThat(count.total(START + 110 * MINUTE)).isZero();
    }

    @Test
    void sliceReusedAnHourLaterShouldStartFromZero() {
        count.add(START, 5);

        count.add(START + 60 * MINUTE, 1);

        assertThat(count.total(START + 60 * MINUTE)).isEqualTo(1);
    }

    @Test
    void givingBackShouldNeverGoBelowZero() {
        count.add(START, 1);
        count.add(START + 10 * MINUTE, -1);
        count.add(START + 10 * MINUTE, 1);
        count.add(START + 10 * MINUTE, -1);

        assertThat(count.total(START + 10 * MINUTE)).isEqualTo(1);
    }
}

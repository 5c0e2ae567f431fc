package io.github.mxgovernor.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SlicedWindowTest {
    private final SlicedWindow window = new SlicedWindow(4, 1000);

    @Test
    void aSumShouldCoverTheCurrentSliceAndThoseBeforeItWithinTheWindow() {
        window.update(0, 1, Long::sum);
        window.update(999, 2, Long::sum);
        window.update(1000, 4, Long::sum);
        window.update(3999, 8, Long::sum);

        assertThat(window.sum(3999, value -> value)).isEqualTo(15);
        assertThat(window.sum(4000, value -> value)).as("the first slice left the window").isEqualTo(12);
        assertThat(window.sum(6999, value -> value)).isEqualTo(8);
        assertThat(window.sum(7000, value -> value)).isZero();
    }

    @Test
    void aSliceComingBackRoundShouldStartFromZero() {
        window.update(500, 7, Long::sum);

        window.update(4500, 1, Long::sum);

        assertThat(window.sum(4500, value -> value)).isEqualTo(1);
    }

    @Test
    void valuesShouldStayWithinZeroAndTheMaximum() {
        window.update(0, -5, Long::sum);
        assertThat(window.sum(0, value -> value)).isZero();

        window.update(0, SlicedWindow.MAX_VALUE, Long::sum);
        window.update(0, 10, Long::sum);
        assertThat(window.sum(0, value -> value)).isEqualTo(SlicedWindow.MAX_VALUE);
    }

    @Test
    void clearShouldForgetEverySlice() {
        window.update(0, 3, Long::sum);
        window.update(1000, 3, Long::sum);

        window.clear();

        assertThat(window.sum(1000, value -> value)).isZero();
    }

    @Test
    void aWindowNeedsTwoSlices() {
        assertThatThrownBy(() -> new SlicedWindow(1, 1000)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a window needs at least 2 slices, was 1");
    }
}

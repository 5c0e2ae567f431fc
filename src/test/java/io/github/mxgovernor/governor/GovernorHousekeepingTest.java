package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;

import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

/** The governor forgets idle destinations by itself, on the scheduler it is given, whatever a pass throws. */
class GovernorHousekeepingTest {
    private final FakeClock time = FakeClock.at("2026-03-01T10:00:00Z");
    private final FailingClock clock = new FailingClock(time);
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("all").mxMasks("*").maxConnections(2).build();
    private final ScheduledExecutorService scheduler = mock(ScheduledExecutorService.class);

    @Test
    void housekeepingShouldForgetDestinationsIdleForAnHourEveryMinute() {
        Runnable pass = startHousekeeping();
        governor.destination(rule, "idle.example.com");
        time.advance(Duration.ofMinutes(59));
        governor.destination(rule, "recent.example.com");

        pass.run();
        assertThat(governor.destinations()).hasSize(2);

        time.advance(Duration.ofMinutes(2));
        pass.run();

        assertThat(governor.find("idle.example.com")).isEmpty();
        assertThat(governor.find("recent.example.com")).isPresent();
    }

    @Test
    void anErrorInAPassShouldBeLoggedAndTheNextPassShouldRun() {
        Runnable pass = startHousekeeping();
        governor.destination(rule, "idle.example.com");
        time.advance(Duration.ofHours(2));

        clock.failNext = new StackOverflowError("injected");
        assertThatCode(pass::run).doesNotThrowAnyException();
        assertThat(governor.find("idle.example.com")).isPresent();

        pass.run();

        assertThat(governor.find("idle.example.com")).isEmpty();
    }

    private Runnable startHousekeeping() {
        governor.startHousekeeping(scheduler);
        ArgumentCaptor<Runnable> task = ArgumentCaptor.forClass(Runnable.class);
        verify(scheduler).scheduleWithFixedDelay(task.capture(), anyLong(), eq(Duration.ofMinutes(1).toMillis()),
            eq(TimeUnit.MILLISECONDS));
        return task.getValue();
    }

    /** A clock whose next reading throws, once. */
    private static final class FailingClock extends Clock {
        private final Clock delegate;
        volatile Error failNext;

        FailingClock(Clock delegate) {
            this.delegate = delegate;
        }

        @Override
        public ZoneId getZone() {
            return delegate.getZone();
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long millis() {
            Error failure = failNext;
            if (failure != null) {
                failNext = null;
                throw failure;
            }
            return delegate.millis();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }
    }
}

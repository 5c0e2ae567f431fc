package io.github.mxgovernor.james;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** A timer whose tasks run only when a test says so; it keeps the delay each was scheduled with. */
final class ManualTimer {
    private final ScheduledExecutorService timer = mock(ScheduledExecutorService.class);
    private final List<Runnable> waiting = new ArrayList<>();
    private final List<Duration> delays = new ArrayList<>();

    ManualTimer() {
        when(timer.schedule(any(Runnable.class), anyLong(), any(TimeUnit.class))).thenAnswer(invocation -> {
            synchronized (this) {
                waiting.add(invocation.getArgument(0));
                delays.add(Duration.ofMillis(((TimeUnit) invocation.getArgument(2))
                    .toMillis(invocation.getArgument(1))));
            }
            return mock(ScheduledFuture.class);
        });
    }

    ScheduledExecutorService scheduler() {
        return timer;
    }

    /** Runs the tasks waiting now (not those they schedule); returns how many ran. */
    int runWaiting() {
        List<Runnable> due;
        synchronized (this) {
            due = new ArrayList<>(waiting);
            waiting.clear();
        }
        due.forEach(Runnable::run);
        return due.size();
    }

    synchronized int waitingCount() {
        return waiting.size();
    }

    /** Every delay asked for so far, in order. */
    synchronized List<Duration> delays() {
        return List.copyOf(delays);
    }
}

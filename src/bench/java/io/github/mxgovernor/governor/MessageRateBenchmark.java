package io.github.mxgovernor.governor;

import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A message token taken from one destination's {@link MessageRate}, counted toward its hourly count as the
 * governor's destinations do:
 * <ul>
 *   <li>{@code unlimited}: a rule without {@code messagesPerHour} (every shipped preset in NORMAL state);</li>
 *   <li>{@code limitedGranted}: the Bucket4j bucket of the highest rate a rule may set (100,000,000 an hour) on a
 *       {@link FastForwardClock} that refills it faster than the benchmark drains it; the {@code refused} counter
 *       shows that (almost) every call got its token;</li>
 *   <li>{@code limitedRefused}: an empty bucket of 1 an hour, and the wait a lane asks for after the refusal.</li>
 * </ul>
 * One rate shared by all threads. Run with {@code -prof gc} to see the allocation per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MessageRateBenchmark {
    private static final long HIGHEST_RATE = 100_000_000L;
    private static final long CLOCK_SPEED = 10_000;

    private MessageRate unlimited;
    private MessageRate limited;
    private MessageRate exhausted;

    /** Calls refused a token, per thread and iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Refusals {
        public long refused;

        @Setup(Level.Iteration)
        public void clear() {
            refused = 0;
        }
    }

    @Setup
    public void setUp() {
        unlimited = new MessageRate(OptionalLong.empty(), Ticker.SYSTEM, Clock.systemUTC(), new HourlyCount());
        FastForwardClock fast = new FastForwardClock(CLOCK_SPEED);
        limited = new MessageRate(OptionalLong.of(HIGHEST_RATE), fast, fast, new HourlyCount());
        exhausted = new MessageRate(OptionalLong.of(1), Ticker.SYSTEM, Clock.systemUTC(), new HourlyCount());
        if (!exhausted.tryConsume() || exhausted.tryConsume()) {
            throw new IllegalStateException("a bucket of 1 an hour should grant exactly one token at first");
        }
    }

    @Benchmark
    @Threads(1)
    public boolean unlimited() {
        return unlimited.tryConsume();
    }

    @Benchmark
    @Threads(1)
    public boolean limitedGrantedOneThread(Refusals refusals) {
        return take(refusals);
    }

    @Benchmark
    @Threads(2)
    public boolean limitedGrantedTwoThreads(Refusals refusals) {
        return take(refusals);
    }

    /** What a lane does when the bucket is empty: asks, is refused, asks how long to wait. */
    @Benchmark
    @Threads(1)
    public Duration limitedRefused() {
        return exhausted.tryConsume() ? Duration.ZERO : exhausted.timeUntilToken();
    }

    private boolean take(Refusals refusals) {
        boolean granted = limited.tryConsume();
        if (!granted) {
            refusals.refused++;
        }
        return granted;
    }
}

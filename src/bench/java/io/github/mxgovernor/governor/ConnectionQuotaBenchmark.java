package io.github.mxgovernor.governor;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A connection slot taken and given back on one destination's {@link ConnectionQuota}, the cost a lane pays per
 * connection (per mail when connections carry one mail each). One quota shared by all threads, so two threads
 * contend on it; {@code withReader} pairs one thread taking and giving back slots with one reading the count, as
 * lanes do before each further mail on a connection. The cap is never reached: this is the price of a yes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConnectionQuotaBenchmark {
    private static final int CAP = 1000;

    private final ConnectionQuota quota = new ConnectionQuota();

    @Benchmark
    @Threads(1)
    public boolean acquireReleaseOneThread() {
        return takeAndGiveBack();
    }

    @Benchmark
    @Threads(2)
    public boolean acquireReleaseTwoThreads() {
        return takeAndGiveBack();
    }

    @Benchmark
    @Group("withReader")
    @GroupThreads(1)
    public boolean acquireRelease() {
        return takeAndGiveBack();
    }

    @Benchmark
    @Group("withReader")
    @GroupThreads(1)
    public int inUse() {
        return quota.inUse();
    }

    private boolean takeAndGiveBack() {
        boolean acquired = quota.tryAcquire(CAP);
        if (acquired) {
            quota.release();
        }
        return acquired;
    }
}

package io.github.mxgovernor.flowcontrol;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The flow-control work on the delivery path of one mail, in NORMAL state with the built-in policy (error-rate
 * window and adaptive concurrency on): the lane's decision (connection cap, mails per connection, token budget)
 * and the feedback of a successful attempt. One destination shared by all threads, so two threads contend on it.
 * Run with {@code -prof gc} to see the allocation per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FlowControlBenchmark {
    private final MessageBudget normalBudget = new MessageBudget() {
        @Override
        public boolean tryConsume() {
            return true;
        }

        @Override
        public void refund() {
        }

        @Override
        public Duration timeUntilToken() {
            return Duration.ZERO;
        }
    };
    private FlowControl flowControl;

    @Setup
    public void setUp() {
        flowControl = new FlowControl("mx.example.com", FlowControlPolicy.builtIn(),
            new DeliveryLimits(10, 100, java.util.OptionalLong.empty()), Clock.systemUTC(),
            perHour -> normalBudget, FlowControlListener.NONE, () -> 0.5);
    }

    /** What a lane asks before it hands a mail to a connection. */
    @Benchmark
    @Threads(1)
    public int decisionOneThread() {
        return decision();
    }

    @Benchmark
    @Threads(2)
    public int decisionTwoThreads() {
        return decision();
    }

    /** The decision and the feedback of the attempt that followed: the whole per-mail cost. */
    @Benchmark
    @Threads(1)
    public int decisionAndSuccessOneThread() {
        int decision = decision();
        flowControl.recordAttempt(FlowSignal.SUCCEEDED);
        return decision;
    }

    @Benchmark
    @Threads(2)
    public int decisionAndSuccessTwoThreads() {
        int decision = decision();
        flowControl.recordAttempt(FlowSignal.SUCCEEDED);
        return decision;
    }

    private int decision() {
        return flowControl.maxConnections() + flowControl.maxMessagesPerConnection()
            + (flowControl.budget(normalBudget).tryConsume() ? 1 : 0);
    }
}

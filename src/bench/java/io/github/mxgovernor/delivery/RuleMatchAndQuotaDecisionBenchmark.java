package io.github.mxgovernor.delivery;

import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.ConnectionPermit;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Rule match + quota decision per mail: what the engine and a lane decide for one mail part before any SMTP is
 * spoken, in the order they do it ({@link DeliveryRouter#reroute}, then {@link DeliveryLane#offer} and
 * {@link DeliveryLane#dispatch}, then the lane's check before a connection carries another mail):
 * <ol>
 *   <li>the rule for the MX host ({@link RuleSet#match}) on the shipped {@code conf-samples/mx-rules.xml};</li>
 *   <li>its destination in the JVM-wide {@link Governor}, and the destination's lane in the engine's lane map;</li>
 *   <li>flow control: is the destination suspended;</li>
 *   <li>the connection quota: a slot taken under flow control's cap, and given back (a connection per mail, the
 *       dearest case: a reused connection skips both);</li>
 *   <li>the message rate: a token from the budget flow control hands out (unlimited for every shipped preset in
 *       NORMAL state; {@code MessageRateBenchmark} gives the extra cost of a limited rate);</li>
 *   <li>mails per connection and the connection cap, as checked before a connection takes another mail.</li>
 * </ol>
 * {@code ...AndSuccess} adds the feedback of a delivered attempt to flow control. {@code host} picks an MX host
 * of the first shipped rule ({@code google}, shared limits), of the last ({@code proofpoint}, limits per MX host),
 * or of none (the default rule, per MX host). Rules and governor are shared by all threads, as in James. Run from
 * the project directory, with {@code -prof gc} to see the allocation per mail.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RuleMatchAndQuotaDecisionBenchmark {
    private static final Path SHIPPED_RULES = Path.of("conf-samples", "mx-rules.xml");

    @Param({"firstRule", "lastRule", "noRule"})
    public String host;

    private RuleSet rules;
    private Governor governor;
    /** Stands for the engine's lanes: the same look-up by destination name as there. */
    private final ConcurrentMap<String, Destination> lanes = new ConcurrentHashMap<>();
    private String mxHost;
    private String recipientDomain;

    @Setup
    public void setUp() throws RulesFileException {
        rules = new MxRulesParser().parse(SHIPPED_RULES);
        governor = new Governor(Clock.systemUTC());
        switch (host) {
            case "firstRule":
                mxHost = "gmail-smtp-in.l.google.com";
                recipientDomain = "gmail.com";
                break;
            case "lastRule":
                mxHost = "mx0a-00123401.pphosted.com";
                recipientDomain = "customer.example";
                break;
            case "noRule":
                mxHost = "mx.mail.example.org";
                recipientDomain = "example.org";
                break;
            default:
                throw new IllegalArgumentException("host must be firstRule, lastRule or noRule, was " + host);
        }
        if (decide(false) <= 0) {
            throw new IllegalStateException("the first mail to " + mxHost + " was not let through");
        }
    }

    @Benchmark
    @Threads(1)
    public int decisionOneThread() {
        return decide(false);
    }

    @Benchmark
    @Threads(2)
    public int decisionTwoThreads() {
        return decide(false);
    }

    @Benchmark
    @Threads(1)
    public int decisionAndSuccessOneThread() {
        return decide(true);
    }

    @Benchmark
    @Threads(2)
    public int decisionAndSuccessTwoThreads() {
        return decide(true);
    }

    /**
     * @param delivered whether to feed a delivered attempt back to flow control after the decision
     * @return the mails the connection may carry, or 0 or less when the mail would wait
     */
    private int decide(boolean delivered) {
        MxRule rule = rules.match(mxHost, recipientDomain);
        Destination destination = governor.destination(rule, mxHost);
        Destination lane = lanes.get(destination.name());
        if (lane == null) {
            lane = lanes.computeIfAbsent(destination.name(), name -> destination);
        }
        if (lane.flowControl().state().kind() == FlowState.Kind.SUSPENDED) {
            return 0;
        }
        ConnectionPermit permit = lane.tryOpenConnection();
        if (permit == null) {
            return -1;
        }
        int decision = lane.budget().tryConsume()
            ? lane.maxMessagesPerConnection() - (lane.overConnectionLimit() ? 1 : 0) : -2;
        if (delivered && decision > 0) {
            lane.flowControl().recordAttempt(FlowSignal.SUCCEEDED);
        }
        lane.connectionClosed(permit);
        return decision;
    }
}

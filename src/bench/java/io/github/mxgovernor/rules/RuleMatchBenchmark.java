package io.github.mxgovernor.rules;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Which rule applies to an MX host: {@link RuleSet#match} as the engine calls it for every mail part.
 *
 * <p>{@code rules=shipped} is {@code conf-samples/mx-rules.xml} (run from the project directory), parsed as James
 * would parse it; {@code rules=masks200} is a generated file of 100 rules with two MX masks each,
 * {@code *.provider<i>.example.net} and {@code *.relay<i>.example.net}: one domain for all, and labels that start
 * alike, so that many masks are rejected only after several characters (real provider masks differ sooner).
 * {@code host} picks an MX host matched by the first rule, by the last rule's last mask (every mask before it is
 * tried), or by none (every mask is tried, then the default rule applies; this host's name is shorter than the
 * generated masks, which rejects them at once).
 * Run with {@code -prof gc} to see that matching allocates nothing.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RuleMatchBenchmark {
    private static final Path SHIPPED_RULES = Path.of("conf-samples", "mx-rules.xml");
    private static final int GENERATED_RULES = 100;

    @Param({"shipped", "masks200"})
    public String rules;

    @Param({"firstRule", "lastRule", "noRule"})
    public String host;

    private RuleSet ruleSet;
    private String mxHost;
    private String recipientDomain;

    @Setup
    public void setUp() throws RulesFileException {
        boolean shipped = rules.equals("shipped");
        ruleSet = shipped ? new MxRulesParser().parse(SHIPPED_RULES) : generated();
        switch (host) {
            case "firstRule":
                mxHost = shipped ? "gmail-smtp-in.l.google.com" : "mx1.provider0.example.net";
                recipientDomain = shipped ? "gmail.com" : "provider0.example";
                break;
            case "lastRule":
                mxHost = shipped ? "mx0a-00123401.pphosted.com" : "mx1.relay" + (GENERATED_RULES - 1) + ".example.net";
                recipientDomain = "customer.example";
                break;
            case "noRule":
                mxHost = "mx.mail.example.org";
                recipientDomain = "example.org";
                break;
            default:
                throw new IllegalArgumentException("host must be firstRule, lastRule or noRule, was " + host);
        }
        String expected = host.equals("noRule") ? MxRule.DEFAULT_RULE_NAME
            : host.equals("firstRule") ? ruleSet.rules().get(0).name()
            : ruleSet.rules().get(ruleSet.rules().size() - 1).name();
        String actual = ruleSet.match(mxHost, recipientDomain).name();
        if (!actual.equals(expected)) {
            throw new IllegalStateException(mxHost + " matched rule " + actual + ", the benchmark expects " + expected);
        }
    }

    /** Rule i matches {@code *.provider<i>.example.net} and {@code *.relay<i>.example.net}. */
    private static RuleSet generated() throws RulesFileException {
        StringBuilder xml = new StringBuilder("<mx-rules>\n  <default maxConnections=\"10\"/>\n");
        for (int i = 0; i < GENERATED_RULES; i++) {
            xml.append("  <rule name=\"provider").append(i).append("\" mx=\"*.provider").append(i)
                .append(".example.net, *.relay").append(i).append(".example.net\" maxConnections=\"")
                .append(1 + i % 20).append("\"/>\n");
        }
        xml.append("</mx-rules>\n");
        return new MxRulesParser().parse(new ByteArrayInputStream(xml.toString().getBytes(StandardCharsets.UTF_8)),
            "generated-mx-rules.xml");
    }

    @Benchmark
    public MxRule match() {
        return ruleSet.match(mxHost, recipientDomain);
    }
}

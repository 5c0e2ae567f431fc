package io.github.mxgovernor.bench;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What one benchmark invocation measures, read from system properties (the {@code bench} Maven profile forwards
 * them). {@code bench.scenarios}: which of {@code burst}, {@code longtail} and {@code perdomain} (default all three,
 * see {@link Scenario}). {@code bench.mailets}: contenders, from {@code ours,ours+store,stock,postfix} (default all
 * four; {@code ours+store} is our mailet sharing its limits through a private Redis server, see
 * {@link JamesContender}).
 *
 * <p>The 4-MX burst: {@code bench.mails} (mails per measured burst, default 10000), {@code bench.warmupMails} (300),
 * {@code bench.steadyMails} (400) sent at {@code bench.steadyRate} mails/s (20) for the acceptance-to-delivery
 * latency, {@code bench.latencies} (MX round-trip latencies in ms, {@code 0,50}), {@code bench.deliveryThreads}
 * (our mailet run again with each of these {@code deliveryThreads}, {@code 10} as James's sample
 * {@code mailetcontainer.xml} carries; empty for none). Its topology is fixed: {@value #MX_HOSTS} MX hosts,
 * {@value #DOMAINS} domains.
 *
 * <p>The scenarios with DNS: {@code bench.tailMails} (20000) over {@code bench.tailDomains} (2000) with a Zipf share
 * of exponent {@code bench.zipfExponent} (1.0); {@code bench.perDomainMails} (5000, one per domain); each over
 * {@value #DNS_MX_HOSTS} MX hosts at {@code bench.dnsMxLatency} ms per round trip (50), every answer of the name
 * server {@code bench.dnsAddress} (a 127.x address, {@code 127.0.0.153}, port 53) given after
 * {@code bench.dnsDelay} ms (30); the warm-up ({@code bench.warmupMails}) goes to other domains on the same MX hosts.
 *
 * <p>Both: {@code bench.chunking} (whether the fake MX hosts offer CHUNKING, as Gmail's and Outlook's do;
 * {@code true}), {@code bench.timeoutSeconds} (900, per wait), {@code bench.output} (directory of the report,
 * {@code target/bench}), {@code bench.oursParameters} (parameters of our mailet beyond its defaults,
 * {@code name=value,...}; none by default), {@code bench.postfixScript} (the script that installs, starts and stops
 * the private Postfix, {@code integration-tests/bench-postfix/postfix-instance.sh}). Every rule caps
 * {@value #CAP_PER_MX} connections per MX host and {@value #MAILS_PER_CONNECTION} mails per connection.
 */
final class BenchSettings {
    static final int MX_HOSTS = 4;
    static final int DOMAINS = 8;
    static final int CAP_PER_MX = 5;
    static final int MAILS_PER_CONNECTION = 100;
    /** MX host names of the scenarios with DNS, each on its own 127.0.0.x address. */
    static final int DNS_MX_HOSTS = 20;
    /** SMTP connections that submit a burst to James in parallel (submission is not measured). */
    static final int SUBMISSION_CONNECTIONS = 4;
    static final String DEFAULT_MAILETS = "ours,ours+store,stock,postfix";

    private final int mails;
    private final int warmupMails;
    private final int steadyMails;
    private final double steadyRate;
    private final List<Integer> latenciesMillis;
    private final boolean chunking;
    private final List<MailetKind> mailets;
    private final Duration timeout;
    private final Path output;
    private final Map<String, String> oursParameters;
    private final Path postfixScript;
    private final List<Scenario.Kind> scenarios;
    private final List<Integer> deliveryThreads;
    private final int tailMails;
    private final int tailDomains;
    private final double zipfExponent;
    private final int perDomainMails;
    private final int dnsMxLatencyMillis;
    private final Duration dnsDelay;
    private final InetAddress dnsAddress;

    private BenchSettings(Properties properties) {
        this.mails = intProperty(properties, "bench.mails", 10_000, 1, 1_000_000);
        this.warmupMails = intProperty(properties, "bench.warmupMails", 300, 0, 100_000);
        this.steadyMails = intProperty(properties, "bench.steadyMails", 400, 0, 100_000);
        this.steadyRate = doubleProperty(properties, "bench.steadyRate", 20, 0.1, 10_000);
        this.latenciesMillis = latencies(properties.getProperty("bench.latencies", "0,50"));
        this.chunking = booleanProperty(properties, "bench.chunking", true);
        this.mailets = mailets(properties.getProperty("bench.mailets", DEFAULT_MAILETS));
        this.timeout = Duration.ofSeconds(intProperty(properties, "bench.timeoutSeconds", 900, 10, 86_400));
        this.output = Path.of(properties.getProperty("bench.output", "target/bench"));
        this.oursParameters = Collections.unmodifiableMap(
            new TreeMap<>(parameters(properties.getProperty("bench.oursParameters", ""))));
        this.postfixScript = Path.of(properties.getProperty("bench.postfixScript",
            "integration-tests/bench-postfix/postfix-instance.sh"));
        this.scenarios = scenarios(properties.getProperty("bench.scenarios", "burst,longtail,perdomain"));
        this.deliveryThreads = positiveList(properties, "bench.deliveryThreads", "10", 1, 10_000);
        this.tailMails = intProperty(properties, "bench.tailMails", 20_000, 1, 1_000_000);
        this.tailDomains = intProperty(properties, "bench.tailDomains", 2_000, 1, 100_000);
        this.zipfExponent = doubleProperty(properties, "bench.zipfExponent", 1.0, 0, 10);
        // fails here, naming the values, rather than after the first runs
        ZipfSplit.mailsPerDomain(tailMails, tailDomains, zipfExponent);
        this.perDomainMails = intProperty(properties, "bench.perDomainMails", 5_000, 1, 100_000);
        this.dnsMxLatencyMillis = intProperty(properties, "bench.dnsMxLatency", 50, 0, 10_000);
        this.dnsDelay = Duration.ofMillis(intProperty(properties, "bench.dnsDelay", 30, 0, 10_000));
        this.dnsAddress = loopbackLiteral(properties.getProperty("bench.dnsAddress", "127.0.0.153"));
    }

    static BenchSettings from(Properties properties) {
        return new BenchSettings(properties);
    }

    int mails() {
        return mails;
    }

    int warmupMails() {
        return warmupMails;
    }

    int steadyMails() {
        return steadyMails;
    }

    double steadyRate() {
        return steadyRate;
    }

    List<Integer> latenciesMillis() {
        return latenciesMillis;
    }

    /** Whether the fake MX hosts offer CHUNKING (BDAT). */
    boolean chunking() {
        return chunking;
    }

    List<MailetKind> mailets() {
        return mailets;
    }

    Duration timeout() {
        return timeout;
    }

    Path output() {
        return output;
    }

    Map<String, String> oursParameters() {
        return oursParameters;
    }

    Path postfixScript() {
        return postfixScript;
    }

    List<Scenario.Kind> scenarios() {
        return scenarios;
    }

    /** The {@code deliveryThreads} values our mailet is run with again in the burst, beside its default. */
    List<Integer> deliveryThreads() {
        return deliveryThreads;
    }

    int tailMails() {
        return tailMails;
    }

    int tailDomains() {
        return tailDomains;
    }

    double zipfExponent() {
        return zipfExponent;
    }

    int perDomainMails() {
        return perDomainMails;
    }

    /** The MX round trip of the scenarios with DNS. */
    int dnsMxLatencyMillis() {
        return dnsMxLatencyMillis;
    }

    /** How long the name server of the scenarios with DNS holds each answer. */
    Duration dnsDelay() {
        return dnsDelay;
    }

    /** The loopback address whose port 53 the name server of the scenarios with DNS binds. */
    InetAddress dnsAddress() {
        return dnsAddress;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("scenarios ")
            .append(scenarios.stream().map(Scenario.Kind::propertyValue).collect(Collectors.toList()))
            .append(", mailets ").append(mailets).append(", warm-up ").append(warmupMails).append(" mails");
        if (scenarios.contains(Scenario.Kind.BURST)) {
            text.append("; burst: ").append(mails).append(" mails (steady ").append(steadyMails).append(" at ")
                .append(steadyRate).append("/s) over ").append(MX_HOSTS).append(" MX hosts and ").append(DOMAINS)
                .append(" domains, latencies ").append(latenciesMillis).append(" ms, ours also with deliveryThreads ")
                .append(deliveryThreads);
        }
        if (scenarios.contains(Scenario.Kind.LONG_TAIL)) {
            text.append("; long tail: ").append(tailMails).append(" mails over ").append(tailDomains)
                .append(" domains, Zipf exponent ").append(zipfExponent);
        }
        if (scenarios.contains(Scenario.Kind.ONE_PER_DOMAIN)) {
            text.append("; one per domain: ").append(perDomainMails).append(" mails");
        }
        if (scenarios.contains(Scenario.Kind.LONG_TAIL) || scenarios.contains(Scenario.Kind.ONE_PER_DOMAIN)) {
            text.append("; with DNS: ").append(DNS_MX_HOSTS).append(" MX hosts at ").append(dnsMxLatencyMillis)
                .append(" ms, answers of ").append(dnsAddress.getHostAddress()).append(":53 after ")
                .append(dnsDelay.toMillis()).append(" ms");
        }
        return text.append("; ").append(CAP_PER_MX).append(" connections per MX host, ").append(MAILS_PER_CONNECTION)
            .append(" mails per connection, MX hosts ").append(chunking ? "offering" : "not offering")
            .append(" CHUNKING, our mailet's parameters beyond the defaults ").append(oursParameters).toString();
    }

    private static int intProperty(Properties properties, String name, int fallback, int min, int max) {
        String value = properties.getProperty(name, "").trim();
        if (value.isEmpty()) {
            return fallback;
        }
        int parsed;
        try {
            parsed = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, was '" + value + "'");
        }
        if (parsed < min || parsed > max) {
            throw new IllegalArgumentException(name + " must be from " + min + " to " + max + ", was " + parsed);
        }
        return parsed;
    }

    private static boolean booleanProperty(Properties properties, String name, boolean fallback) {
        String value = properties.getProperty(name, "").trim();
        if (value.isEmpty()) {
            return fallback;
        }
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException(name + " must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    private static double doubleProperty(Properties properties, String name, double fallback, double min,
                                         double max) {
        String value = properties.getProperty(name, "").trim();
        if (value.isEmpty()) {
            return fallback;
        }
        double parsed;
        try {
            parsed = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, was '" + value + "'");
        }
        if (!(parsed >= min && parsed <= max)) {
            throw new IllegalArgumentException(name + " must be from " + min + " to " + max + ", was " + parsed);
        }
        return parsed;
    }

    private static List<Integer> latencies(String value) {
        List<Integer> latencies = new ArrayList<>();
        for (String entry : value.split(",")) {
            String trimmed = entry.trim();
            try {
                int millis = Integer.parseInt(trimmed);
                if (millis < 0 || millis > 10_000) {
                    throw new NumberFormatException();
                }
                latencies.add(millis);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                    "bench.latencies must list milliseconds from 0 to 10000, was '" + value + "'");
            }
        }
        return List.copyOf(latencies);
    }

    private static List<MailetKind> mailets(String value) {
        List<MailetKind> kinds = new ArrayList<>();
        for (String entry : value.split(",")) {
            MailetKind kind = MailetKind.fromPropertyValue(entry.trim()).orElseThrow(() ->
                new IllegalArgumentException("bench.mailets must list some of 'ours', 'ours+store', 'stock' and "
                    + "'postfix', was '" + value + "'"));
            if (!kinds.contains(kind)) {
                kinds.add(kind);
            }
        }
        return List.copyOf(kinds);
    }

    private static List<Scenario.Kind> scenarios(String value) {
        List<Scenario.Kind> kinds = new ArrayList<>();
        for (String entry : value.split(",")) {
            Scenario.Kind kind = Scenario.Kind.fromPropertyValue(entry.trim()).orElseThrow(() ->
                new IllegalArgumentException("bench.scenarios must list some of 'burst', 'longtail' and 'perdomain', "
                    + "was '" + value + "'"));
            if (!kinds.contains(kind)) {
                kinds.add(kind);
            }
        }
        return List.copyOf(kinds);
    }

    private static List<Integer> positiveList(Properties properties, String name, String fallback, int min,
                                              int max) {
        String value = properties.getProperty(name, fallback).trim();
        List<Integer> values = new ArrayList<>();
        if (value.isEmpty()) {
            return List.of();
        }
        for (String entry : value.split(",")) {
            try {
                int parsed = Integer.parseInt(entry.trim());
                if (parsed < min || parsed > max) {
                    throw new NumberFormatException();
                }
                if (!values.contains(parsed)) {
                    values.add(parsed);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " must list whole numbers from " + min + " to " + max
                    + ", was '" + value + "'");
            }
        }
        return List.copyOf(values);
    }

    private static InetAddress loopbackLiteral(String value) {
        String[] octets = value.trim().split("\\.", -1);
        byte[] address = new byte[4];
        boolean valid = octets.length == 4 && octets[0].equals("127");
        for (int i = 0; valid && i < 4; i++) {
            valid = octets[i].matches("[0-9]{1,3}") && Integer.parseInt(octets[i]) <= 255;
            address[i] = valid ? (byte) Integer.parseInt(octets[i]) : 0;
        }
        if (valid) {
            try {
                return InetAddress.getByAddress(address);
            } catch (UnknownHostException cannotHappenForFourBytes) {
                throw new IllegalStateException(cannotHappenForFourBytes);
            }
        }
        throw new IllegalArgumentException("bench.dnsAddress must be an IPv4 loopback address (127.x.y.z), was '"
            + value + "'");
    }

    private static Map<String, String> parameters(String value) {
        Map<String, String> parameters = new LinkedHashMap<>();
        for (String entry : value.split(",")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            int equals = trimmed.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException(
                    "bench.oursParameters must be name=value pairs separated by commas, was '" + value + "'");
            }
            parameters.put(trimmed.substring(0, equals).trim(), trimmed.substring(equals + 1).trim());
        }
        return parameters;
    }

    /**
     * The contenders: our mailet on its own and with a cluster store (a private Redis server), James's stock mailet,
     * and Postfix as the reference MTA.
     */
    enum MailetKind {
        OURS("ours", "GovernedRemoteDelivery"),
        OURS_STORE("ours+store", "GovernedRemoteDelivery + Redis store"),
        STOCK("stock", "RemoteDelivery (stock)"),
        POSTFIX("postfix", "Postfix");

        private final String propertyValue;
        private final String label;

        MailetKind(String propertyValue, String label) {
            this.propertyValue = propertyValue;
            this.label = label;
        }

        String label() {
            return label;
        }

        /** How {@code bench.mailets} names it. */
        String propertyValue() {
            return propertyValue;
        }

        /** Whether it is our mailet (with or without a store): the rule's caps are checked. */
        boolean governed() {
            return this == OURS || this == OURS_STORE;
        }

        static Optional<MailetKind> fromPropertyValue(String value) {
            return Arrays.stream(values()).filter(kind -> kind.propertyValue.equals(value.toLowerCase(Locale.ROOT)))
                .findFirst();
        }
    }
}

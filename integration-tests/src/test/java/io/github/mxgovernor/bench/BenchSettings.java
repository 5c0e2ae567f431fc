package io.github.mxgovernor.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What one benchmark invocation measures, read from system properties (the {@code bench} Maven profile forwards
 * them): {@code bench.mails} (mails per measured burst, default 10000), {@code bench.warmupMails} (300),
 * {@code bench.steadyMails} (400) sent at {@code bench.steadyRate} mails/s (20) for the acceptance-to-delivery
 * latency, {@code bench.latencies} (MX round-trip latencies in ms, {@code 0,50}), {@code bench.chunking} (whether the
 * fake MX hosts offer CHUNKING, as Gmail's and Outlook's do; {@code true}), {@code bench.mailets} (contenders, from
 * {@code ours,stock,postfix}; default all three), {@code bench.timeoutSeconds} (900, per wait),
 * {@code bench.output} (directory of the report, {@code target/bench}), {@code bench.oursParameters} (parameters of
 * our mailet beyond its defaults, {@code name=value,...}; none by default), {@code bench.postfixScript} (the
 * script that installs, starts and stops the private Postfix,
 * {@code integration-tests/bench-postfix/postfix-instance.sh}). The topology is fixed: {@value #MX_HOSTS} MX hosts, {@value #DOMAINS} domains, {@value #CAP_PER_MX} connections
 * per MX host, {@value #MAILS_PER_CONNECTION} mails per connection.
 */
final class BenchSettings {
    static final int MX_HOSTS = 4;
    static final int DOMAINS = 8;
    static final int CAP_PER_MX = 5;
    static final int MAILS_PER_CONNECTION = 100;
    /** SMTP connections that submit a burst to James in parallel (submission is not measured). */
    static final int SUBMISSION_CONNECTIONS = 4;

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

    private BenchSettings(Properties properties) {
        this.mails = intProperty(properties, "bench.mails", 10_000, 1, 1_000_000);
        this.warmupMails = intProperty(properties, "bench.warmupMails", 300, 0, 100_000);
        this.steadyMails = intProperty(properties, "bench.steadyMails", 400, 0, 100_000);
        this.steadyRate = doubleProperty(properties, "bench.steadyRate", 20, 0.1, 10_000);
        this.latenciesMillis = latencies(properties.getProperty("bench.latencies", "0,50"));
        this.chunking = booleanProperty(properties, "bench.chunking", true);
        this.mailets = mailets(properties.getProperty("bench.mailets", "ours,stock,postfix"));
        this.timeout = Duration.ofSeconds(intProperty(properties, "bench.timeoutSeconds", 900, 10, 86_400));
        this.output = Path.of(properties.getProperty("bench.output", "target/bench"));
        this.oursParameters = Collections.unmodifiableMap(
            new TreeMap<>(parameters(properties.getProperty("bench.oursParameters", ""))));
        this.postfixScript = Path.of(properties.getProperty("bench.postfixScript",
            "integration-tests/bench-postfix/postfix-instance.sh"));
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

    @Override
    public String toString() {
        return mails + " mails per burst (warm-up " + warmupMails + ", steady " + steadyMails + " at " + steadyRate
            + "/s), " + MX_HOSTS + " MX hosts x " + CAP_PER_MX + " connections, " + MAILS_PER_CONNECTION
            + " mails per connection, " + DOMAINS + " domains, latencies " + latenciesMillis + " ms, MX hosts "
            + (chunking ? "offering" : "not offering") + " CHUNKING, mailets "
            + mailets + ", our mailet's parameters beyond the defaults " + oursParameters;
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
            String trimmed = entry.trim().toUpperCase(Locale.ROOT);
            try {
                MailetKind kind = MailetKind.valueOf(trimmed);
                if (!kinds.contains(kind)) {
                    kinds.add(kind);
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bench.mailets must list some of 'ours', 'stock' and 'postfix', was '" + value + "'");
            }
        }
        return List.copyOf(kinds);
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

    /** The contenders: two James mailets, and Postfix as the reference MTA. */
    enum MailetKind {
        OURS("GovernedRemoteDelivery"),
        STOCK("RemoteDelivery (stock)"),
        POSTFIX("Postfix");

        private final String label;

        MailetKind(String label) {
            this.label = label;
        }

        String label() {
            return label;
        }
    }
}

package io.github.mxgovernor.bench;

import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one run (one scenario, one contender, one MX latency) measured; {@link #failure} is set when a check failed, {@link #skipped}
 * when the contender could not run here (Postfix without root or apt).
 */
final class RunResult {
    final Scenario.Kind scenario;
    final ContenderVariant contender;
    final BenchSettings.MailetKind mailet;
    final int latencyMillis;
    final int mails;
    final double mailsPerSecond;
    final double releaseP50Millis;
    final double releaseP99Millis;
    final double steadyP50Millis;
    final double steadyP99Millis;
    final int steadyConnectionsOpened;
    final double steadyRoundTripsPerMail;
    final List<Integer> peakPerMx;
    final int peakTotal;
    final int connectionsOpened;
    final double roundTripsPerMail;
    final double rsetsPerMail;
    final int mostMailsPerConnection;
    final CpuMeter.Usage cpu;
    final SortedMap<String, Long> burstDnsQueries;
    final SortedMap<String, Long> dnsQueries;
    /** Cluster store commands (round trips) per mail over the burst; NaN without a store. */
    final double storeCommandsPerMail;
    /** Cluster store commands per mail over the whole run (start-up, warm-up and steady phase included). */
    final double runStoreCommandsPerMail;
    final String detail;
    final Optional<String> failure;
    final Optional<String> skipped;

    private RunResult(Builder builder) {
        this.scenario = builder.scenario;
        this.contender = builder.contender;
        this.mailet = builder.contender.kind();
        this.latencyMillis = builder.latencyMillis;
        this.mails = builder.mails;
        this.mailsPerSecond = builder.mailsPerSecond;
        this.releaseP50Millis = builder.releaseP50Millis;
        this.releaseP99Millis = builder.releaseP99Millis;
        this.steadyP50Millis = builder.steadyP50Millis;
        this.steadyP99Millis = builder.steadyP99Millis;
        this.steadyConnectionsOpened = builder.steadyConnectionsOpened;
        this.steadyRoundTripsPerMail = builder.steadyRoundTripsPerMail;
        this.peakPerMx = builder.peakPerMx;
        this.peakTotal = builder.peakTotal;
        this.connectionsOpened = builder.connectionsOpened;
        this.roundTripsPerMail = builder.roundTripsPerMail;
        this.rsetsPerMail = builder.rsetsPerMail;
        this.mostMailsPerConnection = builder.mostMailsPerConnection;
        this.cpu = builder.cpu;
        this.burstDnsQueries = builder.burstDnsQueries;
        this.dnsQueries = builder.dnsQueries;
        this.storeCommandsPerMail = builder.storeCommandsPerMail;
        this.runStoreCommandsPerMail = builder.runStoreCommandsPerMail;
        this.detail = builder.detail;
        this.failure = builder.failure;
        this.skipped = builder.skipped;
    }

    static Builder builder(Scenario.Kind scenario, ContenderVariant contender, int latencyMillis, int mails) {
        return new Builder(scenario, contender, latencyMillis, mails);
    }

    boolean failed() {
        return failure.isPresent();
    }

    /** Whether the run has figures: it neither failed nor was skipped. */
    boolean measured() {
        return failure.isEmpty() && skipped.isEmpty();
    }

    /** CPU of the delivering side (James, or Postfix and the harness), per 1000 mails. */
    double cpuSecondsPerThousand() {
        return cpu == null ? Double.NaN : cpu.deliverySeconds() * 1000 / mails;
    }

    /** All CPU measured, the fake MX servers included, per 1000 mails. */
    double processCpuSecondsPerThousand() {
        return cpu == null ? Double.NaN : cpu.totalSeconds() * 1000 / mails;
    }

    /** DNS queries the name server received while the burst was delivered, all types. */
    long burstDnsQueryCount() {
        return burstDnsQueries.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Collects the figures as a run produces them. */
    static final class Builder {
        private final Scenario.Kind scenario;
        private final ContenderVariant contender;
        private final int latencyMillis;
        private final int mails;
        private double mailsPerSecond = Double.NaN;
        private double releaseP50Millis = Double.NaN;
        private double releaseP99Millis = Double.NaN;
        private double steadyP50Millis = Double.NaN;
        private double steadyP99Millis = Double.NaN;
        private int steadyConnectionsOpened;
        private double steadyRoundTripsPerMail = Double.NaN;
        private List<Integer> peakPerMx = List.of();
        private int peakTotal;
        private int connectionsOpened;
        private double roundTripsPerMail = Double.NaN;
        private double rsetsPerMail = Double.NaN;
        private int mostMailsPerConnection;
        private CpuMeter.Usage cpu;
        private SortedMap<String, Long> burstDnsQueries = new TreeMap<>();
        private SortedMap<String, Long> dnsQueries = new TreeMap<>();
        private double storeCommandsPerMail = Double.NaN;
        private double runStoreCommandsPerMail = Double.NaN;
        private String detail = "";
        private Optional<String> failure = Optional.empty();
        private Optional<String> skipped = Optional.empty();

        private Builder(Scenario.Kind scenario, ContenderVariant contender, int latencyMillis, int mails) {
            this.scenario = scenario;
            this.contender = contender;
            this.latencyMillis = latencyMillis;
            this.mails = mails;
        }

        Builder throughput(double mailsPerSecond, double releaseP50Millis, double releaseP99Millis) {
            this.mailsPerSecond = mailsPerSecond;
            this.releaseP50Millis = releaseP50Millis;
            this.releaseP99Millis = releaseP99Millis;
            return this;
        }

        Builder steady(double p50Millis, double p99Millis, int connectionsOpened, double roundTripsPerMail) {
            this.steadyP50Millis = p50Millis;
            this.steadyP99Millis = p99Millis;
            this.steadyConnectionsOpened = connectionsOpened;
            this.steadyRoundTripsPerMail = roundTripsPerMail;
            return this;
        }

        Builder connections(List<Integer> peakPerMx, int peakTotal, int connectionsOpened, double roundTripsPerMail,
                            double rsetsPerMail) {
            this.peakPerMx = List.copyOf(peakPerMx);
            this.peakTotal = peakTotal;
            this.connectionsOpened = connectionsOpened;
            this.roundTripsPerMail = roundTripsPerMail;
            this.rsetsPerMail = rsetsPerMail;
            return this;
        }

        Builder mostMailsPerConnection(int mostMailsPerConnection) {
            this.mostMailsPerConnection = mostMailsPerConnection;
            return this;
        }

        Builder cpu(CpuMeter.Usage cpu) {
            this.cpu = cpu;
            return this;
        }

        /** Queries the name server received by type: during the burst, and over the whole run. */
        Builder dnsQueries(SortedMap<String, Long> duringBurst, SortedMap<String, Long> wholeRun) {
            this.burstDnsQueries = new TreeMap<>(duringBurst);
            this.dnsQueries = new TreeMap<>(wholeRun);
            return this;
        }

        /** Cluster store commands per mail: over the burst, and over the whole run. */
        Builder storeCommands(double perBurstMail, double perRunMail) {
            this.storeCommandsPerMail = perBurstMail;
            this.runStoreCommandsPerMail = perRunMail;
            return this;
        }

        /** What the report says of the run beyond the figures (our deferrals, Postfix's version and deferrals). */
        Builder detail(String detail) {
            this.detail = detail;
            return this;
        }

        Builder failure(String failure) {
            this.failure = Optional.of(failure);
            return this;
        }

        Builder skipped(String reason) {
            this.skipped = Optional.of(reason);
            return this;
        }

        RunResult build() {
            return new RunResult(this);
        }
    }
}

package io.github.mxgovernor.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What one run (one mailet, one MX latency) measured; {@link #failure()} is set when a check failed. */
final class RunResult {
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
    final CpuMeter.Usage cpu;
    final Map<String, Long> deferralsByReason;
    final Optional<String> failure;

    private RunResult(Builder builder) {
        this.mailet = builder.mailet;
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
        this.cpu = builder.cpu;
        this.deferralsByReason = builder.deferralsByReason;
        this.failure = builder.failure;
    }

    static Builder builder(BenchSettings.MailetKind mailet, int latencyMillis, int mails) {
        return new Builder(mailet, latencyMillis, mails);
    }

    boolean failed() {
        return failure.isPresent();
    }

    double cpuSecondsPerThousand() {
        return cpu == null ? Double.NaN : cpu.jamesSeconds() * 1000 / mails;
    }

    double processCpuSecondsPerThousand() {
        return cpu == null ? Double.NaN : cpu.processSeconds * 1000 / mails;
    }

    /** Collects the figures as a run produces them. */
    static final class Builder {
        private final BenchSettings.MailetKind mailet;
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
        private CpuMeter.Usage cpu;
        private Map<String, Long> deferralsByReason = Map.of();
        private Optional<String> failure = Optional.empty();

        private Builder(BenchSettings.MailetKind mailet, int latencyMillis, int mails) {
            this.mailet = mailet;
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

        Builder connections(List<Integer> peakPerMx, int peakTotal, int connectionsOpened, double roundTripsPerMail) {
            this.peakPerMx = List.copyOf(peakPerMx);
            this.peakTotal = peakTotal;
            this.connectionsOpened = connectionsOpened;
            this.roundTripsPerMail = roundTripsPerMail;
            return this;
        }

        Builder cpu(CpuMeter.Usage cpu) {
            this.cpu = cpu;
            return this;
        }

        Builder deferrals(Map<String, Long> deferralsByReason) {
            this.deferralsByReason = Collections.unmodifiableMap(new LinkedHashMap<>(deferralsByReason));
            return this;
        }

        Builder failure(String failure) {
            this.failure = Optional.of(failure);
            return this;
        }

        RunResult build() {
            return new RunResult(this);
        }
    }
}

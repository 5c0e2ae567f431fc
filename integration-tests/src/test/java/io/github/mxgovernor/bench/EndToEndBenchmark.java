package io.github.mxgovernor.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;

/**
 * The end-to-end load benchmark: for each MX latency, our governed mailet and James's stock {@code RemoteDelivery}
 * deliver the same bursts through an embedded James 3.8.1 to fake MX servers on loopback, one fresh James per run,
 * and a private Postfix delivers them too as the reference MTA (see {@link BenchRun}). Prints a Markdown table and
 * writes it to {@code <bench.output>/e2e.md}; exits with 1 when a run broke a check (a mail lost or duplicated, a cap
 * exceeded, a time-out). A contender that cannot run here (Postfix without root or apt) is reported as skipped.
 * Settings: {@link BenchSettings}.
 *
 * <p>Run it with {@code mvn -B -Pbench verify} (add {@code -Dbench.mails=1000} for a quick run).
 */
public final class EndToEndBenchmark {
    private EndToEndBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        // James warns at start-up about optional configuration files the embedded server does without
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(Level.ERROR);
        ((Logger) LoggerFactory.getLogger("io.github.mxgovernor")).setLevel(Level.WARN);
        // James reports the held burst's repository copies as leaks when a stopped James is collected: same count
        // for both mailets, and not a delivery matter
        ((Logger) LoggerFactory.getLogger("org.apache.james.lifecycle.api.Disposable")).setLevel(Level.OFF);
        BenchSettings settings = BenchSettings.from(System.getProperties());
        Files.createDirectories(settings.output());
        System.out.println("End-to-end benchmark: " + settings);

        List<RunResult> results = new ArrayList<>();
        for (int latency : settings.latenciesMillis()) {
            for (BenchSettings.MailetKind kind : settings.mailets()) {
                System.out.printf(Locale.ROOT, "%n== %s, MX latency %d ms ...%n", kind.label(), latency);
                long start = System.nanoTime();
                RunResult result = new BenchRun(settings, kind, latency, settings.output()).run();
                results.add(result);
                System.out.printf(Locale.ROOT, "   %s in %.0f s%n", result.failure.map(f -> "FAILED: " + f)
                    .or(() -> result.skipped.map(reason -> "SKIPPED: " + reason))
                    .orElse(String.format(Locale.ROOT, "%.1f mails/s", result.mailsPerSecond)),
                    (System.nanoTime() - start) / 1e9);
            }
        }

        String report = report(settings, results);
        Path file = settings.output().resolve("e2e.md");
        Files.writeString(file, report, StandardCharsets.UTF_8);
        System.out.println();
        System.out.println(report);
        System.out.println("Written to " + file.toAbsolutePath());
        boolean failed = results.stream().anyMatch(RunResult::failed);
        if (failed) {
            System.out.println("BENCHMARK FAILED: " + results.stream().filter(RunResult::failed)
                .map(result -> result.failure.orElseThrow()).collect(Collectors.joining("; ")));
        }
        System.exit(failed ? 1 : 0);
    }

    static String report(BenchSettings settings, List<RunResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("# End-to-end delivery benchmark\n\n")
            .append(String.format(Locale.ROOT, "%s, Java %s, %d CPUs. %s.%n%n",
                DateTimeFormatter.ISO_LOCAL_DATE.format(ZonedDateTime.now()), System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(), settings))
            .append("| MX latency | mailet | mails/s | burst p50 / p99 (s) | steady p50 / p99 (ms) ")
            .append("| peak conns per MX | peak total | connections | round trips / mail ")
            .append("| CPU s / 1000 mails | peak threads (Postfix: processes) |\n")
            .append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
        for (RunResult r : results) {
            if (!r.measured()) {
                md.append(String.format(Locale.ROOT, "| %d ms | %s | %s |||||||||%n", r.latencyMillis,
                    r.mailet.label(), r.failure.map(f -> "FAILED: " + f)
                        .orElseGet(() -> "skipped: " + r.skipped.orElseThrow())));
                continue;
            }
            md.append(String.format(Locale.ROOT,
                "| %d ms | %s | %.0f | %.1f / %.1f | %.0f / %.0f | %s | %d | %d | %.2f | %.2f | %d |%n",
                r.latencyMillis, r.mailet.label(), r.mailsPerSecond, r.releaseP50Millis / 1000,
                r.releaseP99Millis / 1000, r.steadyP50Millis, r.steadyP99Millis,
                r.peakPerMx.stream().map(String::valueOf).collect(Collectors.joining(" ")), r.peakTotal,
                r.connectionsOpened, r.roundTripsPerMail, r.cpuSecondsPerThousand(),
                r.mailet == BenchSettings.MailetKind.POSTFIX ? r.cpu.peakExternalProcesses : r.cpu.peakThreads));
        }
        md.append("\n| MX latency | mails/s ours / stock | mails/s ours / Postfix | steady p50 stock / ours ")
            .append("| steady p50 Postfix / ours | CPU per mail ours / stock | CPU per mail ours / Postfix |\n")
            .append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (int latency : settings.latenciesMillis()) {
            Optional<RunResult> ours = find(results, BenchSettings.MailetKind.OURS, latency);
            Optional<RunResult> stock = find(results, BenchSettings.MailetKind.STOCK, latency);
            Optional<RunResult> postfix = find(results, BenchSettings.MailetKind.POSTFIX, latency);
            if (ours.isPresent() && (stock.isPresent() || postfix.isPresent())) {
                RunResult o = ours.get();
                md.append(String.format(Locale.ROOT, "| %d ms | %s | %s | %s | %s | %s | %s |%n", latency,
                    ratio(stock, s -> o.mailsPerSecond / s.mailsPerSecond),
                    ratio(postfix, p -> o.mailsPerSecond / p.mailsPerSecond),
                    ratio(stock, s -> s.steadyP50Millis / o.steadyP50Millis),
                    ratio(postfix, p -> p.steadyP50Millis / o.steadyP50Millis),
                    ratio(stock, s -> o.cpuSecondsPerThousand() / s.cpuSecondsPerThousand()),
                    ratio(postfix, p -> o.cpuSecondsPerThousand() / p.cpuSecondsPerThousand())));
            }
        }
        md.append("\nmails/s: burst mails / (last delivery - release), the burst being queued in full and due at one "
            + "instant. burst p50/p99: release to delivery at the fake MX. steady: the contender's acceptance (its "
            + "reply to the end of DATA) to acceptance by the fake MX, mails submitted at the steady rate. peak conns: "
            + "most connections open at once over the whole run, per MX host and over all MX hosts. connections and "
            + "round trips (reply bursts written by the MX) are counted over the burst. CPU: the delivering side's CPU "
            + "time over the burst per 1000 mails: James's JVM less the fake MX servers' threads; for Postfix, every "
            + "process of the instance (read from /proc, exited ones through the master's children times) plus this "
            + "JVM less the fake MX threads (the harness, as in James's figure). All CPU including the fake MX "
            + "threads: ")
            .append(results.stream().filter(RunResult::measured).map(r -> String.format(Locale.ROOT, "%.2f",
                r.processCpuSecondsPerThousand())).collect(Collectors.joining(", ")))
            .append(" in the order of the rows. Postfix: a private instance on loopback started by "
                + "integration-tests/bench-postfix/postfix-instance.sh, same caps (5 deliveries at once per MX host "
                + "from the first mail, connections reused for up to 100 mails, kept 10 s when idle), no DNS, no "
                + "TLS; the burst is held by a header check, released into the deferred queue due an hour later and "
                + "flushed (postqueue -f) at the release instant.\n");
        md.append("\nPer run: steady phase connections opened and round trips per mail; burst RSETs per mail; most "
            + "mails carried by one connection:\n");
        results.stream().filter(RunResult::measured).forEach(r -> md.append(String.format(Locale.ROOT,
            "- %s at %d ms: steady %d connections, %.2f round trips / mail; burst %.2f RSETs / mail; at most %d "
                + "mails on one connection%s%n", r.mailet.label(), r.latencyMillis, r.steadyConnectionsOpened,
            r.steadyRoundTripsPerMail, r.rsetsPerMail, r.mostMailsPerConnection,
            r.detail.isEmpty() ? "" : "; " + r.detail)));
        return md.toString();
    }

    private static String ratio(Optional<RunResult> other, ToDoubleFunction<RunResult> ratio) {
        return other.map(r -> String.format(Locale.ROOT, "%.2fx", ratio.applyAsDouble(r))).orElse("-");
    }

    private static Optional<RunResult> find(List<RunResult> results, BenchSettings.MailetKind kind, int latency) {
        return results.stream().filter(r -> r.mailet == kind && r.latencyMillis == latency && r.measured())
            .findFirst();
    }
}

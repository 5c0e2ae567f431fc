package io.github.mxgovernor.bench;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/** The benchmark's Markdown report: one table per scenario, the ratios of ours to the others, and what each means. */
final class BenchReport {
    /** Up to this many MX hosts, the peak connections of each are listed; beyond, counted by value. */
    private static final int LISTED_MX_HOSTS = 8;

    private BenchReport() {
    }

    static String markdown(BenchSettings settings, List<Scenario> scenarios, List<RunResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("# End-to-end delivery benchmark\n\n")
            .append(String.format(Locale.ROOT, "%s, Java %s, %d CPUs. %s.%n",
                DateTimeFormatter.ISO_LOCAL_DATE.format(ZonedDateTime.now()), System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(), settings));
        for (Scenario scenario : scenarios) {
            md.append("\n## ").append(scenario.kind().title()).append(": ").append(scenario.description())
                .append("\n\n")
                .append("| MX latency | contender | mails/s | burst p50 / p99 (s) | steady p50 / p99 (ms) ")
                .append("| DNS queries in the burst | peak conns per MX | peak total | connections ")
                .append("| round trips / mail | CPU s / 1000 mails | peak threads (Postfix: processes) |\n")
                .append("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
            results.stream().filter(r -> r.scenario == scenario.kind()).forEach(r -> md.append(row(scenario, r)));
        }
        md.append("\n## Ratios of ours to the others\n\n")
            .append("| scenario | MX latency | ours | mails/s ours / stock | mails/s ours / Postfix ")
            .append("| CPU per mail ours / stock | CPU per mail ours / Postfix | issue 15 asks, after the engine's rework |\n")
            .append("|---|---|---|---:|---:|---:|---:|---|\n");
        for (Scenario scenario : scenarios) {
            for (int latency : scenario.latenciesMillis()) {
                Optional<RunResult> stock = find(results, scenario, ContenderVariant.of(BenchSettings.MailetKind.STOCK),
                    latency);
                Optional<RunResult> postfix = find(results, scenario,
                    ContenderVariant.of(BenchSettings.MailetKind.POSTFIX), latency);
                results.stream().filter(r -> r.scenario == scenario.kind() && r.latencyMillis == latency
                    && r.mailet.governed() && r.measured()).forEach(o -> {
                        if (stock.isPresent() || postfix.isPresent()) {
                            md.append(String.format(Locale.ROOT, "| %s | %d ms | %s | %s | %s | %s | %s | %s |%n",
                                scenario.kind().title(), latency, o.contender.label(),
                                ratio(stock, s -> o.mailsPerSecond / s.mailsPerSecond),
                                ratio(postfix, p -> o.mailsPerSecond / p.mailsPerSecond),
                                ratio(stock, s -> o.cpuSecondsPerThousand() / s.cpuSecondsPerThousand()),
                                ratio(postfix, p -> o.cpuSecondsPerThousand() / p.cpuSecondsPerThousand()),
                                scenario.kind().issueTarget()));
                        }
                    });
            }
        }
        md.append(storeComparison(scenarios, results));
        md.append("\n").append(notes(settings, results));
        return md.toString();
    }

    /** Ours with the cluster store against ours alone in the same run; nothing when no run had a store. */
    static String storeComparison(List<Scenario> scenarios, List<RunResult> results) {
        if (results.stream().noneMatch(r -> r.mailet == BenchSettings.MailetKind.OURS_STORE)) {
            return "";
        }
        StringBuilder md = new StringBuilder("\n## Ours with the cluster store against ours alone\n\n")
            .append("| scenario | MX latency | mails/s ours | mails/s ours+store | ours+store / ours ")
            .append("| CPU per mail ours+store / ours | store round trips / mail (burst) | (whole run) ")
            .append("| issue 13 asks |\n")
            .append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Scenario scenario : scenarios) {
            for (int latency : scenario.latenciesMillis()) {
                Optional<RunResult> ours = find(results, scenario, ContenderVariant.of(BenchSettings.MailetKind.OURS),
                    latency);
                Optional<RunResult> store = find(results, scenario,
                    ContenderVariant.of(BenchSettings.MailetKind.OURS_STORE), latency);
                if (store.isEmpty()) {
                    continue;
                }
                RunResult withStore = store.get();
                md.append(String.format(Locale.ROOT, "| %s | %d ms | %s | %.0f | %s | %s | %.3f | %.3f | %s |%n",
                    scenario.kind().title(), latency, ours.map(o -> String.format(Locale.ROOT, "%.0f",
                        o.mailsPerSecond)).orElse("-"), withStore.mailsPerSecond,
                    ratio(ours, o -> withStore.mailsPerSecond / o.mailsPerSecond),
                    ratio(ours, o -> withStore.cpuSecondsPerThousand() / o.cpuSecondsPerThousand()),
                    withStore.storeCommandsPerMail, withStore.runStoreCommandsPerMail,
                    "ours+store >= 0.9x ours at 50 ms; <= 0.1 round trips / mail on reused connections"));
            }
        }
        return md.append("\nours+store: our mailet with `store` naming a private redis-server on 127.0.0.1 (a fresh one "
            + "per run, Debian's, nothing saved) and `storeNodes=1`: every rule cluster-wide, so each connection takes "
            + "a lease in the store and the flow-control states and counts go through it. Store round trips: the "
            + "commands the store's client sent (`ClusterStore.commands()`), per mail: over the burst (release to last "
            + "delivery), and over the whole run (James's start, warm-up and steady phase included).\n").toString();
    }

    private static String row(Scenario scenario, RunResult r) {
        if (!r.measured()) {
            return String.format(Locale.ROOT, "| %d ms | %s | %s ||||||||||%n", r.latencyMillis, r.contender.label(),
                r.failure.map(f -> "FAILED: " + f).orElseGet(() -> "skipped: " + r.skipped.orElseThrow()));
        }
        return String.format(Locale.ROOT,
            "| %d ms | %s | %.0f | %.1f / %.1f | %s | %s | %s | %d | %d | %.2f | %.2f | %d |%n",
            r.latencyMillis, r.contender.label(), r.mailsPerSecond, r.releaseP50Millis / 1000,
            r.releaseP99Millis / 1000,
            Double.isNaN(r.steadyP50Millis) ? "-" : String.format(Locale.ROOT, "%.0f / %.0f", r.steadyP50Millis,
                r.steadyP99Millis),
            scenario.resolvesThroughDns() ? dnsQueries(r.burstDnsQueries) : "no DNS", peaksPerMx(r.peakPerMx),
            r.peakTotal, r.connectionsOpened, r.roundTripsPerMail, r.cpuSecondsPerThousand(),
            r.mailet == BenchSettings.MailetKind.POSTFIX ? r.cpu.peakExternalProcesses : r.cpu.peakThreads);
    }

    /** {@code 4020 (A 20, MX 2000, TXT 2000)}. */
    static String dnsQueries(SortedMap<String, Long> byType) {
        long total = byType.values().stream().mapToLong(Long::longValue).sum();
        if (total == 0) {
            return "0";
        }
        return total + " (" + byType.entrySet().stream().map(entry -> entry.getKey() + " " + entry.getValue())
            .collect(Collectors.joining(", ")) + ")";
    }

    /** {@code 5 5 5 5} for a few MX hosts; {@code 5 x18, 4 x2} (most first) for many. */
    static String peaksPerMx(List<Integer> peaks) {
        if (peaks.size() <= LISTED_MX_HOSTS) {
            return peaks.stream().map(String::valueOf).collect(Collectors.joining(" "));
        }
        SortedMap<Integer, Long> hostsByPeak = new TreeMap<>((a, b) -> Integer.compare(b, a));
        peaks.forEach(peak -> hostsByPeak.merge(peak, 1L, Long::sum));
        return hostsByPeak.entrySet().stream().map(entry -> entry.getKey() + " x" + entry.getValue())
            .collect(Collectors.joining(", "));
    }

    private static String notes(BenchSettings settings, List<RunResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("mails/s: burst mails / (last delivery - release), the burst being queued in full and due at one "
            + "instant. burst p50/p99: release to delivery at the fake MX. steady (4-MX burst only): the contender's "
            + "acceptance (its reply to the end of DATA) to acceptance by the fake MX, mails submitted at the steady "
            + "rate. DNS queries: what the name server received from release to the last delivery, by type. peak "
            + "conns: most connections open at once over the whole run, per MX host and over all MX hosts. "
            + "connections and round trips (reply bursts written by the MX) are counted over the burst. CPU: the "
            + "delivering side's CPU time over the burst per 1000 mails: James's JVM less the fake MX servers' "
            + "threads; for Postfix, every process of the instance (read from /proc, exited ones through the master's "
            + "children times) plus this JVM less the fake MX threads (the harness, as in James's figure). All CPU "
            + "including the fake MX threads: ")
            .append(results.stream().filter(RunResult::measured).map(r -> String.format(Locale.ROOT, "%.2f",
                r.processCpuSecondsPerThousand())).collect(Collectors.joining(", ")))
            .append(" in the order of the rows. Peak threads: the most live threads of James's JVM during the burst "
                + "(sampled every 100 ms), the harness's own (fake MX and DNS servers, sampler, main) left out; for "
                + "Postfix the most live processes of the instance.\n\n")
            .append("DNS: the 4-MX burst has none (James gets the MX and A records in memory, Postfix a transport "
                + "map to the MX addresses). The scenarios with DNS have one name server on UDP port 53 of ")
            .append(settings.dnsAddress().getHostAddress())
            .append(" that answers every query after ").append(settings.dnsDelay().toMillis())
            .append(" ms from its records (TTL 3600 s; NODATA or NXDOMAIN for anything else, never asking another "
                + "server); each contender starts with empty caches. Ours and stock: James's DNSJavaService "
                + "(dnsservice.xml naming that server alone, its own cache). Postfix: its chrooted smtp client reads "
                + "a resolv.conf in its queue directory naming that server alone; it keeps no cache (each delivery "
                + "asks for MX and A again); its concurrency limit applies per "
                + "recipient domain (5 each; Postfix has no limit per MX host when it looks MX records up itself), "
                + "at most 5 x MX hosts deliveries at once, connections cached for every domain and reused by MX "
                + "address.\n\n")
            .append("Postfix: a private instance on loopback started by integration-tests/bench-postfix/"
                + "postfix-instance.sh, connections reused for up to 100 mails and kept 10 s when idle, no TLS, 5 "
                + "deliveries at once per next hop from the first mail; the burst is held by a header check, "
                + "released into the deferred queue due an hour later and flushed (postqueue -f) at the release "
                + "instant.\n");
        md.append("\nPer run: steady phase connections opened and round trips per mail; burst RSETs per mail; most "
            + "mails carried by one connection; DNS queries over the whole run (warm-up included); peak threads of "
            + "the whole JVM; peak connections of each MX host:\n");
        results.stream().filter(RunResult::measured).forEach(r -> md.append(String.format(Locale.ROOT,
            "- %s, %s at %d ms: %sburst %.2f RSETs / mail; at most %d mails on one connection; %s; JVM threads %d; "
                + "peak conns per MX %s%s%s%n",
            r.scenario.title(), r.contender.label(), r.latencyMillis, Double.isNaN(r.steadyRoundTripsPerMail) ? ""
                : String.format(Locale.ROOT, "steady %d connections, %.2f round trips / mail; ",
                    r.steadyConnectionsOpened, r.steadyRoundTripsPerMail),
            r.rsetsPerMail, r.mostMailsPerConnection,
            r.scenario.resolvesThroughDns() ? "DNS " + dnsQueries(r.dnsQueries) : "no DNS", r.cpu.peakJvmThreads,
            r.peakPerMx.stream().map(String::valueOf).collect(Collectors.joining(" ")),
            r.detail.isEmpty() ? "" : "; " + r.detail,
            Double.isNaN(r.storeCommandsPerMail) ? "" : String.format(Locale.ROOT,
                "; store round trips / mail %.3f (burst), %.3f (whole run)", r.storeCommandsPerMail,
                r.runStoreCommandsPerMail))));
        return md.toString();
    }

    private static String ratio(Optional<RunResult> other, ToDoubleFunction<RunResult> ratio) {
        return other.map(r -> String.format(Locale.ROOT, "%.2fx", ratio.applyAsDouble(r))).orElse("-");
    }

    private static Optional<RunResult> find(List<RunResult> results, Scenario scenario, ContenderVariant contender,
                                            int latency) {
        return results.stream().filter(r -> r.scenario == scenario.kind() && r.contender.equals(contender)
            && r.latencyMillis == latency && r.measured()).findFirst();
    }
}

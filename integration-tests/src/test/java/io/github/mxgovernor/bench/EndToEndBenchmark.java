package io.github.mxgovernor.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;

/**
 * The end-to-end load benchmark: for each {@link Scenario} (the 4-MX burst without DNS, the long tail and one mail per
 * domain through a slow name server), each contender (our governed mailet, also with other {@code deliveryThreads} in
 * the burst, James's stock {@code RemoteDelivery}, each in a fresh embedded James 3.8.1, and a private Postfix as the
 * reference MTA) and each MX latency, one {@link BenchRun}. Prints a Markdown report and writes it to
 * {@code <bench.output>/e2e.md}; exits with 1 when a run broke a check (a mail lost or duplicated, a cap exceeded, a
 * time-out). A contender that cannot run here (Postfix without root or apt; any contender of a scenario with DNS
 * without the right to bind ports 53 and 25) is reported as skipped. Settings: {@link BenchSettings}.
 *
 * <p>Run it with {@code mvn -B -Pbench verify} (add {@code -Dbench.scenarios=burst -Dbench.mails=1000} for a quick
 * run).
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

        List<Scenario> scenarios = new ArrayList<>();
        List<RunResult> results = new ArrayList<>();
        for (Scenario.Kind kind : settings.scenarios()) {
            Scenario scenario = Scenario.of(kind, settings);
            scenarios.add(scenario);
            for (int latency : scenario.latenciesMillis()) {
                for (ContenderVariant contender : scenario.contenders(settings)) {
                    System.out.printf(Locale.ROOT, "%n== %s: %s, MX latency %d ms ...%n", kind.title(),
                        contender.label(), latency);
                    long start = System.nanoTime();
                    RunResult result = new BenchRun(settings, scenario, contender, latency, settings.output()).run();
                    results.add(result);
                    System.out.printf(Locale.ROOT, "   %s in %.0f s%n", result.failure.map(f -> "FAILED: " + f)
                        .or(() -> result.skipped.map(reason -> "SKIPPED: " + reason))
                        .orElse(String.format(Locale.ROOT, "%.1f mails/s", result.mailsPerSecond)),
                        (System.nanoTime() - start) / 1e9);
                }
            }
        }

        String report = BenchReport.markdown(settings, scenarios, results);
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
}

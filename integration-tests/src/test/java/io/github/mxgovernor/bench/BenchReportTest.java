package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Properties;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

class BenchReportTest {
    @Test
    void peaksPerMxShouldListAFewHostsAndCountMany() {
        assertThat(BenchReport.peaksPerMx(List.of(5, 5, 4, 5))).isEqualTo("5 5 4 5");
        assertThat(BenchReport.peaksPerMx(List.of(5, 5, 4, 5, 5, 5, 5, 3, 5, 5))).isEqualTo("5 x8, 4 x1, 3 x1");
    }

    @Test
    void dnsQueriesShouldGiveTheTotalThenEachType() {
        TreeMap<String, Long> queries = new TreeMap<>();
        queries.put("MX", 2000L);
        queries.put("A", 20L);
        queries.put("TXT", 1990L);

        assertThat(BenchReport.dnsQueries(queries)).isEqualTo("4010 (A 20, MX 2000, TXT 1990)");
        assertThat(BenchReport.dnsQueries(new TreeMap<>())).isEqualTo("0");
    }

    @Test
    void markdownShouldGiveEachScenarioItsTableAndOursRatiosToTheOthers() {
        Properties properties = new Properties();
        properties.setProperty("bench.scenarios", "longtail");
        properties.setProperty("bench.tailMails", "1000");
        properties.setProperty("bench.tailDomains", "100");
        BenchSettings settings = BenchSettings.from(properties);
        Scenario tail = Scenario.of(Scenario.Kind.LONG_TAIL, settings);
        TreeMap<String, Long> queries = new TreeMap<>();
        queries.put("MX", 100L);

        String report = BenchReport.markdown(settings, List.of(tail), List.of(
            measured(BenchSettings.MailetKind.OURS, 300, 0.5, queries),
            measured(BenchSettings.MailetKind.STOCK, 50, 2.0, queries),
            RunResult.builder(Scenario.Kind.LONG_TAIL, ContenderVariant.of(BenchSettings.MailetKind.POSTFIX), 50, 1000)
                .skipped("no root").build()));

        assertThat(report).contains("## long tail: 1000 mails over 100 domains, Zipf exponent 1.0, 20 MX hosts, DNS "
            + "answers after 30 ms")
            .contains("| 50 ms | GovernedRemoteDelivery | 300 | 1.0 / 2.0 | - | 100 (MX 100) | 5 x20 | 100 | 40 | "
                + "1.00 | 0.50 | 70 |")
            .contains("| 50 ms | Postfix | skipped: no root |")
            .contains("| long tail | 50 ms | GovernedRemoteDelivery | 6.00x | - | 0.25x | - | ours >= 8x stock and "
                + ">= 2.5x Postfix mails/s |");
    }

    @Test
    void markdownShouldCompareOursWithTheStoreToOursAloneWithTheStoreRoundTrips() {
        Properties properties = new Properties();
        properties.setProperty("bench.scenarios", "longtail");
        properties.setProperty("bench.tailMails", "1000");
        properties.setProperty("bench.tailDomains", "100");
        BenchSettings settings = BenchSettings.from(properties);
        Scenario tail = Scenario.of(Scenario.Kind.LONG_TAIL, settings);
        TreeMap<String, Long> queries = new TreeMap<>();
        queries.put("MX", 100L);

        String report = BenchReport.markdown(settings, List.of(tail), List.of(
            measured(BenchSettings.MailetKind.OURS, 300, 0.5, queries),
            measured(BenchSettings.MailetKind.OURS_STORE, 285, 0.6, queries, 0.04, 0.125),
            measured(BenchSettings.MailetKind.STOCK, 50, 2.0, queries)));

        assertThat(report).contains("## Ours with the cluster store against ours alone")
            .contains("| long tail | 50 ms | 300 | 285 | 0.95x | 1.20x | 0.040 | 0.125 | ours+store >= 0.9x ours at "
                + "50 ms; <= 0.1 round trips / mail on reused connections |")
            .contains("| long tail | 50 ms | GovernedRemoteDelivery + Redis store | 5.70x | - | 0.30x | - |")
            .contains("store round trips / mail 0.040 (burst), 0.125 (whole run)");
        assertThat(BenchReport.markdown(settings, List.of(tail), List.of(
            measured(BenchSettings.MailetKind.OURS, 300, 0.5, queries))))
            .doesNotContain("cluster store").doesNotContain("store round trips");
    }

    private static RunResult measured(BenchSettings.MailetKind kind, double mailsPerSecond, double cpuSeconds,
                                      TreeMap<String, Long> queries, double storePerBurstMail,
                                      double storePerRunMail) {
        return RunResult.builder(Scenario.Kind.LONG_TAIL, ContenderVariant.of(kind), 50, 1000)
            .throughput(mailsPerSecond, 1000, 2000)
            .connections(List.of(5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5), 100, 40, 1.0, 1.0)
            .cpu(new CpuMeter.Usage(cpuSeconds, 0, 0, 70, 90, 0))
            .dnsQueries(queries, queries)
            .storeCommands(storePerBurstMail, storePerRunMail)
            .build();
    }

    private static RunResult measured(BenchSettings.MailetKind kind, double mailsPerSecond, double cpuSeconds,
                                      TreeMap<String, Long> queries) {
        return RunResult.builder(Scenario.Kind.LONG_TAIL, ContenderVariant.of(kind), 50, 1000)
            .throughput(mailsPerSecond, 1000, 2000)
            .connections(List.of(5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5), 100, 40, 1.0, 1.0)
            .cpu(new CpuMeter.Usage(cpuSeconds, 0, 0, 70, 90, 0))
            .dnsQueries(queries, queries)
            .build();
    }
}

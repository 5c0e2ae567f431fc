package io.github.mxgovernor.bench;

import io.github.mxgovernor.it.ConnectionGauge;
import io.github.mxgovernor.it.EmbeddedJames;
import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.LoopbackDnsServer;
import io.github.mxgovernor.it.ReceivedMessage;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

/**
 * One benchmark run: one fresh {@link Contender} (an embedded James with one delivery mailet, or a private Postfix),
 * the {@link Scenario}'s fresh fake MX servers with the given round-trip latency, for a scenario with DNS a fresh
 * {@link LoopbackDnsServer} on port 53 of {@code bench.dnsAddress} answering after its delay, and three phases:
 * <ol>
 *   <li>warm-up: a burst delivered and discarded;</li>
 *   <li>steady: mails submitted at a fixed rate every contender sustains; time from the contender's acceptance (the
 *       reply to the end of DATA) to the fake MX's acceptance;</li>
 *   <li>burst: mails submitted while held (they carry {@link #HOLD_HEADER}), then made due all at one instant in the
 *       contender's own queue; from that instant to the last delivery: mails/s, CPU, round trips and connections.</li>
 * </ol>
 * Then the checks: every mail reached an MX exactly once (Message-IDs), nothing bounced or failed, no connection
 * carried more than {@value BenchSettings#MAILS_PER_CONNECTION} mails, and for our mailet the connection caps held
 * (peak connections per MX host and in total). With a cluster store, its commands per mail: over the burst (from the
 * release instant to the last delivery) and over the whole run. The scenarios with DNS have no steady phase.
 */
final class BenchRun {
    static final String HOLD_HEADER = "X-Bench-Hold";
    private static final long POLL_MILLIS = 10;

    private final BenchSettings settings;
    private final Scenario scenario;
    private final ContenderVariant variant;
    private final BenchSettings.MailetKind kind;
    private final int latencyMillis;
    private final Path workDirectory;
    private final String runName;
    private LoopbackDnsServer dns;

    BenchRun(BenchSettings settings, Scenario scenario, ContenderVariant variant, int latencyMillis,
             Path workDirectory) {
        this.settings = settings;
        this.scenario = scenario;
        this.variant = variant;
        this.kind = variant.kind();
        this.latencyMillis = latencyMillis;
        this.workDirectory = workDirectory;
        this.runName = scenario.kind().propertyValue() + "-" + variant.fileName() + "-" + latencyMillis + "ms";
    }

    RunResult run() {
        RunResult.Builder result = RunResult.builder(scenario.kind(), variant, latencyMillis, scenario.burstMails());
        ConnectionGauge gauge = new ConnectionGauge();
        List<FakeMxServer> servers = new ArrayList<>();
        Contender contender = null;
        try {
            startNetwork(servers, gauge);
            contender = startContender(servers);
            measure(contender, servers, gauge, result);
            Contender stopping = contender;
            contender = null;
            stopping.close();
            checkAfterStop(servers, result);
        } catch (ContenderUnavailable unavailable) {
            result.skipped(unavailable.getMessage());
        } catch (BenchFailure failure) {
            result.failure(failure.getMessage());
        } catch (Exception unexpected) {
            unexpected.printStackTrace();
            result.failure("unexpected " + unexpected);
        } finally {
            if (contender != null) {
                try {
                    contender.close();
                } catch (Exception e) {
                    System.err.println("Could not stop " + kind.label() + ": " + e);
                }
            }
            servers.forEach(FakeMxServer::close);
            closeDns();
        }
        return result.build();
    }

    /**
     * Starts the fake MX servers and, for a scenario with DNS, the name server holding their records.
     *
     * @throws ContenderUnavailable when a scenario with DNS cannot bind ports 53 and 25 here
     */
    private void startNetwork(List<FakeMxServer> servers, ConnectionGauge gauge) throws Exception {
        try {
            for (Scenario.MxHost host : scenario.mxHosts()) {
                servers.add(FakeMxServer.builder(host.address).port(host.port).hostName(host.name)
                    .latency(Duration.ofMillis(latencyMillis)).chunking(settings.chunking()).retainContent(false)
                    .gauge(gauge).start());
            }
            if (scenario.resolvesThroughDns()) {
                dns = new LoopbackDnsServer(new InetSocketAddress(settings.dnsAddress(), LoopbackDnsServer.PORT),
                    scenario.dnsDelay().orElseThrow());
                for (int i = 0; i < servers.size(); i++) {
                    dns.a(scenario.mxHosts().get(i).name, servers.get(i).address());
                }
                scenario.mxOfDomain().forEach((domain, mx) -> dns.mx(domain, scenario.mxHosts().get(mx).name));
            }
        } catch (SocketException | UncheckedIOException bindFailure) {
            if (!scenario.resolvesThroughDns()) {
                throw bindFailure;
            }
            throw new ContenderUnavailable("cannot bind UDP " + settings.dnsAddress().getHostAddress() + ":53 and TCP "
                + "port 25 of 127.0.0.121-140 (needs root or CAP_NET_BIND_SERVICE, and the ports free): "
                + (bindFailure.getCause() != null ? bindFailure.getCause() : bindFailure));
        }
    }

    private void closeDns() {
        if (dns != null) {
            try {
                dns.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            dns = null;
        }
    }

    private SortedMap<String, Long> dnsQueryCounts() {
        return dns == null ? new TreeMap<>() : dns.queryCounts();
    }

    private Contender startContender(List<FakeMxServer> servers) throws Exception {
        if (kind == BenchSettings.MailetKind.POSTFIX) {
            Path directory = workDirectory.resolve("postfix-" + scenario.kind().propertyValue() + "-" + latencyMillis
                + "ms");
            Files.createDirectories(directory);
            if (scenario.resolvesThroughDns()) {
                return PostfixContender.startWithDns(settings.postfixScript(), directory, settings.dnsAddress(),
                    scenario, settings.timeout());
            }
            return PostfixContender.start(settings.postfixScript(), directory, scenario, servers, settings.timeout());
        }
        return JamesContender.start(settings, scenario, variant, workDirectory, servers,
            scenario.resolvesThroughDns() ? Optional.of(settings.dnsAddress()) : Optional.empty());
    }

    private void measure(Contender contender, List<FakeMxServer> servers, ConnectionGauge gauge,
                         RunResult.Builder result) throws Exception {
        MailInjector injector = new MailInjector(contender.smtpPort(), EmbeddedJames.SENDER, contender.localDomain());
        Set<String> expected = new HashSet<>();

        if (settings.warmupMails() > 0) {
            List<SentMail> warmup = injector.burst(runName + "-warmup", settings.warmupMails(),
                scenario::warmupRecipient, Map.of(), BenchSettings.SUBMISSION_CONNECTIONS);
            expected.addAll(ids(warmup));
            awaitDelivered(servers, expected.size(), "the warm-up mails");
        }

        if (settings.steadyMails() > 0 && scenario.steadyPhase()) {
            long steadyBursts = sum(servers, FakeMxServer::replyBursts);
            long steadyConnections = sum(servers, FakeMxServer::totalConnections);
            List<SentMail> steady = injector.paced(runName + "-steady", settings.steadyMails(),
                scenario::steadyRecipient, settings.steadyRate());
            expected.addAll(ids(steady));
            awaitDelivered(servers, expected.size(), "the steady-rate mails");
            Map<String, Instant> received = receivedAt(servers);
            double[] latencies = new double[steady.size()];
            for (int i = 0; i < latencies.length; i++) {
                SentMail mail = steady.get(i);
                latencies[i] = millisBetween(mail.acceptedAt(), deliveredAt(received, mail));
            }
            Arrays.sort(latencies);
            result.steady(percentile(latencies, 0.50), percentile(latencies, 0.99),
                (int) (sum(servers, FakeMxServer::totalConnections) - steadyConnections),
                (double) (sum(servers, FakeMxServer::replyBursts) - steadyBursts) / steady.size());
        }

        int mails = scenario.burstMails();
        List<SentMail> burst = injector.burst(runName + "-burst", mails, scenario::burstRecipient,
            Map.of(HOLD_HEADER, "held"), BenchSettings.SUBMISSION_CONNECTIONS);
        expected.addAll(ids(burst));
        await(() -> contender.holding(mails), "the contender to hold the burst's " + mails + " mails, and nothing else");

        long burstsBefore = sum(servers, FakeMxServer::replyBursts);
        long rsetsBefore = sum(servers, server -> server.commandCount("RSET"));
        long connectionsBefore = sum(servers, FakeMxServer::totalConnections);
        long deliveredBefore = sum(servers, FakeMxServer::messageCount);
        Instant release = Instant.now().plusMillis(3000 + mails / 2);
        contender.schedule(mails, release);
        OptionalLong storeCommandsBefore = contender.storeCommands();
        // nothing is due before the release instant, so nothing asks the name server meanwhile
        SortedMap<String, Long> queriesBefore = dnsQueryCounts();
        TimeUnit.MILLISECONDS.sleep(Math.max(0, Duration.between(Instant.now(), release).toMillis()));
        if (sum(servers, FakeMxServer::messageCount) != deliveredBefore) {
            throw new BenchFailure(runName + ": some of the burst was delivered before the release instant; raise "
                + "the margin in BenchRun");
        }
        CpuMeter cpu = contender.startCpu();
        contender.release();
        awaitDelivered(servers, deliveredBefore + mails, "the burst");
        CpuMeter.Usage usage = cpu.stop();
        OptionalLong storeCommandsAfter = contender.storeCommands();
        SortedMap<String, Long> queriesDuringBurst = dnsQueryCounts();
        queriesBefore.forEach((type, count) -> queriesDuringBurst.merge(type, -count, Long::sum));
        queriesDuringBurst.values().removeIf(count -> count == 0);

        Map<String, Instant> received = receivedAt(servers);
        double[] fromRelease = new double[burst.size()];
        for (int i = 0; i < fromRelease.length; i++) {
            fromRelease[i] = millisBetween(release, deliveredAt(received, burst.get(i)));
        }
        Arrays.sort(fromRelease);
        double seconds = fromRelease[fromRelease.length - 1] / 1000;
        result.throughput(mails / seconds, percentile(fromRelease, 0.50), percentile(fromRelease, 0.99));
        result.cpu(usage);

        await(contender::idle, "the queue to be empty after the burst");
        List<Integer> peaks = servers.stream().map(FakeMxServer::peakConnections).collect(Collectors.toList());
        result.connections(peaks, gauge.peak(),
            (int) (sum(servers, FakeMxServer::totalConnections) - connectionsBefore),
            (double) (sum(servers, FakeMxServer::replyBursts) - burstsBefore) / mails,
            (double) (sum(servers, server -> server.commandCount("RSET")) - rsetsBefore) / mails);
        result.dnsQueries(queriesDuringBurst, dnsQueryCounts());
        result.detail(contender.detail());
        if (storeCommandsBefore.isPresent() && storeCommandsAfter.isPresent()) {
            result.storeCommands((double) (storeCommandsAfter.getAsLong() - storeCommandsBefore.getAsLong()) / mails,
                (double) contender.storeCommands().getAsLong() / expected.size());
        }
        checkExactlyOnce(runName, servers, expected);
        contender.checkNothingFailed(runName);
        if (kind.governed()) {
            checkCaps(runName, peaks, gauge.peak());
        }
    }

    /** Once the contender stopped, every connection is closed: none carried more mails than the rule allows. */
    private void checkAfterStop(List<FakeMxServer> servers, RunResult.Builder result) throws BenchFailure {
        await(() -> servers.stream().allMatch(server -> server.openConnections() == 0),
            "the MX servers to see every connection closed");
        int most = 0;
        for (FakeMxServer server : servers) {
            int mostHere = server.messagesPerClosedConnection().stream().mapToInt(Integer::intValue).max().orElse(0);
            if (mostHere > BenchSettings.MAILS_PER_CONNECTION) {
                throw new BenchFailure(server.hostName() + " got " + mostHere + " mails on one connection, more than "
                    + BenchSettings.MAILS_PER_CONNECTION);
            }
            most = Math.max(most, mostHere);
        }
        result.mostMailsPerConnection(most);
    }

    private static void checkExactlyOnce(String run, List<FakeMxServer> servers, Set<String> expected)
        throws BenchFailure {
        List<String> received = new ArrayList<>();
        servers.forEach(server -> received.addAll(server.messageIds()));
        Map<String, Integer> counts = new HashMap<>();
        received.forEach(id -> counts.merge(id, 1, Integer::sum));
        List<String> duplicated = counts.entrySet().stream().filter(entry -> entry.getValue() > 1)
            .map(Map.Entry::getKey).limit(5).collect(Collectors.toList());
        Set<String> missing = new HashSet<>(expected);
        missing.removeAll(counts.keySet());
        Set<String> unexpected = new HashSet<>(counts.keySet());
        unexpected.removeAll(expected);
        if (!duplicated.isEmpty() || !missing.isEmpty() || !unexpected.isEmpty()) {
            throw new BenchFailure(run + ": not every mail was delivered exactly once: " + received.size()
                + " received for " + expected.size() + " sent; duplicated " + duplicated + ", missing "
                + missing.stream().limit(5).collect(Collectors.toList()) + ", unexpected "
                + unexpected.stream().limit(5).collect(Collectors.toList()));
        }
    }

    private void checkCaps(String run, List<Integer> peaks, int peakTotal) throws BenchFailure {
        for (int i = 0; i < peaks.size(); i++) {
            if (peaks.get(i) > BenchSettings.CAP_PER_MX) {
                throw new BenchFailure(run + ": MX host " + scenario.mxHosts().get(i).name + " saw " + peaks.get(i)
                    + " connections at once, above the cap of " + BenchSettings.CAP_PER_MX);
            }
        }
        int totalCap = BenchSettings.CAP_PER_MX * peaks.size();
        if (peakTotal > totalCap) {
            throw new BenchFailure(run + ": " + peakTotal + " connections at once in total, above " + totalCap);
        }
    }

    private void awaitDelivered(List<FakeMxServer> servers, long count, String what) throws BenchFailure {
        await(() -> sum(servers, FakeMxServer::messageCount) >= count, "the MX servers to receive " + what);
    }

    private void await(ThrowingCondition condition, String what) throws BenchFailure {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        try {
            while (!condition.holds()) {
                if (System.nanoTime() > deadline) {
                    throw new BenchFailure(runName + ": timed out after " + settings.timeout()
                        + " waiting for " + what);
                }
                TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
            }
        } catch (BenchFailure failure) {
            throw failure;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchFailure("interrupted while waiting for " + what);
        } catch (Exception e) {
            throw new BenchFailure("failed while waiting for " + what + ": " + e);
        }
    }

    private static Map<String, Instant> receivedAt(List<FakeMxServer> servers) {
        Map<String, Instant> received = new HashMap<>();
        for (FakeMxServer server : servers) {
            for (ReceivedMessage message : server.messages()) {
                message.messageId().ifPresent(id -> received.putIfAbsent(id, message.receivedAt()));
            }
        }
        return received;
    }

    private static Instant deliveredAt(Map<String, Instant> received, SentMail mail) throws BenchFailure {
        Instant at = received.get(mail.messageId());
        if (at == null) {
            throw new BenchFailure(mail.messageId() + " to " + mail.recipient() + " never reached its MX, although"
                + " the MX servers received as many mails as were sent: some mail arrived twice");
        }
        return at;
    }

    private static long sum(List<FakeMxServer> servers, ToLongFunction<FakeMxServer> counter) {
        return servers.stream().mapToLong(counter).sum();
    }

    private static Set<String> ids(List<SentMail> mails) {
        return mails.stream().map(SentMail::messageId).collect(Collectors.toSet());
    }

    private static double millisBetween(Instant from, Instant to) {
        return Duration.between(from, to).toNanos() / 1e6;
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double quantile) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(quantile * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    @FunctionalInterface
    private interface ThrowingCondition {
        boolean holds() throws Exception;
    }
}

package io.github.mxgovernor.bench;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.it.ConnectionGauge;
import io.github.mxgovernor.it.EmbeddedJames;
import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.ReceivedMessage;
import io.github.mxgovernor.james.SharedGovernor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

import org.apache.james.utils.GuiceProbe;

import com.google.inject.multibindings.Multibinder;

/**
 * One benchmark run: a fresh embedded James with one delivery mailet, {@value BenchSettings#MX_HOSTS} fresh fake MX
 * servers with the given round-trip latency, and three phases:
 * <ol>
 *   <li>warm-up: a burst delivered and discarded;</li>
 *   <li>steady: mails submitted at a fixed rate both mailets sustain; time from James's acceptance (the reply to
 *       the end of DATA) to the fake MX's acceptance;</li>
 *   <li>burst: mails submitted while held in a repository (a {@code HasHeader} matcher before the delivery
 *       mailet), then moved onto the outgoing queue all due at one instant, exactly as the mailets' own
 *       {@code service()} would have queued them; from that instant to the last delivery: mails/s, CPU, round
 *       trips and connections.</li>
 * </ol>
 * Then the checks: every mail reached an MX exactly once (Message-IDs), nothing bounced or failed, and for our
 * mailet the caps held (peak connections per MX host, in total, and mails per connection).
 */
final class BenchRun {
    static final String HOLD_REPOSITORY = "memory://var/mail/bench-hold/";
    static final String HOLD_HEADER = "X-Bench-Hold";
    private static final String BOUNCED_REPOSITORY = "memory://var/mail/bounced/";
    private static final long POLL_MILLIS = 10;

    private final BenchSettings settings;
    private final BenchSettings.MailetKind kind;
    private final int latencyMillis;
    private final Path workDirectory;

    BenchRun(BenchSettings settings, BenchSettings.MailetKind kind, int latencyMillis, Path workDirectory) {
        this.settings = settings;
        this.kind = kind;
        this.latencyMillis = latencyMillis;
        this.workDirectory = workDirectory;
    }

    RunResult run() {
        RunResult.Builder result = RunResult.builder(kind, latencyMillis, settings.mails());
        ConnectionGauge gauge = new ConnectionGauge();
        List<FakeMxServer> servers = new ArrayList<>();
        EmbeddedJames james = null;
        try {
            for (int i = 0; i < BenchSettings.MX_HOSTS; i++) {
                servers.add(FakeMxServer.builder("127.0.0." + (101 + i)).latency(Duration.ofMillis(latencyMillis))
                    .chunking(settings.chunking()).retainContent(false).gauge(gauge).start());
            }
            james = startJames(servers);
            measure(james, servers, gauge, result);
            james.close();
            james = null;
            checkAfterStop(servers);
        } catch (BenchFailure failure) {
            result.failure(failure.getMessage());
        } catch (Exception unexpected) {
            unexpected.printStackTrace();
            result.failure("unexpected " + unexpected);
        } finally {
            if (james != null) {
                james.close();
            }
            servers.forEach(FakeMxServer::close);
        }
        return result.build();
    }

    private EmbeddedJames startJames(List<FakeMxServer> servers) throws Exception {
        EmbeddedJames.Builder builder = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.mailet("HasHeader=" + HOLD_HEADER, "ToRepository",
                Map.of("repositoryPath", HOLD_REPOSITORY)) + deliveryMailet())
            .module(binder -> Multibinder.newSetBinder(binder, GuiceProbe.class).addBinding().to(BenchProbe.class));
        for (int domain = 1; domain <= BenchSettings.DOMAINS; domain++) {
            int host = mxIndexOf(domain);
            builder.mx(domainName(domain), "mx" + (host + 1) + ".bench.test", servers.get(host));
        }
        return builder.start();
    }

    private String deliveryMailet() throws Exception {
        Map<String, String> common = new LinkedHashMap<>();
        common.put("connectiontimeout", "10000");
        common.put("timeout", "30000");
        if (kind == BenchSettings.MailetKind.STOCK) {
            return EmbeddedJames.stockRemoteDelivery("1000", 5, common);
        }
        Path rules = workDirectory.resolve("mx-rules-" + latencyMillis + ".xml");
        Files.writeString(rules, String.join("\n",
            "<mx-rules>",
            "  <rule name=\"bench\" mx=\"*.bench.test\" maxConnections=\"" + BenchSettings.CAP_PER_MX + "\"",
            "        maxMessagesPerConnection=\"" + BenchSettings.MAILS_PER_CONNECTION + "\" idleTimeout=\"10s\"/>",
            "</mx-rules>"));
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("outgoing", EmbeddedJames.OUTGOING_QUEUE);
        parameters.put("rules", rules.toString());
        parameters.put("delayTime", "1000");
        parameters.put("maxRetries", "5");
        parameters.put("maxDnsProblemRetries", "0");
        parameters.put("sendpartial", "true");
        parameters.put("bounceProcessor", EmbeddedJames.BOUNCE_PROCESSOR);
        parameters.putAll(common);
        parameters.putAll(settings.oursParameters());
        return EmbeddedJames.mailet("HasMailAttribute=RelayAllowed", "io.github.mxgovernor.james.GovernedRemoteDelivery",
            parameters);
    }

    private void measure(EmbeddedJames james, List<FakeMxServer> servers, ConnectionGauge gauge,
                         RunResult.Builder result) throws Exception {
        MailInjector injector = new MailInjector(james.smtpPort(), EmbeddedJames.SENDER, james.localDomain());
        BenchProbe probe = james.server().getProbe(BenchProbe.class);
        String run = kind.name().toLowerCase() + "-" + latencyMillis + "ms";
        IntFunction<String> recipientOf = i -> "user" + i + "@" + domainName(1 + i % BenchSettings.DOMAINS);
        Set<String> expected = new HashSet<>();

        if (settings.warmupMails() > 0) {
            List<SentMail> warmup = injector.burst(run + "-warmup", settings.warmupMails(), recipientOf, Map.of(),
                BenchSettings.SUBMISSION_CONNECTIONS);
            expected.addAll(ids(warmup));
            awaitDelivered(servers, expected.size(), "the warm-up mails");
        }

        if (settings.steadyMails() > 0) {
            long steadyBursts = sum(servers, FakeMxServer::replyBursts);
            long steadyConnections = sum(servers, FakeMxServer::totalConnections);
            List<SentMail> steady = injector.paced(run + "-steady", settings.steadyMails(), recipientOf,
                settings.steadyRate());
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

        int mails = settings.mails();
        List<SentMail> burst = injector.burst(run + "-burst", mails, recipientOf, Map.of(HOLD_HEADER, "held"),
            BenchSettings.SUBMISSION_CONNECTIONS);
        expected.addAll(ids(burst));
        await(() -> probe.repositorySize(HOLD_REPOSITORY) == mails, "James to hold the burst's " + mails + " mails");
        await(() -> james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0 && james.spoolerIdle(),
            "the outgoing queue to be empty before the burst");

        long burstsBefore = sum(servers, FakeMxServer::replyBursts);
        long connectionsBefore = sum(servers, FakeMxServer::totalConnections);
        long deliveredBefore = sum(servers, FakeMxServer::messageCount);
        Instant release = Instant.now().plusMillis(3000 + mails / 2);
        int moved = probe.moveToQueue(HOLD_REPOSITORY, EmbeddedJames.OUTGOING_QUEUE, release);
        if (moved != mails || probe.waitingAt(EmbeddedJames.OUTGOING_QUEUE, release) != mails) {
            throw new BenchFailure(run + ": moved " + moved + " of " + mails + " held mails onto the queue before the"
                + " release instant; raise the margin in BenchRun");
        }
        TimeUnit.MILLISECONDS.sleep(Math.max(0, Duration.between(Instant.now(), release).toMillis()));
        CpuMeter cpu = CpuMeter.start();
        awaitDelivered(servers, deliveredBefore + mails, "the burst");
        CpuMeter.Usage usage = cpu.stop();

        Map<String, Instant> received = receivedAt(servers);
        double[] fromRelease = new double[burst.size()];
        for (int i = 0; i < fromRelease.length; i++) {
            fromRelease[i] = millisBetween(release, deliveredAt(received, burst.get(i)));
        }
        Arrays.sort(fromRelease);
        double seconds = fromRelease[fromRelease.length - 1] / 1000;
        result.throughput(mails / seconds, percentile(fromRelease, 0.50), percentile(fromRelease, 0.99));
        result.cpu(usage);

        await(() -> james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0 && james.spoolerIdle(),
            "the outgoing queue to be empty after the burst");
        List<Integer> peaks = servers.stream().map(FakeMxServer::peakConnections).collect(Collectors.toList());
        result.connections(peaks, gauge.peak(),
            (int) (sum(servers, FakeMxServer::totalConnections) - connectionsBefore),
            (double) (sum(servers, FakeMxServer::replyBursts) - burstsBefore) / mails);
        if (kind == BenchSettings.MailetKind.OURS) {
            result.deferrals(deferralsByReason());
        }
        checkExactlyOnce(run, servers, expected);
        checkNothingFailed(run, james);
        if (kind == BenchSettings.MailetKind.OURS) {
            checkCaps(run, peaks, gauge.peak());
        }
    }

    /** Once James stopped, every connection is closed: our mailet never carried more than the rule allows on one. */
    private void checkAfterStop(List<FakeMxServer> servers) throws BenchFailure {
        if (kind != BenchSettings.MailetKind.OURS) {
            return;
        }
        await(() -> servers.stream().allMatch(server -> server.openConnections() == 0),
            "the MX servers to see every connection closed");
        for (FakeMxServer server : servers) {
            int most = server.messagesPerClosedConnection().stream().mapToInt(Integer::intValue).max().orElse(0);
            if (most > BenchSettings.MAILS_PER_CONNECTION) {
                throw new BenchFailure(server.hostName() + " got " + most + " mails on one connection, more than "
                    + BenchSettings.MAILS_PER_CONNECTION);
            }
        }
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

    private static void checkNothingFailed(String run, EmbeddedJames james) throws Exception {
        long errors = james.repositorySize(EmbeddedJames.ERROR_REPOSITORY);
        long bounced = james.repositorySize(BOUNCED_REPOSITORY);
        long relayDenied = james.repositorySize(EmbeddedJames.RELAY_DENIED_REPOSITORY);
        if (errors + bounced + relayDenied > 0) {
            throw new BenchFailure(run + ": mails failed: " + errors + " in the error repository, " + bounced
                + " bounced, " + relayDenied + " denied relaying");
        }
    }

    private static void checkCaps(String run, List<Integer> peaks, int peakTotal) throws BenchFailure {
        for (int i = 0; i < peaks.size(); i++) {
            if (peaks.get(i) > BenchSettings.CAP_PER_MX) {
                throw new BenchFailure(run + ": MX host " + (i + 1) + " saw " + peaks.get(i)
                    + " connections at once, above the cap of " + BenchSettings.CAP_PER_MX);
            }
        }
        int totalCap = BenchSettings.CAP_PER_MX * BenchSettings.MX_HOSTS;
        if (peakTotal > totalCap) {
            throw new BenchFailure(run + ": " + peakTotal + " connections at once in total, above " + totalCap);
        }
    }

    private static Map<String, Long> deferralsByReason() {
        Map<String, Long> counts = new LinkedHashMap<>();
        Governor governor = SharedGovernor.current().orElse(null);
        if (governor == null) {
            return counts;
        }
        for (DeferralReason reason : DeferralReason.values()) {
            long count = 0;
            for (Destination destination : governor.destinations()) {
                count += destination.deferredCount(reason);
            }
            if (count > 0) {
                counts.put(reason.name(), count);
            }
        }
        return counts;
    }

    private void awaitDelivered(List<FakeMxServer> servers, long count, String what) throws BenchFailure {
        await(() -> sum(servers, FakeMxServer::messageCount) >= count, "the MX servers to receive " + what);
    }

    private void await(ThrowingCondition condition, String what) throws BenchFailure {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        try {
            while (!condition.holds()) {
                if (System.nanoTime() > deadline) {
                    throw new BenchFailure(kind + " at " + latencyMillis + " ms: timed out after " + settings.timeout()
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

    static String domainName(int domain) {
        return "d" + domain + ".bench.test";
    }

    /** Domains are spread round-robin over the MX hosts. */
    static int mxIndexOf(int domain) {
        return (domain - 1) % BenchSettings.MX_HOSTS;
    }

    @FunctionalInterface
    private interface ThrowingCondition {
        boolean holds() throws Exception;
    }
}

package io.github.mxgovernor.bench;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.it.EmbeddedJames;
import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.james.SharedGovernor;
import io.github.mxgovernor.testing.RedisServer;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import org.apache.james.utils.GuiceProbe;

import com.google.inject.multibindings.Multibinder;

/**
 * A fresh embedded James 3.8.1 delivering with our mailet or the stock {@code RemoteDelivery}. It resolves the
 * scenario's domains from records held in memory, or, given a name server, through James's own DNS service
 * ({@code DNSJavaService} with its cache, fresh for each James) asking that server alone. A {@code HasHeader}
 * matcher before the delivery mailet holds the burst in a repository; {@link #schedule} moves it onto the outgoing
 * queue all due at one instant, exactly as the mailets' own {@code service()} would have queued it.
 *
 * <p>Our mailet with a store ({@code ours+store}) shares its limits through a private Redis server started for the run
 * ({@link RedisServer}: Debian's {@code redis-server} on a free port of 127.0.0.1, nothing saved, stopped by its PID
 * when James stops), as one node of a cluster ({@code storeNodes=1}): every rule is cluster-wide, so each connection
 * takes a lease in the store and the flow-control states and counts go through it.
 */
final class JamesContender implements Contender {
    private static final String HOLD_REPOSITORY = "memory://var/mail/bench-hold/";
    private static final String BOUNCED_REPOSITORY = "memory://var/mail/bounced/";

    private final BenchSettings.MailetKind kind;
    private final EmbeddedJames james;
    private final Optional<RedisServer> redis;
    private final BenchProbe probe;

    private JamesContender(BenchSettings.MailetKind kind, EmbeddedJames james, Optional<RedisServer> redis) {
        this.kind = kind;
        this.james = james;
        this.redis = redis;
        this.probe = james.server().getProbe(BenchProbe.class);
    }

    static JamesContender start(BenchSettings settings, Scenario scenario, ContenderVariant variant,
                                Path workDirectory, List<FakeMxServer> servers, Optional<InetAddress> nameServer)
        throws Exception {
        Optional<RedisServer> redis = variant.kind() == BenchSettings.MailetKind.OURS_STORE
            ? Optional.of(RedisServer.start(workDirectory.resolve("redis"))) : Optional.empty();
        try {
            return start(settings, scenario, variant, workDirectory, servers, nameServer, redis);
        } catch (Exception | Error notStarted) {
            if (redis.isPresent()) {
                redis.get().close();
            }
            throw notStarted;
        }
    }

    private static JamesContender start(BenchSettings settings, Scenario scenario, ContenderVariant variant,
                                        Path workDirectory, List<FakeMxServer> servers,
                                        Optional<InetAddress> nameServer, Optional<RedisServer> redis)
        throws Exception {
        EmbeddedJames.Builder builder = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.mailet("HasHeader=" + BenchRun.HOLD_HEADER, "ToRepository",
                Map.of("repositoryPath", HOLD_REPOSITORY)) + deliveryMailet(settings, variant, workDirectory, redis))
            .module(binder -> Multibinder.newSetBinder(binder, GuiceProbe.class).addBinding().to(BenchProbe.class));
        if (nameServer.isPresent()) {
            builder.nameServer(nameServer.get());
        } else {
            scenario.mxOfDomain().forEach((domain, host) ->
                builder.mx(domain, scenario.mxHosts().get(host).name, servers.get(host)));
        }
        return new JamesContender(variant.kind(), builder.start(), redis);
    }

    private static String deliveryMailet(BenchSettings settings, ContenderVariant variant, Path workDirectory,
                                         Optional<RedisServer> redis) throws Exception {
        BenchSettings.MailetKind kind = variant.kind();
        Map<String, String> common = new LinkedHashMap<>();
        common.put("connectiontimeout", "10000");
        common.put("timeout", "30000");
        if (kind == BenchSettings.MailetKind.STOCK) {
            return EmbeddedJames.stockRemoteDelivery("1000", 5, common);
        }
        Path rules = workDirectory.resolve("mx-rules.xml");
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
        if (redis.isPresent()) {
            parameters.put("store", redis.get().hostAndPort());
            parameters.put("storeNodes", "1");
            parameters.put("storeNodeName", "bench");
        }
        parameters.putAll(settings.oursParameters());
        parameters.putAll(variant.parameters());
        return EmbeddedJames.mailet("HasMailAttribute=RelayAllowed", "io.github.mxgovernor.james.GovernedRemoteDelivery",
            parameters);
    }

    @Override
    public int smtpPort() {
        return james.smtpPort();
    }

    @Override
    public String localDomain() {
        return james.localDomain();
    }

    @Override
    public boolean holding(int mails) throws Exception {
        return probe.repositorySize(HOLD_REPOSITORY) == mails && idle();
    }

    @Override
    public void schedule(int mails, Instant release) throws Exception {
        int moved = probe.moveToQueue(HOLD_REPOSITORY, EmbeddedJames.OUTGOING_QUEUE, release);
        if (moved != mails || probe.waitingAt(EmbeddedJames.OUTGOING_QUEUE, release) != mails) {
            throw new BenchFailure(kind + ": moved " + moved + " of " + mails + " held mails onto the queue before"
                + " the release instant; raise the margin in BenchRun");
        }
    }

    @Override
    public void release() {
        // the queue makes the mails due at the instant by itself
    }

    @Override
    public boolean idle() throws Exception {
        return james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0 && james.spoolerIdle();
    }

    @Override
    public CpuMeter startCpu() {
        return CpuMeter.start();
    }

    @Override
    public void checkNothingFailed(String run) throws Exception {
        long errors = james.repositorySize(EmbeddedJames.ERROR_REPOSITORY);
        long bounced = james.repositorySize(BOUNCED_REPOSITORY);
        long relayDenied = james.repositorySize(EmbeddedJames.RELAY_DENIED_REPOSITORY);
        if (errors + bounced + relayDenied > 0) {
            throw new BenchFailure(run + ": mails failed: " + errors + " in the error repository, " + bounced
                + " bounced, " + relayDenied + " denied relaying");
        }
    }

    @Override
    public OptionalLong storeCommands() {
        if (redis.isEmpty()) {
            return OptionalLong.empty();
        }
        ClusterStore store = SharedGovernor.current().flatMap(Governor::clusterStore).orElseThrow(() ->
            new IllegalStateException("our mailet runs without the cluster store it was given"));
        return OptionalLong.of(store.commands());
    }

    @Override
    public String detail() {
        if (!kind.governed()) {
            return "";
        }
        Map<String, Long> counts = deferralsByReason();
        return "deferrals " + (counts.isEmpty() ? "none" : counts.toString());
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
                count += destination.stats().deferred(reason);
            }
            if (count > 0) {
                counts.put(reason.name(), count);
            }
        }
        return counts;
    }

    @Override
    public void close() throws InterruptedException {
        try {
            james.close();
        } finally {
            if (redis.isPresent()) {
                redis.get().close();
            }
        }
    }
}

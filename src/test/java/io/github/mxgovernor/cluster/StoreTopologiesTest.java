package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.testing.TestPki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store over TLS ({@code rediss://}), through Redis Sentinel, and on a Redis Cluster. */
class StoreTopologiesTest {
    @TempDir
    Path directory;

    private final List<ClusterStore> stores = new ArrayList<>();
    private final List<RedisServer> servers = new ArrayList<>();
    private final String prefix = TestStores.freshPrefix();

    @AfterEach
    void closeAll() throws InterruptedException {
        stores.forEach(ClusterStore::close);
        for (RedisServer server : servers) {
            server.stop();
        }
    }

    private ClusterStore open(StoreSettings.Builder settings) {
        ClusterStore store = ClusterStore.open(settings.keyPrefix(prefix).nodes(2).timeout(Duration.ofMillis(500))
            .probeInterval(Duration.ofMillis(100)).build());
        stores.add(store);
        return store;
    }

    @Test
    void overTlsTheServersCertificateIsVerified() throws Exception {
        TestPki pki = TestPki.authority();
        Path tls = directory.resolve("tls");
        java.nio.file.Files.createDirectories(tls);
        pki.issue("127.0.0.1").writePem(tls.resolve("server.pem"), tls.resolve("server.key"));
        pki.writeCaPem(tls.resolve("ca.pem"));
        int tlsPort = RedisServer.anotherFreePort();
        servers.add(RedisServer.start(directory.resolve("redis"), "--tls-port", Integer.toString(tlsPort),
            "--tls-cert-file", tls.resolve("server.pem").toString(), "--tls-key-file",
            tls.resolve("server.key").toString(), "--tls-ca-cert-file", tls.resolve("ca.pem").toString(),
            "--tls-auth-clients", "no"));
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(pki.trustStore());

        ClusterStore trusting = open(StoreSettings.builder("rediss://127.0.0.1:" + tlsPort).nodeName("a")
            .trustManagers(trust));
        ClusterStore untrusting = open(StoreSettings.builder("rediss://127.0.0.1:" + tlsPort).nodeName("b"));

        assertThat(trusting.isUp()).isTrue();
        assertThat(trusting.connections("shared:google").acquire(1).join()).isNotNull();
        assertThat(untrusting.isUp()).as("a certificate the JDK's trust store does not know").isFalse();
        assertThat(untrusting.state().lastError()).hasValueSatisfying(error ->
            assertThat(error).startsWith("Cluster store rediss://127.0.0.1:" + tlsPort));
    }

    @Test
    void throughSentinelTheMasterIsFound() throws IOException {
        RedisServer master = RedisServer.start(directory.resolve("master"));
        servers.add(master);
        RedisServer sentinel = RedisServer.sentinel(directory.resolve("sentinel"), master.port(), "mymaster");
        servers.add(sentinel);

        ClusterStore a = open(StoreSettings.builder("redis-sentinel://127.0.0.1:" + sentinel.port() + "#mymaster")
            .nodeName("a"));
        ClusterStore b = open(StoreSettings.builder("redis-sentinel://127.0.0.1:" + sentinel.port() + "#mymaster")
            .nodeName("b"));

        assertThat(a.isUp()).isTrue();
        assertThat(a.connections("shared:google").acquire(1).join()).isNotNull();
        assertThat(b.connections("shared:google").acquire(1).join()).isNull();
        assertThat(master.command("EXISTS", a.key("shared:google", "leases"))).isEqualTo(":1");
        assertHeardWithinASecond(a, b, "mx1.example.com");
    }

    @Test
    void onARedisClusterEachDestinationsKeysShareOneSlot() throws Exception {
        List<RedisServer> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RedisServer node = RedisServer.start(directory.resolve("node" + i), "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000");
            servers.add(node);
            nodes.add(node);
        }
        createCluster(nodes);

        ClusterStore a = open(StoreSettings.builder(nodes.get(0).hostAndPort()).cluster(true).nodeName("a"));
        ClusterStore b = open(StoreSettings.builder(nodes.get(1).hostAndPort()).cluster(true).nodeName("b"));

        assertThat(a.isUp()).isTrue();
        List<String> destinations = List.of("shared:google", "mx1.example.com", "shared:yahoo", "mx.other.test");
        for (String destination : destinations) {
            assertThat(a.connections(destination).acquire(2).join()).as(destination).isNotNull();
            assertThat(b.connections(destination).acquire(2).join()).as(destination).isNotNull();
            assertThat(b.connections(destination).acquire(2).join()).as(destination).isNull();
        }
        SharedMessageRate rate = a.rate("shared:yahoo", 720_000);
        await().atMost(Duration.ofSeconds(2)).until(() -> rate.tryConsume() && rate.tokensGranted() > 0);
        assertHeardWithinASecond(a, b, "mx1.example.com");
        assertThat(a.failures()).as("no CROSSSLOT or MOVED error").isZero();
    }

    private static void assertHeardWithinASecond(ClusterStore from, ClusterStore to, String destination) {
        List<SharedFlowState> heard = new CopyOnWriteArrayList<>();
        to.flowStates().watch(destination, heard::add);
        from.flowStates().publish(SharedFlowState.builder(destination, FlowState.Kind.SUSPENDED)
            .until(Instant.now().plus(Duration.ofHours(1))).cause(FlowCause.Kind.OPERATOR, "test", null, null)
            .origin(FlowState.Origin.OPERATOR).build()).join();
        await().atMost(Duration.ofSeconds(1)).until(() -> !heard.isEmpty());
    }

    private static void createCluster(List<RedisServer> nodes) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/redis-cli", "--cluster", "create"));
        for (RedisServer node : nodes) {
            command.add(node.hostAndPort());
        }
        command.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Process create = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(create.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(create.exitValue()).as(output).isZero();
        for (RedisServer node : nodes) {
            await().atMost(Duration.ofSeconds(10)).until(() -> clusterStateOk(node));
        }
    }

    private static boolean clusterStateOk(RedisServer node) throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.port())) {
            socket.getOutputStream().write("CLUSTER INFO\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout(1000);
            byte[] reply = new byte[2000];
            int read = socket.getInputStream().read(reply);
            return read > 0 && new String(reply, 0, read, StandardCharsets.US_ASCII).contains("cluster_state:ok");
        }
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.testing.TestPki;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

import org.apache.james.filesystem.api.FileSystem;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A {@code rediss://} store is verified against the mailet's {@code trustStore}, as MX hosts are. */
class StoreTrustTest {
    @TempDir
    Path directory;
    private RedisServer redis;
    private ClusterStore store;

    @AfterEach
    void stop() throws InterruptedException {
        if (store != null) {
            store.close();
        }
        if (redis != null) {
            redis.stop();
        }
    }

    @Test
    void aStoreOverTlsShouldBeTrustedThroughTheMailetsTrustStore() throws Exception {
        TestPki pki = TestPki.authority();
        Path tls = Files.createDirectories(directory.resolve("tls"));
        pki.issue("127.0.0.1").writePem(tls.resolve("server.pem"), tls.resolve("server.key"));
        pki.writeCaPem(tls.resolve("ca.pem"));
        int tlsPort = RedisServer.anotherFreePort();
        redis = RedisServer.start(directory.resolve("redis"), "--tls-port", Integer.toString(tlsPort),
            "--tls-cert-file", tls.resolve("server.pem").toString(), "--tls-key-file",
            tls.resolve("server.key").toString(), "--tls-ca-cert-file", tls.resolve("ca.pem").toString(),
            "--tls-auth-clients", "no");
        Path trustStore = directory.resolve("trust.p12");
        try (OutputStream out = Files.newOutputStream(trustStore)) {
            pki.trustStore().store(out, "right".toCharArray());
        }
        Map<String, String> parameters = new HashMap<>(Map.of("store", "rediss://127.0.0.1:" + tlsPort,
            "storeNodes", "2", "storeTimeout", "500ms"));

        StoreSettings withoutTrustStore = read(parameters).store().orElseThrow();
        parameters.put("trustStore", trustStore.toString());
        parameters.put("trustStorePassword", "right");
        StoreSettings withTrustStore = read(parameters).store().orElseThrow();

        try (ClusterStore untrusting = ClusterStore.open(withoutTrustStore)) {
            assertThat(untrusting.isUp()).as("the JDK's trust store does not know the test authority").isFalse();
        }
        store = ClusterStore.open(withTrustStore);
        assertThat(store.isUp()).isTrue();
    }

    private static DeliveryConfiguration read(Map<String, String> parameters) throws Exception {
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext()).setProperty("heloName", "james.local");
        parameters.forEach(config::setProperty);
        return DeliveryConfiguration.read(config.build(), mock(FileSystem.class), () -> "localhost",
            Clock.systemUTC());
    }
}

package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.testing.RedisServer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A store that cannot be reached, refuses the credentials, lost its scripts, or fails a script: clear errors. */
class StoreErrorsTest {
    private static final String DESTINATION = "shared:google";

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

    private RedisServer redis(String... options) throws IOException {
        RedisServer server = RedisServer.start(directory.resolve("redis" + servers.size()), options);
        servers.add(server);
        return server;
    }

    private ClusterStore open(StoreSettings.Builder settings) {
        ClusterStore store = ClusterStore.open(settings.build());
        stores.add(store);
        return store;
    }

    @Test
    void aStoreUnreachableAtStartStartsOnItsShareAndTakesItsLeasesWhenItComes() throws IOException {
        RedisServer later = RedisServer.create(directory.resolve("later"));
        servers.add(later);
        ClusterStore store = open(TestStores.settings(later, prefix, "a"));

        assertThat(store.isUp()).isFalse();
        assertThat(store.state().lastError()).hasValueSatisfying(error ->
            assertThat(error).contains("127.0.0.1:" + later.port()));
        SharedConnections connections = store.connections(DESTINATION);
        assertThat(connections.allowedNow(5)).as("a share of 1/2 of 5").isEqualTo(2);
        assertThat(connections.acquire(5).join()).isNotNull();
        assertThat(connections.acquire(5).join()).isNotNull();
        assertThat(connections.acquire(5).join()).as("this node's share is used up").isNull();
        SharedMessageRate rate = store.rate(DESTINATION, 7200);
        int tokens = 0;
        while (rate.tryConsume()) {
            tokens++;
        }
        assertThat(tokens).as("rates go on at this node's share: 3,600 an hour, a minute's worth at once")
            .isEqualTo(60);
        assertThat(rate.timeUntilToken()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));

        later.start();

        await().atMost(Duration.ofSeconds(5)).until(store::isUp);
        assertThat(connections.countCluster().join()).as("the leases opened meanwhile are in the store").isEqualTo(2);
        assertThat(connections.allowedNow(5)).isEqualTo(5);
    }

    @Test
    void aWrongPasswordIsAClearErrorThatNeverShowsThePassword() throws IOException {
        RedisServer redis = redis("--requirepass", "right-horse-battery");

        ClusterStore wrong = open(TestStores.settings(redis, prefix, "a").nodes(2));
        StoreSettings.Builder withWrongPassword = StoreSettings.builder("redis://:hunter2@127.0.0.1:" + redis.port())
            .keyPrefix(prefix).nodeName("b").nodes(2).timeout(Duration.ofMillis(250))
            .connectTimeout(Duration.ofMillis(500)).probeInterval(Duration.ofMillis(100));
        ClusterStore refused = open(withWrongPassword);

        assertThat(wrong.isUp()).isFalse();
        assertThat(wrong.state().lastError()).hasValueSatisfying(error ->
            assertThat(error).contains("refused the credentials").contains("NOAUTH"));
        assertThat(refused.isUp()).isFalse();
        assertThat(refused.state().lastError()).hasValueSatisfying(error -> assertThat(error)
            .contains("Cluster store redis://***@127.0.0.1:" + redis.port() + " refused the credentials")
            .contains("WRONGPASS").contains("check the user and password in store").doesNotContain("hunter2"));
        assertThat(refused.connections(DESTINATION).acquire(4).join()).as("the node goes on, on its share")
            .isNotNull();

        ClusterStore right = open(StoreSettings.builder("redis://:right-horse-battery@127.0.0.1:" + redis.port())
            .keyPrefix(prefix).nodeName("c").nodes(2));
        assertThat(right.isUp()).isTrue();
    }

    @Test
    void scriptsTheServerForgotAreSentAgain() throws IOException {
        RedisServer redis = redis();
        ClusterStore store = open(TestStores.settings(redis, prefix, "a"));
        assertThat(store.connections(DESTINATION).acquire(4).join()).isNotNull();
        long loads = store.scriptLoads();

        assertThat(redis.command("SCRIPT", "FLUSH")).isEqualTo("+OK");

        assertThat(store.connections(DESTINATION).acquire(4).join()).isNotNull();
        assertThat(store.scriptLoads()).isEqualTo(loads + 1);
        assertThat(store.connections(DESTINATION).countCluster().join()).isEqualTo(2);
        assertThat(store.isUp()).isTrue();
    }

    @Test
    void aScriptThatFailsIsAClearErrorAndTheCallFallsBackToTheShare() throws IOException {
        RedisServer redis = redis();
        ClusterStore store = open(TestStores.settings(redis, prefix, "a"));
        SharedConnections connections = store.connections(DESTINATION);
        // Something else wrote a string where the lease set belongs.
        redis.command("SET", store.key(DESTINATION, "leases"), "not a sorted set");

        assertThat(connections.acquire(4).join()).as("answered from this node's share").isNotNull();
        assertThat(store.isUp()).as("one script failed; the store is still there").isTrue();
        assertThat(store.state().lastError()).hasValueSatisfying(error -> assertThat(error)
            .startsWith("Cluster store redis://127.0.0.1:" + redis.port() + ": script lease-acquire failed: WRONGTYPE"));
        assertThatThrownBy(() -> connections.countCluster().join()).isInstanceOf(CompletionException.class)
            .cause().isInstanceOf(StoreException.class)
            .hasMessageContaining("script lease-count failed: WRONGTYPE")
            .satisfies(failure -> assertThat(((StoreException) failure).kind())
                .isEqualTo(StoreException.Kind.COMMAND));

        redis.command("SET", store.key("shared:yahoo", "rate:7200:120"), "not a number");
        SharedMessageRate rate = store.rate("shared:yahoo", 7200);
        rate.tryConsume();
        await().atMost(Duration.ofSeconds(1)).until(() -> store.state().lastError().orElse("")
            .contains("script rate-take failed: ERR user_script"));
        assertThat(store.failures()).isGreaterThanOrEqualTo(3);
    }
}

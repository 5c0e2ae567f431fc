package io.github.mxgovernor.cluster;

import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.time.Ticker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A private redis-server for tests, and the stores they open on it. Registered on a static field, one server serves
 * the whole class, started before its first test; on an instance field, a test starts its own with
 * {@link #start(String...)} (to kill it, restart it or give it options), stopped after the test. Stores opened through
 * it are closed after each test, and each test gets a key prefix of its own.
 */
final class RedisStores implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
    private final List<ClusterStore> stores = new ArrayList<>();
    private boolean forTheClass;
    private Path directory;
    private RedisServer server;
    private String prefix = TestStores.freshPrefix();

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        forTheClass = true;
        start();
    }

    /** Starts the server, with redis-server's {@code options}. */
    RedisServer start(String... options) throws IOException {
        directory = Files.createTempDirectory("redis-test-");
        server = RedisServer.start(directory.resolve("redis"), options);
        return server;
    }

    RedisServer server() {
        return server;
    }

    /** This test's key prefix. */
    String prefix() {
        return prefix;
    }

    /** The tests' store settings for {@code node} on this server, under this test's prefix. */
    StoreSettings.Builder settings(String node) {
        return TestStores.settings(server, prefix, node);
    }

    /** A store, closed after the test. */
    ClusterStore open(StoreSettings settings) {
        return kept(ClusterStore.open(settings));
    }

    /** A store on the given time, closed after the test. */
    ClusterStore open(StoreSettings settings, Clock clock, Ticker ticker) {
        return kept(ClusterStore.open(settings, clock, ticker));
    }

    /** The test ended {@code store} itself (a crash): it is not closed after the test. */
    void forget(ClusterStore store) {
        stores.remove(store);
    }

    private ClusterStore kept(ClusterStore store) {
        stores.add(store);
        return store;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        stores.forEach(ClusterStore::close);
        stores.clear();
        prefix = TestStores.freshPrefix();
        if (!forTheClass) {
            stop();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
    }

    private void stop() throws InterruptedException, IOException {
        if (server != null) {
            server.stop();
            server = null;
        }
        if (directory != null) {
            try (Stream<Path> files = Files.walk(directory)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
            directory = null;
        }
    }
}

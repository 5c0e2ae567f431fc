package io.github.mxgovernor.cluster;

import io.github.mxgovernor.testing.RedisServer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** Store settings for tests: short deadlines and intervals, a key prefix of the test's own on a shared server. */
final class TestStores {
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    private TestStores() {
    }

    /** A prefix no other test uses, so that tests on one server never see each other's keys. */
    static String freshPrefix() {
        return "t" + ProcessHandle.current().pid() + "-" + PREFIXES.incrementAndGet();
    }

    static StoreSettings.Builder settings(RedisServer redis, String prefix, String node) {
        return StoreSettings.builder(redis.hostAndPort()).keyPrefix(prefix).nodeName(node).nodes(2)
            .timeout(Duration.ofMillis(250)).connectTimeout(Duration.ofSeconds(2))
            .probeInterval(Duration.ofMillis(100)).flowPollInterval(Duration.ofMillis(300))
            .countsFlushInterval(Duration.ofMillis(50));
    }
}

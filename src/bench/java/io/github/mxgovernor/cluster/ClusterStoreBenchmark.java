package io.github.mxgovernor.cluster;

import io.github.mxgovernor.testing.RedisServer;

import io.lettuce.core.ScriptOutputType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a decision costs with the cluster store, against a private redis-server on loopback (Debian's, installed when
 * missing, as the tests do), one thread:
 * <ul>
 *   <li>{@code leaseAcquireRelease}: a connection lease taken (a script round trip: prune, count, add) and given back
 *       (a ZREM sent without waiting, which travels ahead of the next acquisition);</li>
 *   <li>{@code tokenFromBatch}: a message token from the node's batch, no store call (a batch of 10,000 at the highest
 *       rate; the {@code refills} counter shows how rarely the store is asked);</li>
 *   <li>{@code batchRefill}: the store round trip that takes a batch of 100 tokens (the GCRA script).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ClusterStoreBenchmark {
    private static final String DESTINATION = "shared:google";

    private Path directory;
    private RedisServer redis;
    private ClusterStore store;
    private SharedConnections connections;
    private SharedMessageRate rate;
    private String[] rateKey;

    /** Store calls for tokens, per iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Refills {
        public long refills;
        private long before;
        private ClusterStoreBenchmark benchmark;

        @Setup(Level.Iteration)
        public void start(ClusterStoreBenchmark running) {
            benchmark = running;
            before = running.rate.refills();
            refills = 0;
        }

        @TearDown(Level.Iteration)
        public void count() {
            refills = benchmark.rate.refills() - before;
        }
    }

    @Setup
    public void start() throws IOException {
        directory = Files.createTempDirectory("mxgovernor-bench-redis");
        redis = RedisServer.start(directory);
        store = ClusterStore.open(StoreSettings.builder(redis.hostAndPort()).nodeName("bench").nodes(2).build());
        if (!store.isUp()) {
            throw new IllegalStateException("the store did not come up: " + store.state());
        }
        connections = store.connections(DESTINATION);
        rate = store.rate(DESTINATION, Long.MAX_VALUE / 4_000_000, Long.MAX_VALUE / 4_000_000);
        rateKey = new String[] {store.key(DESTINATION, "bench-rate")};
    }

    @TearDown
    public void stop() throws InterruptedException, IOException {
        store.close();
        redis.stop();
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(file);
            }
        }
    }

    @Benchmark
    public boolean leaseAcquireRelease() {
        ConnectionLease lease = connections.acquire(1000).join();
        return lease != null && lease.release();
    }

    @Benchmark
    public boolean tokenFromBatch(Refills refills) {
        return rate.tryConsume();
    }

    @Benchmark
    public List<Object> batchRefill() {
        return store.link().<List<Object>>script(LuaScript.RATE_TAKE, ScriptOutputType.MULTI, rateKey, "0.001",
            "1000000000", "100").join();
    }
}

package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.testing.RedisServer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A simulated run of 2,000 mails through two nodes to one destination with a shared cap, rate and flow control, as
 * the delivery engine will use the store: a lease per connection, each connection carrying up to 100 mails, a token
 * per mail, every attempt counted in the shared error window, the destination's flow state watched. The store sees
 * far fewer calls than mails.
 */
class RoundTripsPerMailTest {
    private static final String DESTINATION = "shared:google";
    private static final int MAILS_PER_NODE = 1000;
    private static final int CONNECTIONS_PER_NODE = 2;
    private static final int MAILS_PER_CONNECTION = 100;

    @RegisterExtension
    final RedisStores redisStores = new RedisStores();
    private RedisServer redis;

    @Test
    void theStoreSeesAtMostOneCallForTenMailsOnReusedConnections() throws Exception {
        redis = redisStores.start();
        List<Thread> connections = new ArrayList<>();
        AtomicInteger sent = new AtomicInteger();
        List<ClusterStore> nodes = new ArrayList<>();
        long commandsBefore = 0;
        for (String name : List.of("a", "b")) {
            // The store's own defaults (timers included), but for the prefix and the node's name.
            ClusterStore store = redisStores.open(StoreSettings.builder(redis.hostAndPort())
                .keyPrefix(redisStores.prefix()).nodeName(name).nodes(2).build());
            nodes.add(store);
            assertThat(store.isUp()).isTrue();
            commandsBefore += store.commands();
            store.flowStates().watch(DESTINATION, state -> { });
            SharedConnections shared = store.connections(DESTINATION);
            SharedMessageRate rate = store.rate(DESTINATION, 720_000);
            SharedCounter errors = store.counts(DESTINATION).counter("errors", Duration.ofMinutes(10));
            AtomicInteger left = new AtomicInteger(MAILS_PER_NODE);
            for (int i = 0; i < CONNECTIONS_PER_NODE; i++) {
                Thread connection = new Thread(() -> carry(shared, rate, errors, left, sent));
                connections.add(connection);
                connection.start();
            }
        }
        for (Thread connection : connections) {
            connection.join(TimeUnit.SECONDS.toMillis(30));
        }
        long commands = -commandsBefore;
        for (ClusterStore store : nodes) {
            commands += store.commands();
        }

        double perMail = (double) commands / sent.get();
        System.out.printf("Store round trips: %d for %d mails, %.4f per mail%n", commands, sent.get(), perMail);
        assertThat(sent.get()).isEqualTo(2 * MAILS_PER_NODE);
        assertThat(perMail).isLessThanOrEqualTo(0.1);
    }

    /** One connection: a lease, up to 100 mails (a token and a counted attempt each, 2 ms to send), closed, again. */
    private static void carry(SharedConnections shared, SharedMessageRate rate, SharedCounter errors,
                              AtomicInteger left, AtomicInteger sent) {
        while (left.get() > 0) {
            ConnectionLease lease = shared.acquire(4).join();
            if (lease == null) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                continue;
            }
            for (int carried = 0; carried < MAILS_PER_CONNECTION && left.getAndDecrement() > 0; carried++) {
                while (!rate.tryConsume()) {
                    LockSupport.parkNanos(rate.timeUntilToken().toNanos());
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
                errors.add(System.currentTimeMillis(), false);
                sent.incrementAndGet();
            }
            lease.release();
        }
    }
}

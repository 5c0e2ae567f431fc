package io.github.mxgovernor.governor;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.SharedConnections;
import io.github.mxgovernor.cluster.SharedFlowState;
import io.github.mxgovernor.cluster.SharedFlowStates;
import io.github.mxgovernor.flowcontrol.AttemptCounts;
import io.github.mxgovernor.flowcontrol.FlowSharing;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the governor builds from the cluster store for a destination whose limits are cluster-wide: its connection
 * limit (leases), its rates (GCRA batches), its flow control's counts and publications, and the watch that brings
 * other nodes' states to it.
 */
final class ClusterSharing {
    private static final Logger LOGGER = LoggerFactory.getLogger(ClusterSharing.class);

    private final ClusterStore store;
    private final Clock clock;
    private final Ticker ticker;

    ClusterSharing(ClusterStore store, Clock clock, Ticker ticker) {
        this.store = store;
        this.clock = clock;
        this.ticker = ticker;
    }

    ClusterStore store() {
        return store;
    }

    ConnectionLimit connections(String destination) {
        return new SharedConnectionLimit(new StoreLeases(store.connections(destination)), store.scheduler(), ticker);
    }

    /** A cluster-wide rate, its tokens counted toward {@code taken} as a node's own rate counts them. */
    MessageBudget rate(String destination, long messagesPerHour, HourlyCount taken) {
        return new CountedBudget(store.rate(destination, messagesPerHour), clock, taken);
    }

    FlowSharing flow(String destination) {
        return new FlowSharing() {
            @Override
            public AttemptCounts counts(String name, Duration window) {
                return store.counts(destination).counter(name, window);
            }

            @Override
            public void publish(SharedFlowState state) {
                store.flowStates().publish(state).thenAccept(publication -> LOGGER.debug("Flow state of {}: {}",
                    destination, publication));
            }

            @Override
            public String toString() {
                return "cluster store";
            }
        };
    }

    /** Tells {@code adopt} of every state another node publishes for the destination; closing stops it. */
    SharedFlowStates.Watch watch(String destination, Consumer<SharedFlowState> adopt) {
        return store.flowStates().watch(destination, adopt);
    }

    void forget(String destination) {
        store.forget(destination);
    }

    /** The cluster store's leases of one destination as a {@link SharedConnectionLimit} asks for them. */
    private static final class StoreLeases implements SharedConnectionLimit.LeaseSource {
        private final SharedConnections shared;

        StoreLeases(SharedConnections shared) {
            this.shared = shared;
        }

        @Override
        public CompletableFuture<ConnectionPermit> acquire(int cap) {
            return shared.acquire(cap).handle((lease, failure) -> {
                if (lease == null) {
                    return null;
                }
                ConnectionPermit permit = lease::release;
                return permit;
            });
        }

        @Override
        public int allowedNow(int cap) {
            return shared.allowedNow(cap);
        }

        @Override
        public OptionalInt clusterInUse() {
            return shared.clusterInUse();
        }

        @Override
        public void refreshClusterCount() {
            shared.countCluster().exceptionally(failure -> null);
        }
    }

    /** A cluster-wide budget whose tokens are also counted in the destination's messages of the last hour. */
    private static final class CountedBudget implements MessageBudget {
        private final MessageBudget shared;
        private final Clock clock;
        private final HourlyCount taken;

        CountedBudget(MessageBudget shared, Clock clock, HourlyCount taken) {
            this.shared = shared;
            this.clock = clock;
            this.taken = taken;
        }

        @Override
        public boolean tryConsume() {
            if (!shared.tryConsume()) {
                return false;
            }
            taken.add(clock.millis(), 1);
            return true;
        }

        @Override
        public void refund() {
            shared.refund();
            taken.add(clock.millis(), -1);
        }

        @Override
        public Duration timeUntilToken() {
            return shared.timeUntilToken();
        }

        @Override
        public String toString() {
            return shared.toString();
        }
    }
}

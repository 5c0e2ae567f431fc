package io.github.mxgovernor.james;

import static io.github.mxgovernor.cluster.StoreSettings.STORE;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_CLUSTER;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_KEY_PREFIX;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_LEASE_TIME;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_NODES;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_NODE_NAME;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_RATE_HORIZON;
import static io.github.mxgovernor.cluster.StoreSettings.STORE_TIMEOUT;

import io.github.mxgovernor.cluster.StoreSettings;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import javax.mail.MessagingException;

/**
 * The governed mailet's cluster-store parameters ({@code store}, {@code storeNodes}, {@code storeKeyPrefix},
 * {@code storeNodeName}, {@code storeTimeout}, {@code storeLeaseTime}, {@code storeRateHorizon},
 * {@code storeCluster}) read into {@link StoreSettings}: none of them without {@code store}, {@code storeNodes}
 * required with it, every bad value refused with the parameter named.
 */
final class StoreConfiguration {
    /** The parameters read here, for the mailet's list of known ones. */
    static final Set<String> PARAMETERS = Set.of(STORE, STORE_CLUSTER, STORE_NODES, STORE_KEY_PREFIX, STORE_NODE_NAME,
        STORE_TIMEOUT, STORE_LEASE_TIME, STORE_RATE_HORIZON);
    private static final List<String> NEED_STORE = List.of(STORE_CLUSTER, STORE_NODES, STORE_KEY_PREFIX,
        STORE_NODE_NAME, STORE_TIMEOUT, STORE_LEASE_TIME, STORE_RATE_HORIZON);

    private StoreConfiguration() {
    }

    /**
     * The store's settings; empty when {@code store} is not given (one node on its own).
     *
     * @throws MessagingException naming the parameter whose value is wrong or missing
     */
    static Optional<StoreSettings> read(MailetParameters parameters) throws MessagingException {
        Optional<String> address = parameters.optionalString(STORE);
        if (address.isEmpty()) {
            for (String name : NEED_STORE) {
                if (parameters.optionalString(name).isPresent()) {
                    throw new MessagingException("Invalid mailet parameter " + name + ": it needs " + STORE
                        + " (the Redis server the James nodes share)");
                }
            }
            return Optional.empty();
        }
        StoreSettings.Builder builder = settings(() -> StoreSettings.builder(address.get()));
        Optional<Boolean> cluster = parameters.optionalBoolean(STORE_CLUSTER);
        if (cluster.isPresent()) {
            settings(() -> builder.cluster(cluster.get()));
        }
        Optional<Integer> nodes = parameters.optionalInt(STORE_NODES, 1, 1000);
        if (nodes.isPresent()) {
            settings(() -> builder.nodes(nodes.get()));
        }
        Optional<String> prefix = parameters.optionalString(STORE_KEY_PREFIX);
        if (prefix.isPresent()) {
            settings(() -> builder.keyPrefix(prefix.get()));
        }
        Optional<String> nodeName = parameters.optionalString(STORE_NODE_NAME);
        if (nodeName.isPresent()) {
            settings(() -> builder.nodeName(nodeName.get()));
        }
        Optional<Duration> timeout = parameters.optionalDuration(STORE_TIMEOUT);
        if (timeout.isPresent()) {
            settings(() -> builder.timeout(timeout.get()));
        }
        Optional<Duration> leaseTime = parameters.optionalDuration(STORE_LEASE_TIME);
        if (leaseTime.isPresent()) {
            settings(() -> builder.leaseTime(leaseTime.get()));
        }
        Optional<Duration> horizon = parameters.optionalDuration(STORE_RATE_HORIZON);
        if (horizon.isPresent()) {
            settings(() -> builder.rateHorizon(horizon.get()));
        }
        return Optional.of(settings(builder::build));
    }

    /** Runs a step of the builder, whose refusal already starts with the parameter's name, as a mailet error. */
    private static <T> T settings(Supplier<T> step) throws MessagingException {
        try {
            return step.get();
        } catch (IllegalArgumentException e) {
            throw new MessagingException("Invalid mailet parameter " + e.getMessage(), e);
        }
    }
}

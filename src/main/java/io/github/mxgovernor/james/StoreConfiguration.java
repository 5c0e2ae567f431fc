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
import io.github.mxgovernor.tls.TlsTrust;

import java.security.KeyStore;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import javax.mail.MessagingException;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;

/**
 * The governed mailet's cluster-store parameters ({@code store}, {@code storeNodes}, {@code storeKeyPrefix},
 * {@code storeNodeName}, {@code storeTimeout}, {@code storeLeaseTime}, {@code storeRateHorizon},
 * {@code storeCluster}) read into {@link StoreSettings}: none of them without {@code store}, {@code storeNodes}
 * required with it, every bad value refused with the parameter named. A {@code rediss://} store is verified against the
 * mailet's {@code trustStore} when one is given, else against the JDK's default trust store.
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
     * @param trust the mailet's {@code trustStore}, when it names one
     * @throws MessagingException naming the parameter whose value is wrong or missing
     */
    static Optional<StoreSettings> read(MailetParameters parameters, Optional<TlsTrust> trust)
            throws MessagingException {
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
        trust.ifPresent(anchors -> builder.trustManagers(factoryOf(anchors)));
        return Optional.of(settings(builder::build));
    }

    /** The trust store's manager as the Redis client takes it: from a factory, already made. */
    private static TrustManagerFactory factoryOf(TlsTrust trust) {
        TrustManager[] managers = {trust.trustManager()};
        TrustManagerFactorySpi made = new TrustManagerFactorySpi() {
            @Override
            protected void engineInit(KeyStore keyStore) {
                // made from the mailet's trust store already
            }

            @Override
            protected void engineInit(ManagerFactoryParameters parameters) {
                // made from the mailet's trust store already
            }

            @Override
            protected TrustManager[] engineGetTrustManagers() {
                return managers.clone();
            }
        };
        return new TrustManagerFactory(made, null, TrustManagerFactory.getDefaultAlgorithm()) {
        };
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

package io.github.mxgovernor.cluster;

import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's {@link StoreState} as this node sees it: DOWN at the first call that finds it away, UP again only when
 * {@link ClusterStore} has reached it and taken its leases again. Each change is logged at WARN once and told to the
 * listeners; errors that leave the store UP (a script that failed) are noted as the last error and counted.
 */
final class StoreHealth {
    private static final Logger LOGGER = LoggerFactory.getLogger(ClusterStore.class);
    private static final String NOT_CONNECTED = "not connected yet";

    private final String store;
    private final int nodes;
    private final Clock clock;
    private final AtomicReference<StoreState> state;
    private final List<Consumer<StoreState>> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong commandFailures = new AtomicLong();
    private final AtomicLong lastCommandLogMillis = new AtomicLong(Long.MIN_VALUE);
    private volatile boolean everUp;
    private volatile boolean closed;

    StoreHealth(String store, int nodes, Clock clock) {
        this.store = store;
        this.nodes = nodes;
        this.clock = clock;
        this.state = new AtomicReference<>(new StoreState(StoreState.Kind.DOWN, clock.instant(), NOT_CONNECTED,
            clock.instant()));
    }

    StoreState state() {
        return state.get();
    }

    boolean isUp() {
        return state.get().kind() == StoreState.Kind.UP;
    }

    void addListener(Consumer<StoreState> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** A call failed: a failed command leaves the store UP; anything else takes it DOWN. */
    void failed(StoreException failure) {
        failures.incrementAndGet();
        if (failure.kind() == StoreException.Kind.COMMAND) {
            commandFailures.incrementAndGet();
            noteError(failure.getMessage());
            long now = clock.millis();
            long last = lastCommandLogMillis.get();
            if ((last == Long.MIN_VALUE || now - last >= 60_000) && lastCommandLogMillis.compareAndSet(last, now)) {
                LOGGER.error("{}; that call was answered from this node's share (logged at most once a minute)",
                    failure.getMessage());
            }
            return;
        }
        down(failure.getMessage());
    }

    /**
     * The store is away (or refuses us): shared limits fall back to this node's share.
     *
     * @param error a sentence for operators, starting {@code Cluster store <address>}
     */
    void down(String error) {
        while (true) {
            StoreState current = state.get();
            StoreState next = current.isUp()
                ? new StoreState(StoreState.Kind.DOWN, clock.instant(), error, clock.instant())
                : new StoreState(StoreState.Kind.DOWN, current.since(), error, clock.instant());
            if (state.compareAndSet(current, next)) {
                if (current.isUp() && !closed) {
                    LOGGER.warn("{}: every cluster-wide limit falls back to this node's share (1/{} of each cap, at"
                        + " least one connection, and of each rate) until the store is back", error, nodes);
                    tell(next);
                }
                return;
            }
        }
    }

    /** The store was reached and this node's leases are in it again. */
    void up() {
        while (true) {
            StoreState current = state.get();
            if (current.isUp()) {
                return;
            }
            StoreState next = new StoreState(StoreState.Kind.UP, clock.instant(), current.lastError().orElse(null),
                current.lastErrorAt().orElse(null));
            if (state.compareAndSet(current, next)) {
                if (everUp) {
                    LOGGER.warn("Cluster store {} is back (it was not since {}): cluster-wide limits are counted in it"
                        + " again", store, current.since());
                } else if (current.lastError().filter(error -> !error.equals(NOT_CONNECTED)).isPresent()) {
                    LOGGER.warn("Cluster store {} is reachable now (it was not since the start): cluster-wide limits"
                        + " are counted in it", store);
                }
                everUp = true;
                tell(next);
                return;
            }
        }
    }

    /** Notes an error without changing the state. */
    void noteError(String error) {
        while (true) {
            StoreState current = state.get();
            StoreState next = new StoreState(current.kind(), current.since(), error, clock.instant());
            if (state.compareAndSet(current, next)) {
                return;
            }
        }
    }

    /** The store is closing: what fails from now on is not worth a warning. */
    void close() {
        closed = true;
    }

    /** Calls that failed, of any kind, since start. */
    long failures() {
        return failures.get();
    }

    long commandFailures() {
        return commandFailures.get();
    }

    private void tell(StoreState next) {
        for (Consumer<StoreState> listener : listeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                LOGGER.warn("A cluster-store listener failed on {}", next, e);
            }
        }
    }
}

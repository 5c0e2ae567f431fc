package io.github.mxgovernor.cluster;

import io.lettuce.core.ScriptOutputType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flow-control states shared by every node: the seam between each node's flow-control state machine and the store.
 *
 * <p>A node {@link #publish publishes} each state its machine enters (a trigger fired, an operator acted, probes ended
 * a backoff); the store keeps one state per destination and decides, in one script, whether the new one replaces the
 * one in force, by the same precedence as the machine's own: an operator's state always goes, an automatic one only
 * when it is stricter or longer, or when its node had seen the state it replaces. A written state is announced on a
 * channel; each node that {@link #watch watches} the destination reads it and tells its listeners, within a moment.
 * In case an announcement is lost (a reconnection), every watched destination is read again every
 * {@link StoreSettings#flowPollInterval()} and when the store comes back.
 *
 * <p>While the store is away a published state is kept (the latest per destination) and published when it is back.
 * Listeners hear each stored state newer than what this node published or heard, on the store's thread, in order;
 * the state may be over already (a listener compares {@link SharedFlowState#until()} with its clock).
 */
public final class SharedFlowStates {
    private static final Logger LOGGER = LoggerFactory.getLogger(SharedFlowStates.class);

    private final ClusterStore store;
    private final ConcurrentMap<String, List<Consumer<SharedFlowState>>> listeners = new ConcurrentHashMap<>();
    /** The newest version this node published or heard, per destination. */
    private final ConcurrentMap<String, Long> seen = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, SharedFlowState> pending = new ConcurrentHashMap<>();

    SharedFlowStates(ClusterStore store) {
        this.store = store;
    }

    /** A registration of {@link #watch}; {@link #close()} ends it. */
    public interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Publishes a state entered on this node. Completes within the store's deadline, at once while the store is
     * away, never exceptionally.
     */
    public CompletableFuture<FlowPublication> publish(SharedFlowState state) {
        String destination = state.destination();
        if (!store.isUp()) {
            pending.put(destination, state);
            return CompletableFuture.completedFuture(new FlowPublication(FlowPublication.Outcome.PENDING, state));
        }
        Map<String, String> fields = state.fields();
        fields.put("node", store.settings().nodeName());
        List<String> args = new ArrayList<>(15);
        args.add(store.channel());
        args.add(destination);
        args.add(Long.toString(seen.getOrDefault(destination, 0L)));
        args.addAll(fields.values());
        return store.link().<List<Object>>script(LuaScript.FLOW_PUBLISH, ScriptOutputType.MULTI,
            new String[] {key(destination)}, args.toArray(new String[0])).handle((reply, failure) -> {
                if (failure != null) {
                    pending.put(destination, state);
                    return new FlowPublication(FlowPublication.Outcome.PENDING, state);
                }
                long version = ((Number) reply.get(1)).longValue();
                if (((Number) reply.get(0)).intValue() == 1) {
                    see(destination, version);
                    return new FlowPublication(FlowPublication.Outcome.PUBLISHED,
                        state.published(store.settings().nodeName(), version));
                }
                SharedFlowState winner;
                try {
                    winner = SharedFlowState.fromFields(destination, pairs(reply.get(2)));
                } catch (IllegalArgumentException unreadable) {
                    LOGGER.warn("Cluster store: {}; the state of this node is kept to be published again",
                        unreadable.getMessage());
                    pending.put(destination, state);
                    return new FlowPublication(FlowPublication.Outcome.PENDING, state);
                }
                deliver(winner);
                return new FlowPublication(FlowPublication.Outcome.REFUSED, winner);
            });
    }

    /**
     * Tells {@code listener} of every state of {@code destination} that another node publishes (or that wins over
     * one of this node's), starting with the one stored now, if any.
     */
    public Watch watch(String destination, Consumer<SharedFlowState> listener) {
        List<Consumer<SharedFlowState>> registered = listeners.computeIfAbsent(destination,
            name -> new CopyOnWriteArrayList<>());
        registered.add(listener);
        if (store.isUp()) {
            read(destination).thenAccept(state -> state.ifPresent(current -> {
                if (current.version() > seen.getOrDefault(destination, 0L)) {
                    deliver(current);
                } else {
                    onTimer(() -> listener.accept(current));
                }
            })).exceptionally(failure -> {
                LOGGER.debug("Flow state of {} not read: {}", destination, failure.getMessage());
                return null;
            });
        }
        return () -> {
            registered.remove(listener);
            listeners.remove(destination, List.of());
        };
    }

    /** The state stored now for {@code destination}; fails with a {@link StoreException} while the store is away. */
    public CompletableFuture<Optional<SharedFlowState>> read(String destination) {
        return store.link().call("reading the flow state of " + destination, c -> c.hgetall(key(destination)))
            .thenApply(fields -> fields == null || fields.isEmpty() ? Optional.empty()
                : Optional.of(SharedFlowState.fromFields(destination, fields)));
    }

    /** An announcement: {@code <version> <destination>}. On a Lettuce thread. */
    void announced(String message) {
        int space = message.indexOf(' ');
        if (space < 1) {
            return;
        }
        String destination = message.substring(space + 1);
        long version;
        try {
            version = Long.parseLong(message.substring(0, space));
        } catch (NumberFormatException e) {
            return;
        }
        if (listeners.containsKey(destination) && version > seen.getOrDefault(destination, 0L)) {
            refresh(destination);
        }
    }

    /** Reads every watched destination's version, and the state of those that changed. */
    void poll() {
        if (!store.isUp()) {
            return;
        }
        for (String destination : listeners.keySet()) {
            store.link().call("reading the flow-state version of " + destination,
                c -> c.hget(key(destination), "version")).thenAccept(version -> {
                    if (version != null && Long.parseLong(version) > seen.getOrDefault(destination, 0L)) {
                        refresh(destination);
                    }
                });
        }
    }

    /** The store is back: what was kept is published, and every watched destination is read. */
    void recovered() {
        for (SharedFlowState state : List.copyOf(pending.values())) {
            if (pending.remove(state.destination(), state)) {
                publish(state).thenAccept(publication -> LOGGER.info("Flow state kept while the cluster store was"
                    + " away: {}", publication));
            }
        }
        poll();
    }

    void forget(String destination) {
        if (!listeners.containsKey(destination)) {
            seen.remove(destination);
        }
    }

    private void refresh(String destination) {
        read(destination).thenAccept(state -> state.ifPresent(this::deliver)).exceptionally(failure -> {
            LOGGER.debug("Flow state of {} not read: {}", destination, failure.getMessage());
            return null;
        });
    }

    /** Tells the listeners, on the store's thread, if the state is newer than what this node knows. */
    private void deliver(SharedFlowState state) {
        onTimer(() -> {
            String destination = state.destination();
            long known = seen.getOrDefault(destination, 0L);
            if (state.version() <= known) {
                return;
            }
            see(destination, state.version());
            for (Consumer<SharedFlowState> listener : listeners.getOrDefault(destination, List.of())) {
                try {
                    listener.accept(state);
                } catch (RuntimeException e) {
                    LOGGER.warn("A flow-state listener failed on {}", state, e);
                }
            }
        });
    }

    private void onTimer(Runnable task) {
        try {
            store.timer().execute(task);
        } catch (RejectedExecutionException e) {
            // The store is closing.
        }
    }

    private void see(String destination, long version) {
        seen.merge(destination, version, Math::max);
    }

    private String key(String destination) {
        return store.key(destination, "flow");
    }

    private static Map<String, String> pairs(Object flat) {
        Map<String, String> fields = new HashMap<>();
        List<?> values = (List<?>) flat;
        for (int i = 0; i + 1 < values.size(); i += 2) {
            fields.put(String.valueOf(values.get(i)), String.valueOf(values.get(i + 1)));
        }
        return fields;
    }
}

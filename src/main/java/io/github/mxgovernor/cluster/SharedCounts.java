package io.github.mxgovernor.cluster;

import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The shared flow-control counters of one destination ({@link SharedCounter}), sent to the store together: one script
 * call per destination and flush, carrying every counter that has something new, and bringing back every counter's
 * cluster totals.
 */
public final class SharedCounts {
    private final ClusterStore store;
    private final String destination;
    private final String key;
    private final ConcurrentMap<String, SharedCounter> counters = new ConcurrentHashMap<>();

    SharedCounts(ClusterStore store, String destination) {
        this.store = store;
        this.destination = destination;
        this.key = store.key(destination, "counts");
    }

    public String destination() {
        return destination;
    }

    /**
     * The counter of this name, made on first use with this window (a later call with another window gets the first
     * one's counter: name counters by what they count, such as {@code errors} or a rule's {@code file:line}).
     *
     * @throws IllegalArgumentException when the name is empty or holds '|' or a space, or the window is under 10 ms
     */
    public SharedCounter counter(String name, Duration window) {
        if (name == null || name.isEmpty() || name.indexOf('|') >= 0 || name.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("a counter name must be non-empty, without '|' or spaces, was '" + name
                + "'");
        }
        if (window.toMillis() < 10) {
            throw new IllegalArgumentException("a counter's window must be at least 10 ms, was " + window);
        }
        return counters.computeIfAbsent(name, ignored -> new SharedCounter(this, name, window));
    }

    boolean isUp() {
        return store.isUp();
    }

    /** Sends what every counter added since the last flush, and reads back the totals; no call when nothing was. */
    void flush() {
        List<SharedCounter> sent = new ArrayList<>();
        List<Long> taken = new ArrayList<>();
        List<Long> generations = new ArrayList<>();
        List<String> args = new ArrayList<>();
        args.add("0");
        for (Map.Entry<String, SharedCounter> entry : counters.entrySet()) {
            SharedCounter counter = entry.getValue();
            long delta = counter.takePending();
            if (delta == 0) {
                continue;
            }
            sent.add(counter);
            taken.add(delta);
            generations.add(counter.generation());
            args.add(counter.name());
            args.add(Long.toString(counter.sliceMillis()));
            args.add(Long.toString(SharedCounter.events(delta)));
            args.add(Long.toString(SharedCounter.failures(delta)));
        }
        if (sent.isEmpty()) {
            return;
        }
        args.set(0, Integer.toString(sent.size()));
        store.link().<List<Object>>script(LuaScript.COUNTS_ADD, ScriptOutputType.MULTI, new String[] {key},
            args.toArray(new String[0])).whenComplete((reply, failure) -> {
                if (failure != null) {
                    for (int i = 0; i < sent.size(); i++) {
                        sent.get(i).restore(taken.get(i));
                    }
                    return;
                }
                long now = store.clock().millis();
                for (int i = 0; i < sent.size(); i++) {
                    List<?> totals = (List<?>) reply.get(i);
                    sent.get(i).readBack(((Number) totals.get(0)).longValue(), ((Number) totals.get(1)).longValue(),
                        now, generations.get(i));
                }
            });
    }

    void cleared(SharedCounter counter) {
        if (store.isUp()) {
            store.link().script(LuaScript.COUNTS_CLEAR, ScriptOutputType.INTEGER, new String[] {key},
                counter.name());
        }
    }

    @Override
    public String toString() {
        return destination + ": " + counters.values();
    }
}

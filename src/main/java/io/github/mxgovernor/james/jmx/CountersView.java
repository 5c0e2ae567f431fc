package io.github.mxgovernor.james.jmx;

import io.github.mxgovernor.governor.DestinationStats;

import java.util.LinkedHashMap;
import java.util.Map;

/** The {@link CountersMXBean} over a {@link DestinationStats}, read live on every call. */
abstract class CountersView implements CountersMXBean {
    /** The counters shown. */
    abstract DestinationStats stats();

    @Override
    public long getDelivered() {
        return stats().delivered();
    }

    @Override
    public long getDeferred() {
        return stats().deferred();
    }

    @Override
    public Map<String, Long> getDeferredByReason() {
        return names(stats().deferredByReason());
    }

    @Override
    public long getBounced() {
        return stats().bounced();
    }

    @Override
    public long getFailed() {
        return stats().failedAttempts();
    }

    @Override
    public Map<String, Long> getFailedByCause() {
        return names(stats().failedAttemptsByCause());
    }

    /** Counts by the names of their keys, in the keys' order. */
    static Map<String, Long> names(Map<? extends Enum<?>, Long> counts) {
        Map<String, Long> named = new LinkedHashMap<>();
        counts.forEach((key, count) -> named.put(key.name(), count));
        return named;
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.rules.MxRule;

import java.time.Clock;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The JVM-wide accounting of every destination: connection quotas and message rates are counted here, so
 * that every delivery engine (one per mailet instance) in one James shares the same caps.
 */
public final class Governor {
    private final Clock clock;
    private final ConcurrentMap<String, Destination> destinations = new ConcurrentHashMap<>();

    public Governor(Clock clock) {
        this.clock = clock;
    }

    /**
     * The destination that counts connections to {@code mxHost} under {@code rule}, created on first use. The
     * first rule seen for a destination name sets its limits: every mailet of one James reads one rules file.
     */
    public Destination destination(MxRule rule, String mxHost) {
        String name = Destination.nameFor(rule, mxHost);
        Destination existing = destinations.get(name);
        if (existing != null) {
            return existing;
        }
        return destinations.computeIfAbsent(name,
            key -> new Destination(key, rule, new MessageRate(rule.messagesPerHour(), clock)));
    }

    public Collection<Destination> destinations() {
        return Collections.unmodifiableCollection(destinations.values());
    }

    public Clock clock() {
        return clock;
    }
}

package io.github.mxgovernor.delivery;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one engine has in flight: the parts handed to it and not yet completed, the sessions its lanes hold open, and
 * whether it is closing. {@link DeliveryEngine#close} reads it to stop in order. Thread-safe.
 */
final class InFlight {
    private final Set<PendingPart> parts = ConcurrentHashMap.newKeySet();
    private final Set<PooledSession> sessions = ConcurrentHashMap.newKeySet();
    private final Object quiet = new Object();
    private volatile boolean closing;

    /** Tracks the part until it completes. */
    void track(PendingPart part) {
        parts.add(part);
        part.result().whenComplete((outcomes, error) -> {
            parts.remove(part);
            signal();
        });
    }

    void opened(PooledSession session) {
        sessions.add(session);
    }

    void gone(PooledSession session) {
        sessions.remove(session);
        signal();
    }

    boolean closing() {
        return closing;
    }

    void startClosing() {
        closing = true;
    }

    Collection<PendingPart> parts() {
        return Collections.unmodifiableSet(parts);
    }

    Collection<PooledSession> sessions() {
        return Collections.unmodifiableSet(sessions);
    }

    /**
     * Waits, on the caller's thread and in real time, until no part is in flight and no session open, or
     * {@code grace} has passed.
     *
     * @return whether everything ended within the grace
     */
    boolean awaitQuiet(Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (quiet) {
            while (!parts.isEmpty() || !sessions.isEmpty()) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                quiet.wait(Math.max(1, remaining / 1_000_000L));
            }
        }
        return true;
    }

    private void signal() {
        if (closing) {
            synchronized (quiet) {
                quiet.notifyAll();
            }
        }
    }
}

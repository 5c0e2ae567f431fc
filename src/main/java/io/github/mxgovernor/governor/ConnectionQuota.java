package io.github.mxgovernor.governor;

import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Concurrent SMTP connections open to one destination, idle ones included, counted in this JVM: the connection limit
 * of a destination whose cap is not shared with other nodes. Lock-free: a connection is opened only after
 * {@link #tryAcquire(int)} succeeded, and every successful acquire is matched by one {@link #release()} when the
 * connection closes, so the count can never pass the cap.
 */
public final class ConnectionQuota implements ConnectionLimit {
    private final AtomicInteger inUse = new AtomicInteger();
    private final AtomicInteger peak = new AtomicInteger();
    /** One permit for every connection: releasing it is {@link #release()}; nothing is allocated per connection. */
    private final ConnectionPermit permit = this::release;

    /** Takes a connection slot if fewer than {@code max} are in use. */
    public boolean tryAcquire(int max) {
        while (true) {
            int current = inUse.get();
            if (current >= max) {
                return false;
            }
            if (inUse.compareAndSet(current, current + 1)) {
                // accumulateAndGet writes even when the peak stands; reading first keeps the line shared.
                if (current + 1 > peak.get()) {
                    peak.accumulateAndGet(current + 1, Math::max);
                }
                return true;
            }
        }
    }

    /** A slot as {@link #tryAcquire(int)} gives it; {@code wake} is not needed: only a closing connection frees one. */
    @Override
    public ConnectionPermit tryAcquire(int cap, Runnable wake) {
        return tryAcquire(cap) ? permit : null;
    }

    /** Gives back a slot taken by {@link #tryAcquire(int)}. */
    public void release() {
        int after = inUse.decrementAndGet();
        if (after < 0) {
            inUse.incrementAndGet();
            throw new IllegalStateException("connection quota released more often than acquired");
        }
    }

    @Override
    public int inUse() {
        return inUse.get();
    }

    /** The highest number of connections open at once since this destination was first used. */
    @Override
    public int peak() {
        return peak.get();
    }

    @Override
    public OptionalInt clusterInUse() {
        return OptionalInt.empty();
    }

    @Override
    public int allowedNow(int cap) {
        return cap;
    }
}

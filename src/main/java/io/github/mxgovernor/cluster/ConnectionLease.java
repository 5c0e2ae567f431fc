package io.github.mxgovernor.cluster;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One open connection to a destination, counted against its cluster-wide cap from the moment it was granted until
 * {@link #release()}. While the connection lives the node renews its lease; a node that dies stops renewing and the
 * lease expires by itself within {@link StoreSettings#leaseTime()}.
 */
public final class ConnectionLease {
    private final SharedConnections owner;
    private final String id;
    private final AtomicBoolean released = new AtomicBoolean();

    ConnectionLease(SharedConnections owner, String id) {
        this.owner = owner;
        this.id = id;
    }

    /** The lease's member in the store: {@code <node>:<incarnation>:<number>}. */
    public String id() {
        return id;
    }

    /** Gives the lease back (the connection closed, or was never opened); true the first time only. Never blocks. */
    public boolean release() {
        if (released.compareAndSet(false, true)) {
            owner.released(this);
            return true;
        }
        return false;
    }

    public boolean isReleased() {
        return released.get();
    }

    @Override
    public String toString() {
        return "lease " + id + " on " + owner.destination() + (released.get() ? " (released)" : "");
    }
}

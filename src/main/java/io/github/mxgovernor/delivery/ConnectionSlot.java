package io.github.mxgovernor.delivery;

import io.github.mxgovernor.governor.Destination;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection counted against a destination's quota, from the moment it is taken until the connection is gone
 * (never opened, closed, or aborted). {@link #release()} gives the slot back once, however many paths reach it, so a
 * failure of any kind while opening or using a session can neither leak the slot nor free it twice.
 */
final class ConnectionSlot {
    private final Destination destination;
    private final AtomicBoolean released = new AtomicBoolean();

    private ConnectionSlot(Destination destination) {
        this.destination = destination;
    }

    /** A slot of {@code destination} if one is free under the cap flow control sets now; null otherwise. */
    static ConnectionSlot tryAcquire(Destination destination) {
        return destination.tryOpenConnection() ? new ConnectionSlot(destination) : null;
    }

    /** Gives the slot back; true the first time only. */
    boolean release() {
        if (released.compareAndSet(false, true)) {
            destination.connectionClosed();
            return true;
        }
        return false;
    }

    boolean isReleased() {
        return released.get();
    }
}

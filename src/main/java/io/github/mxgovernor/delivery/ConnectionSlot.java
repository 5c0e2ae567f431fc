package io.github.mxgovernor.delivery;

import io.github.mxgovernor.governor.ConnectionPermit;
import io.github.mxgovernor.governor.Destination;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection counted against a destination's quota, from the moment it is taken until the connection is gone
 * (never opened, closed, or aborted). {@link #release()} gives the slot back once, however many paths reach it, so a
 * failure of any kind while opening or using a session can neither leak the slot nor free it twice.
 */
final class ConnectionSlot {
    private final Destination destination;
    private final ConnectionPermit permit;
    private final AtomicBoolean released = new AtomicBoolean();

    private ConnectionSlot(Destination destination, ConnectionPermit permit) {
        this.destination = destination;
        this.permit = permit;
    }

    /**
     * A slot of {@code destination} if one is free under the cap flow control sets now; null otherwise.
     *
     * @param wake see {@link Destination#tryOpenConnection(Runnable)}: run when asking again may succeed (a
     *             cluster-wide cap's lease came in, or the cluster had room again); it only hands work to an executor
     */
    static ConnectionSlot tryAcquire(Destination destination, Runnable wake) {
        ConnectionPermit permit = destination.tryOpenConnection(wake);
        return permit == null ? null : new ConnectionSlot(destination, permit);
    }

    /** Gives the slot back; true the first time only. */
    boolean release() {
        if (released.compareAndSet(false, true)) {
            destination.connectionClosed(permit);
            return true;
        }
        return false;
    }

    boolean isReleased() {
        return released.get();
    }
}

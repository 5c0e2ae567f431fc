package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpSession;
import io.github.mxgovernor.tls.SecuredSession;
import io.github.mxgovernor.tls.SessionSecurity;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open session of one lane, and the connection slot it holds. It ends once, by {@link #close()} (QUIT, bounded by
 * the watchdog) or {@link #abort()} (at once); the slot is released when the connection is gone, and only then is the
 * lane told, so a destination never has more connections open than its slots. After it ends, no method of the
 * session is called again.
 */
final class PooledSession {
    private static final Logger LOGGER = LoggerFactory.getLogger(PooledSession.class);

    /** How a session stands; it only moves forward. */
    enum State { OPEN, CLOSING, GONE }

    /** Hears once that the session's connection is gone, and whether it was closing (rather than aborted while open). */
    @FunctionalInterface
    interface Gone {
        void gone(PooledSession session, boolean wasClosing);
    }

    private final SecuredSession secured;
    private final ConnectionSlot slot;
    private final Gone gone;
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);
    /** When it was parked idle, on the engine's ticker; guarded by the lane's lock. */
    private long idleSinceNanos;
    /** When it took the part it carries now, on the engine's ticker; guarded by the lane's lock. */
    private long carryingSinceNanos;

    PooledSession(SecuredSession secured, ConnectionSlot slot, Gone gone) {
        this.secured = secured;
        this.slot = slot;
        this.gone = gone;
    }

    SmtpSession session() {
        return secured.session();
    }

    SecuredSession secured() {
        return secured;
    }

    SessionSecurity security() {
        return secured.security();
    }

    String hostName() {
        return secured.session().endpoint().hostName();
    }

    /** Open, usable, and below {@code maxTransactions} carried. */
    boolean mayCarryMore(int maxTransactions) {
        return state.get() == State.OPEN && session().isReusable() && session().transactionCount() < maxTransactions;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    void idleSince(long nanos) {
        idleSinceNanos = nanos;
    }

    long carryingSinceNanos() {
        return carryingSinceNanos;
    }

    void carryingSince(long nanos) {
        carryingSinceNanos = nanos;
    }

    State state() {
        return state.get();
    }

    /** Marks an open session as closing, without any I/O (called under the lane's lock); false if it was not open. */
    boolean markClosing() {
        return state.compareAndSet(State.OPEN, State.CLOSING);
    }

    /**
     * Starts closing a session {@link #markClosing() marked closing}: QUIT, bounded by the watchdog; returns at once.
     * The slot is released when the close completes.
     */
    void close() {
        if (state.get() != State.CLOSING) {
            return;
        }
        CompletableFuture<Void> closing;
        try {
            closing = session().close();
        } catch (RuntimeException e) {
            LOGGER.warn("Closing the session to {} failed: aborted", hostName(), e);
            abort();
            return;
        }
        closing.whenComplete((ignored, error) -> end());
    }

    /** Marks the session closing, then closes it; for a session no lane holds (the engine stops, say). */
    void closeNow() {
        markClosing();
        close();
    }

    /** Closes the connection at once, without QUIT; once this returns no byte of it goes out. The slot is released. */
    void abort() {
        State before = state.getAndSet(State.GONE);
        if (before == State.GONE) {
            return;
        }
        try {
            session().abort();
        } catch (RuntimeException e) {
            LOGGER.warn("Aborting the session to {} failed", hostName(), e);
        }
        if (slot.release()) {
            gone.gone(this, before == State.CLOSING);
        }
    }

    private void end() {
        State before = state.getAndSet(State.GONE);
        if (before != State.GONE && slot.release()) {
            gone.gone(this, before == State.CLOSING);
        }
    }

    @Override
    public String toString() {
        return secured.toString();
    }
}

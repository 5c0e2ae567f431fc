package io.github.mxgovernor.delivery;

import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.tls.TlsPolicyResolver;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One lane's idle sessions, kept open for reuse: which one may carry a part, which ones must close (idle past the
 * rule's idle timeout, no longer usable, beyond a lowered cap, or making room for a session a part needs). It decides
 * only; the lane closes what it hands back, outside its lock.
 *
 * <p>Reuse honours the cap in force at that moment: while the destination has more connections open than flow
 * control and the rules allow now (a reload lowered the cap, a backoff began), its lane hands out no idle session, and
 * the surplus idle ones are the first to close ({@link #evictOverCap}).
 *
 * <p>Not thread-safe: its lane calls it under the lane's lock.
 */
final class SmtpSessionPool {
    private final Destination destination;
    private final TlsPolicyResolver tlsPolicy;
    /** Oldest first. */
    private final ArrayDeque<PooledSession> idle = new ArrayDeque<>();

    SmtpSessionPool(Destination destination, TlsPolicyResolver tlsPolicy) {
        this.destination = destination;
        this.tlsPolicy = tlsPolicy;
    }

    /**
     * Whether an open session may carry the part: it goes to one of the part's MX hosts and its TLS meets what the
     * part's policies require at that host (the host's DANE verdict is the session's). Pure.
     */
    boolean fits(PooledSession session, PendingPart part) {
        return part.acceptsHost(session.hostName()) && tlsPolicy.admits(session.security(), part.tlsPolicy(),
            destination.rule().tlsMode(), part.part().transaction().requireTls());
    }

    /**
     * Takes the oldest idle session that may carry the part now; null when none may. The lane asks only while the
     * destination is within the cap in force (its closing sessions counted as gone).
     */
    PooledSession takeFor(PendingPart part) {
        if (part.needsFreshSession()) {
            return null;
        }
        int maxTransactions = destination.maxMessagesPerConnection();
        for (Iterator<PooledSession> it = idle.iterator(); it.hasNext(); ) {
            PooledSession session = it.next();
            if (session.mayCarryMore(maxTransactions) && fits(session, part)) {
                it.remove();
                return session;
            }
        }
        return null;
    }

    /** Keeps a session idle from {@code nowNanos} on. */
    void park(PooledSession session, long nowNanos) {
        session.idleSince(nowNanos);
        idle.addLast(session);
    }

    /** Gives back a session taken by {@link #takeFor} that was not used after all, keeping its idle time. */
    void putBack(PooledSession session) {
        idle.addFirst(session);
    }

    /** The oldest idle session, to close so that a session some part can use may open in its place; null if none. */
    PooledSession evictOldest() {
        return idle.pollFirst();
    }

    /** Idle sessions past {@code idleTimeout} or no longer usable, removed, to close. */
    List<PooledSession> evictExpired(long nowNanos, Duration idleTimeout) {
        List<PooledSession> expired = new ArrayList<>(0);
        long limit = idleTimeout.toNanos();
        for (Iterator<PooledSession> it = idle.iterator(); it.hasNext(); ) {
            PooledSession session = it.next();
            if (nowNanos - session.idleSinceNanos() >= limit || !session.session().isReusable()) {
                it.remove();
                expired.add(session);
            }
        }
        return expired;
    }

    /**
     * The oldest idle sessions beyond the cap in force, removed, to close: as many as the destination has
     * connections open above it, counting {@code closing} ones (already on their way out) as gone.
     */
    List<PooledSession> evictOverCap(int closing) {
        int surplus = destination.connections().inUse() - closing - destination.connectionsAllowedNow();
        List<PooledSession> evicted = new ArrayList<>(0);
        while (surplus-- > 0 && !idle.isEmpty()) {
            evicted.add(idle.pollFirst());
        }
        return evicted;
    }

    /** Every idle session, removed. */
    List<PooledSession> drain() {
        List<PooledSession> all = new ArrayList<>(idle);
        idle.clear();
        return all;
    }

    int size() {
        return idle.size();
    }

    boolean isEmpty() {
        return idle.isEmpty();
    }
}

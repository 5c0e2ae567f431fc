package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.smtp.BlockingSmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One destination's ready lane in one engine: parts waiting for a connection and a rate token, and the
 * idle sessions kept open for reuse. Decisions are taken under this lane's own lock (never a global one);
 * SMTP I/O always happens outside it, on a delivery thread that owns one session at a time.
 *
 * <p>A session carries only parts it protects enough ({@link DeliveryEngine#mayCarry}): a plaintext or unverified
 * session never takes a part whose TLS policy asks for more. When the connection cap is reached and no idle session
 * fits the next part, the oldest idle one is closed to make room for one that does.
 *
 * <p>Flow control decides the limits: connections, mails per connection and the token budget come from the
 * destination's current state. While the destination is suspended every waiting part, and every part offered,
 * leaves at once as a {@link DeferralReason#SUSPENDED} deferral that comes back when the suspension ends.
 *
 * <p>A part turned away for the connection quota (the lane is full, or it waited past {@code maxLaneWait}) is told to
 * come back on a return slot of the lane's measured {@link LanePace pace}, so a burst larger than the lane drains
 * with one deferral per part rather than many.
 */
final class DeliveryLane {
    private final Destination destination;
    private final DeliveryEngine engine;
    private final ArrayDeque<PendingPart> waiting = new ArrayDeque<>();
    private final ArrayDeque<IdleSession> idle = new ArrayDeque<>();
    private final LanePace pace = new LanePace();
    private boolean wakeScheduled;
    /** Sessions being driven by a delivery thread now: a lane with any is never retired. */
    private int serving;
    private boolean retired;

    DeliveryLane(Destination destination, DeliveryEngine engine) {
        this.destination = destination;
        this.engine = engine;
    }

    Destination destination() {
        return destination;
    }

    /** Queues a part; false when this lane was retired and the caller must route again. */
    boolean offer(PendingPart part) {
        boolean turnedAway;
        DeferralReason reason = null;
        Optional<Instant> returnAt = Optional.empty();
        synchronized (this) {
            if (retired) {
                return false;
            }
            FlowState state = destination.flowControl().state();
            if (state.kind() == FlowState.Kind.SUSPENDED) {
                turnedAway = true;
            } else {
                turnedAway = waiting.size() >= engine.settings().laneCapacity();
            }
            if (turnedAway) {
                reason = blockingReason();
                returnAt = returnSlotFor(reason, engine.nowMillis());
            } else {
                part.waitUntil(engine.nowMillis() + engine.settings().maxLaneWait().toMillis());
                waiting.addLast(part);
            }
        }
        if (turnedAway) {
            engine.deferLocally(part, destination, reason, returnAt);
        } else {
            dispatch();
        }
        return true;
    }

    /** Starts sessions for waiting parts as far as the quota, the rate and the idle sessions allow. */
    void dispatch() {
        List<Runnable> starts = new ArrayList<>(0);
        List<BlockingSmtpSession> evicted = new ArrayList<>(0);
        List<PendingPart> suspended = null;
        synchronized (this) {
            if (destination.flowControl().state().kind() == FlowState.Kind.SUSPENDED) {
                suspended = new ArrayList<>(waiting);
                waiting.clear();
            }
            while (!waiting.isEmpty()) {
                PendingPart next = waiting.peekFirst();
                IdleSession reused = takeIdleFor(next);
                if (reused == null && !destination.tryOpenConnection() && !evictIdleFor(evicted)) {
                    break;
                }
                MessageBudget budget = destination.budget();
                if (!budget.tryConsume()) {
                    if (reused != null) {
                        idle.addFirst(reused);
                    } else {
                        destination.connectionClosed();
                    }
                    scheduleWake(budget.timeUntilToken());
                    break;
                }
                waiting.pollFirst();
                pace.taken();
                BlockingSmtpSession session = reused == null ? null : reused.session;
                serving++;
                starts.add(() -> serve(session, next));
            }
        }
        for (BlockingSmtpSession session : evicted) {
            session.close();
        }
        if (suspended != null) {
            for (PendingPart part : suspended) {
                engine.deferLocally(part, destination, DeferralReason.SUSPENDED);
            }
        }
        for (Runnable start : starts) {
            engine.execute(start);
        }
    }

    /**
     * Drives one session: opens it when needed, carries the given part, then keeps taking parts from this
     * lane while the session may carry more and tokens allow; parks it idle or closes it at the end.
     */
    private void serve(BlockingSmtpSession reusedSession, PendingPart firstPart) {
        BlockingSmtpSession session = reusedSession;
        PendingPart current = firstPart;
        DeliveryEngine.Serving work = engine.serving();
        work.session(session);
        try {
            while (current != null) {
                work.part(current);
                if (session == null && engine.isClosed()) {
                    // dispatched before the engine closed: no new connection once it has
                    destination.connectionClosed();
                    destination.budget().refund();
                    engine.stopped(current);
                    current = null;
                    break;
                }
                if (session == null) {
                    try {
                        session = engine.openSession(current, destination);
                    } catch (SmtpSessionException failure) {
                        destination.connectionClosed();
                        destination.budget().refund();
                        engine.connectionFailed(current, destination, failure, this);
                        current = null;
                        break;
                    }
                    if (!work.session(session)) {
                        destination.budget().refund();
                        engine.connectionFailed(current, destination, new SmtpSessionException(
                            SmtpSessionException.Stage.GREETING, SmtpSessionException.Kind.CONNECTION_LOST,
                            "delivery stopped"), this);
                        current = null;
                        break;
                    }
                }
                if (!engine.attempt(session, current, destination, this)) {
                    current = null;
                    break;
                }
                current = nextPartFor(session);
                if (current == null) {
                    session = parkOrKeep(session);
                    work.session(session);
                }
            }
        } catch (RuntimeException | Error unexpected) {
            if (current != null) {
                engine.failUnexpectedly(current, destination, unexpected);
            }
        } finally {
            engine.served(work);
            if (session != null) {
                session.close();
                destination.connectionClosed();
            }
            synchronized (this) {
                serving--;
            }
        }
        dispatch();
    }

    /** When a part turned away now for {@code reason} should come back; empty to leave it to the engine. */
    private Optional<Instant> returnSlotFor(DeferralReason reason, long nowMillis) {
        if (reason != DeferralReason.CONNECTION_QUOTA_REACHED) {
            return Optional.empty();
        }
        OptionalLong slot = pace.takeReturnSlot(nowMillis, waiting.size());
        return slot.isPresent() ? Optional.of(Instant.ofEpochMilli(slot.getAsLong())) : Optional.empty();
    }

    /**
     * With the connection cap reached and no idle session able to carry the next part (another host, or too weak
     * a TLS for it), closes the oldest idle session so that a fitting one can be opened in its place. Under the
     * lane's lock; the session is closed later, outside it.
     */
    private boolean evictIdleFor(List<BlockingSmtpSession> evicted) {
        IdleSession oldest = idle.pollFirst();
        if (oldest == null) {
            return false;
        }
        evicted.add(oldest.session);
        destination.connectionClosed();
        return destination.tryOpenConnection();
    }

    /** The next part this session may carry now, with its token taken; null when there is none. */
    private PendingPart nextPartFor(BlockingSmtpSession session) {
        if (!mayCarryMore(session)) {
            return null;
        }
        synchronized (this) {
            PendingPart next = pollFor(session);
            if (next == null) {
                return null;
            }
            MessageBudget budget = destination.budget();
            if (budget.tryConsume()) {
                pace.taken();
                return next;
            }
            waiting.addFirst(next);
            scheduleWake(budget.timeUntilToken());
            return null;
        }
    }

    /**
     * Whether the session may take another mail now: it is usable, below the mails per connection flow control
     * allows (none while suspended), and its destination is not over the connection cap of a backoff that began.
     */
    private boolean mayCarryMore(BlockingSmtpSession session) {
        return session.isReusable() && session.transactionCount() < destination.maxMessagesPerConnection()
            && !destination.overConnectionLimit();
    }

    /** Keeps a usable session idle for the next parts; returns the session when it must be closed instead. */
    private BlockingSmtpSession parkOrKeep(BlockingSmtpSession session) {
        if (!mayCarryMore(session)) {
            return session;
        }
        synchronized (this) {
            if (retired) {
                return session;
            }
            idle.addLast(new IdleSession(session, engine.nowMillis()));
            return null;
        }
    }

    /** Puts a part back at the head of the lane (a reused session turned out to be stale). */
    void retryFirst(PendingPart part) {
        synchronized (this) {
            if (!retired) {
                waiting.addFirst(part);
                return;
            }
        }
        engine.route(part);
    }

    /**
     * Housekeeping from the engine's timer: defers parts that waited too long, closes sessions idle past the
     * rule's idle timeout, and retires the lane when nothing is left in it.
     */
    boolean sweep(long nowMillis) {
        List<PendingPart> expired = new ArrayList<>(0);
        List<Optional<Instant>> returnSlots = new ArrayList<>(0);
        List<BlockingSmtpSession> toClose = new ArrayList<>(0);
        long idleLimit = destination.rule().idleTimeout().toMillis();
        DeferralReason reason = null;
        boolean retire;
        synchronized (this) {
            pace.sample(nowMillis, !waiting.isEmpty());
            for (Iterator<PendingPart> it = waiting.iterator(); it.hasNext(); ) {
                PendingPart part = it.next();
                if (part.deadlineMillis() <= nowMillis) {
                    it.remove();
                    expired.add(part);
                }
            }
            if (!expired.isEmpty()) {
                reason = blockingReason();
                for (int i = 0; i < expired.size(); i++) {
                    returnSlots.add(returnSlotFor(reason, nowMillis));
                }
            }
            for (Iterator<IdleSession> it = idle.iterator(); it.hasNext(); ) {
                IdleSession parked = it.next();
                if (nowMillis - parked.sinceMillis >= idleLimit || !parked.session.isReusable()) {
                    it.remove();
                    toClose.add(parked.session);
                }
            }
            retire = waiting.isEmpty() && idle.isEmpty() && serving == 0 && !wakeScheduled;
            if (retire) {
                retired = true;
            }
        }
        for (BlockingSmtpSession session : toClose) {
            session.close();
            destination.connectionClosed();
        }
        for (int i = 0; i < expired.size(); i++) {
            engine.deferLocally(expired.get(i), destination, reason, returnSlots.get(i));
        }
        if (!retire) {
            dispatch();
        }
        return retire;
    }

    /** Closes idle sessions and hands back every waiting part, for an engine that stops. */
    List<PendingPart> drain() {
        List<BlockingSmtpSession> toClose = new ArrayList<>();
        List<PendingPart> parts;
        synchronized (this) {
            retired = true;
            parts = new ArrayList<>(waiting);
            waiting.clear();
            for (IdleSession parked : idle) {
                toClose.add(parked.session);
            }
            idle.clear();
        }
        for (BlockingSmtpSession session : toClose) {
            session.close();
            destination.connectionClosed();
        }
        return parts;
    }

    synchronized int waitingCount() {
        return waiting.size();
    }

    synchronized int idleCount() {
        return idle.size();
    }

    /** Why parts could not be served: the flow-control state when it is not normal, else the quota or the rate. */
    private DeferralReason blockingReason() {
        switch (destination.flowControl().state().kind()) {
            case SUSPENDED:
                return DeferralReason.SUSPENDED;
            case BACKOFF:
                return DeferralReason.DYNAMIC_FLOW_CONTROL;
            default:
                return destination.budget().timeUntilToken().isZero()
                    ? DeferralReason.CONNECTION_QUOTA_REACHED
                    : DeferralReason.RATE_LIMITED;
        }
    }

    private IdleSession takeIdleFor(PendingPart part) {
        for (Iterator<IdleSession> it = idle.iterator(); it.hasNext(); ) {
            IdleSession parked = it.next();
            if (engine.mayCarry(parked.session, part, destination)) {
                it.remove();
                return parked;
            }
        }
        return null;
    }

    private PendingPart pollFor(BlockingSmtpSession session) {
        for (Iterator<PendingPart> it = waiting.iterator(); it.hasNext(); ) {
            PendingPart part = it.next();
            if (engine.mayCarry(session, part, destination)) {
                it.remove();
                return part;
            }
        }
        return null;
    }

    private void scheduleWake(Duration delay) {
        if (wakeScheduled) {
            return;
        }
        wakeScheduled = true;
        engine.schedule(() -> {
            synchronized (this) {
                wakeScheduled = false;
            }
            dispatch();
        }, delay.isZero() ? Duration.ofMillis(1) : delay);
    }

    private static final class IdleSession {
        final BlockingSmtpSession session;
        final long sinceMillis;

        IdleSession(BlockingSmtpSession session, long sinceMillis) {
            this.session = session;
            this.sinceMillis = sinceMillis;
        }
    }
}

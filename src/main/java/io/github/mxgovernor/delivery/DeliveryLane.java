package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;
import io.github.mxgovernor.tls.SecuredSession;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * One destination's lane in one engine: the parts waiting for a connection and a rate token, and the dispatch that
 * hands them to sessions as the destination's quota, rate and flow-control state allow. Idle sessions are kept by the
 * lane's {@link SmtpSessionPool}; opening sessions and running transactions is the {@link AttemptRunner}'s, on
 * futures. Every decision is taken under this lane's own lock, never a global one, and no I/O is started under it.
 *
 * <p>A session carries only parts it protects enough; when the connection cap is reached and no idle session fits the
 * next part, the oldest idle one closes to make room for one that does. A part that needs a fresh session (its one
 * retry, see {@link #retryOnFreshSession}) gets a newly opened one.
 *
 * <p>Flow control decides the limits: connections, mails per connection and the token budget come from the
 * destination's current state. While the destination is suspended every waiting part, and every part offered, leaves
 * at once as a {@link DeferralReason#SUSPENDED} deferral that comes back when the suspension ends.
 *
 * <p>A part turned away for the connection quota (the lane is full, or it waited past {@code maxLaneWait}) is told to
 * come back on a return slot of the lane's measured {@link LanePace pace}. Waits are measured on the engine's
 * monotonic ticker; only the return times handed out are wall-clock instants.
 */
final class DeliveryLane {
    private final Destination destination;
    private final EngineSettings settings;
    private final AttemptRunner runner;
    private final AttemptRecorder recorder;
    private final InFlight inFlight;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final Clock clock;
    private final SmtpSessionPool pool;
    /** Asks again for a connection, on the engine's work executor, when a cluster-wide cap has room (never inline). */
    private final Runnable wake;
    private final ArrayDeque<PendingPart> waiting = new ArrayDeque<>();
    private final LanePace pace = new LanePace();
    private boolean wakeScheduled;
    /** Sessions opening for, or carrying mail of, this lane now. */
    private int busy;
    /** This lane's sessions closing now: their slots come back when they are gone. */
    private int closing;
    private boolean retired;
    private boolean stopped;

    /** @param work the engine's work executor, where a wake from the cluster store runs the dispatch */
    DeliveryLane(Destination destination, EngineSettings settings, SmtpSessionPool pool, AttemptRunner runner,
                 AttemptRecorder recorder, InFlight inFlight, Scheduler scheduler, Ticker ticker, Clock clock,
                 Executor work) {
        this.destination = destination;
        this.wake = () -> {
            try {
                work.execute(this::dispatch);
            } catch (RejectedExecutionException e) {
                // the engine stopped
            }
        };
        this.settings = settings;
        this.pool = pool;
        this.runner = runner;
        this.recorder = recorder;
        this.inFlight = inFlight;
        this.scheduler = scheduler;
        this.ticker = ticker;
        this.clock = clock;
    }

    Destination destination() {
        return destination;
    }

    /** Queues a part; false when this lane was retired and the caller must route again. */
    boolean offer(PendingPart part) {
        DeferralReason turnedAway = null;
        Optional<Instant> returnAt = Optional.empty();
        boolean stopping;
        synchronized (this) {
            if (retired) {
                return false;
            }
            stopping = stopped;
            if (!stopping) {
                if (destination.flowControl().state().kind() == FlowState.Kind.SUSPENDED
                    || waiting.size() >= settings.laneCapacity()) {
                    turnedAway = blockingReason();
                    returnAt = returnSlotFor(turnedAway, nowMillis());
                } else {
                    part.waitUntil(ticker.nanos() + settings.maxLaneWait().toNanos());
                    part.waiting();
                    waiting.addLast(part);
                }
            }
        }
        if (stopping) {
            recorder.deferLocally(part, destination, DeferralReason.CONNECTION_QUOTA_REACHED, Optional.empty());
        } else if (turnedAway != null) {
            recorder.deferLocally(part, destination, turnedAway, returnAt);
        } else {
            dispatch();
        }
        return true;
    }

    /** Hands waiting parts to idle or new sessions as far as the quota, the rate and the idle sessions allow. */
    void dispatch() {
        List<Runnable> starts = new ArrayList<>(0);
        List<PooledSession> toClose = new ArrayList<>(0);
        List<PendingPart> suspended = null;
        synchronized (this) {
            if (stopped) {
                return;
            }
            if (destination.flowControl().state().kind() == FlowState.Kind.SUSPENDED) {
                suspended = new ArrayList<>(waiting);
                waiting.clear();
            }
            markClosing(pool.evictOverCap(closing), toClose);
            while (!waiting.isEmpty()) {
                PendingPart next = waiting.peekFirst();
                PooledSession reused = overCap() ? null : pool.takeFor(next);
                ConnectionSlot slot = null;
                if (reused == null) {
                    slot = ConnectionSlot.tryAcquire(destination, wake);
                    if (slot == null) {
                        // Make room only at the cap (not while a cluster lease is on its way), and only when no slot
                        // is already on its way back.
                        if (closing == 0
                            && destination.connections().inUse() >= destination.connectionsAllowedNow()) {
                            PooledSession oldest = pool.evictOldest();
                            if (oldest != null) {
                                markClosing(List.of(oldest), toClose);
                            }
                        }
                        break;
                    }
                }
                MessageToken token = MessageToken.tryTake(destination.budget());
                if (token == null) {
                    if (reused != null) {
                        pool.putBack(reused);
                    } else {
                        slot.release();
                    }
                    scheduleWake(destination.budget().timeUntilToken());
                    break;
                }
                waiting.pollFirst();
                take(next, reused);
                busy++;
                starts.add(start(next, token, reused, slot));
            }
        }
        for (PooledSession session : toClose) {
            session.close();
        }
        if (suspended != null) {
            for (PendingPart part : suspended) {
                recorder.deferLocally(part, destination, DeferralReason.SUSPENDED, Optional.empty());
            }
        }
        for (Runnable start : starts) {
            start.run();
        }
    }

    private Runnable start(PendingPart part, MessageToken token, PooledSession reused, ConnectionSlot slot) {
        if (reused != null) {
            return () -> runner.transact(this, reused, part, token);
        }
        part.opening(null);
        return () -> runner.open(this, part, slot, token);
    }

    /**
     * A session opened on {@code slot} for {@code part}: now this lane's, counted against its destination until it is
     * gone, and carrying the part from now on.
     */
    PooledSession adopt(SecuredSession secured, ConnectionSlot slot, PendingPart part) {
        PooledSession session = new PooledSession(secured, slot, this::connectionGone);
        synchronized (this) {
            long now = ticker.nanos();
            pace.opened(now - part.takenNanos());
            session.carryingSince(now);
        }
        inFlight.opened(session);
        destination.stats().recordSession(secured.security().protection());
        return session;
    }

    /** Opening a session failed (its slot and token were given back): other parts may use the room. */
    void openEnded() {
        synchronized (this) {
            busy--;
        }
        dispatch();
    }

    /**
     * A session finished a transaction and may go on: it carries the next waiting part it may carry, with a token, or
     * waits idle; it closes when it may carry no more (mails per connection, usability, a cap lowered meanwhile) or
     * the lane stops.
     */
    void sessionFree(PooledSession session) {
        PendingPart next = null;
        MessageToken token = null;
        boolean close = false;
        boolean parked = false;
        synchronized (this) {
            busy--;
            carried(session);
            if (stopped || !session.mayCarryMore(destination.maxMessagesPerConnection()) || overCap()) {
                close = session.markClosing();
                if (close) {
                    closing++;
                }
            } else {
                next = pollFor(session);
                if (next != null) {
                    token = MessageToken.tryTake(destination.budget());
                    if (token == null) {
                        waiting.addFirst(next);
                        next = null;
                        scheduleWake(destination.budget().timeUntilToken());
                    } else {
                        take(next, session);
                        busy++;
                    }
                }
                if (next == null) {
                    pool.park(session, ticker.nanos());
                    parked = !waiting.isEmpty();
                }
            }
        }
        if (close) {
            session.close();
        } else if (next != null) {
            runner.transact(this, session, next, token);
        } else if (parked) {
            // Parts this session could not carry may need its room.
            dispatch();
        }
    }

    /** A session that carried its last mail for now (a response rule asked to reconnect): it closes. */
    void sessionSpent(PooledSession session) {
        synchronized (this) {
            busy--;
            carried(session);
            if (session.markClosing()) {
                closing++;
            }
        }
        session.close();
    }

    /** A session that failed: aborted, its slot back at once. */
    void sessionBroken(PooledSession session) {
        synchronized (this) {
            busy--;
        }
        session.abort();
    }

    /**
     * Retries the part on a fresh session: the one operation for a reused session found stale, a response rule that
     * asked to reconnect, or a session whose TLS turned out too weak for the part. The part's token is refunded, the
     * session it used (if any; it counted as busy) closes, and the part goes back to the head of the lane, to be given
     * a newly opened session. Once per part: false when it had its retry, and then nothing was done.
     */
    boolean retryOnFreshSession(PendingPart part, MessageToken token, PooledSession used) {
        if (!part.takeFreshSessionRetry()) {
            return false;
        }
        token.refund();
        boolean requeued = false;
        boolean closeUsed = false;
        synchronized (this) {
            if (used != null) {
                busy--;
                closeUsed = used.markClosing();
                if (closeUsed) {
                    closing++;
                }
            }
            if (!stopped && !retired) {
                part.waiting();
                waiting.addFirst(part);
                requeued = true;
            }
        }
        if (closeUsed) {
            used.close();
        }
        if (!requeued) {
            recorder.deferLocally(part, destination, DeferralReason.CONNECTION_QUOTA_REACHED, Optional.empty());
        }
        dispatch();
        return true;
    }

    private void connectionGone(PooledSession session, boolean wasClosing) {
        synchronized (this) {
            if (wasClosing) {
                closing--;
            }
        }
        inFlight.gone(session);
        dispatch();
    }

    /**
     * Housekeeping, from the engine's timer: measures the pace, defers parts that waited too long, closes sessions
     * idle past the rule's idle timeout, and retires the lane when nothing is left in it.
     *
     * @return whether the lane retired
     */
    boolean sweep() {
        long nowNanos = ticker.nanos();
        long nowMillis = nanosToMillis(nowNanos);
        List<PendingPart> expired = new ArrayList<>(0);
        List<Optional<Instant>> returnSlots = new ArrayList<>(0);
        List<PooledSession> toClose = new ArrayList<>(0);
        DeferralReason reason = null;
        boolean retire;
        synchronized (this) {
            pace.sample(nowMillis, waiting.size(), busy);
            for (Iterator<PendingPart> it = waiting.iterator(); it.hasNext(); ) {
                PendingPart part = it.next();
                if (part.deadlineNanos() - nowNanos <= 0) {
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
            markClosing(pool.evictExpired(nowNanos, destination.rule().idleTimeout()), toClose);
            retire = !stopped && waiting.isEmpty() && pool.isEmpty() && busy == 0 && closing == 0 && !wakeScheduled;
            if (retire) {
                retired = true;
            }
        }
        for (PooledSession session : toClose) {
            session.close();
        }
        for (int i = 0; i < expired.size(); i++) {
            recorder.deferLocally(expired.get(i), destination, reason, returnSlots.get(i));
        }
        if (!retire) {
            dispatch();
        }
        return retire;
    }

    /**
     * Stops the lane for an engine that stops: no part is dispatched any more, idle sessions close (QUIT), sessions
     * in use close after their transaction.
     *
     * @return the parts that were waiting, for the engine to defer
     */
    List<PendingPart> stop() {
        List<PooledSession> toClose = new ArrayList<>();
        List<PendingPart> parts;
        synchronized (this) {
            stopped = true;
            parts = new ArrayList<>(waiting);
            waiting.clear();
            markClosing(pool.drain(), toClose);
        }
        for (PooledSession session : toClose) {
            session.close();
        }
        return parts;
    }

    synchronized int waitingCount() {
        return waiting.size();
    }

    synchronized int idleCount() {
        return pool.size();
    }

    synchronized int busyCount() {
        return busy;
    }

    /**
     * Whether more of the destination's connections stay open than the cap in force allows now (a reload lowered it,
     * a backoff began), counting this lane's closing sessions as gone: then no session carries another mail.
     */
    private boolean overCap() {
        return destination.connections().inUse() - closing > destination.connectionsAllowedNow();
    }

    private void markClosing(List<PooledSession> sessions, List<PooledSession> toClose) {
        for (PooledSession session : sessions) {
            if (session.markClosing()) {
                closing++;
                toClose.add(session);
            }
        }
    }

    /** Takes {@code part} into service now, on {@code session} when one already open carries it. */
    private void take(PendingPart part, PooledSession session) {
        long now = ticker.nanos();
        part.takenAt(now);
        if (session != null) {
            session.carryingSince(now);
        }
        pace.taken(nanosToMillis(now));
    }

    /** {@code session} is done with the part it carried. */
    private void carried(PooledSession session) {
        pace.carried(ticker.nanos() - session.carryingSinceNanos());
    }

    /** When a part turned away now for {@code reason} should come back; empty to leave it to the recorder. */
    private Optional<Instant> returnSlotFor(DeferralReason reason, long nowMillis) {
        if (reason != DeferralReason.CONNECTION_QUOTA_REACHED) {
            return Optional.empty();
        }
        OptionalLong hourly = destination.rule().messagesPerHour();
        double perSecond = pace.perSecond(busy + pool.size(), destination.maxMessagesPerConnection(),
            hourly.isPresent() ? hourly.getAsLong() / 3600.0 : Double.POSITIVE_INFINITY);
        OptionalLong slot = pace.takeReturnSlot(nowMillis, waiting.size(), perSecond);
        return slot.isPresent() ? Optional.of(clock.instant().plusMillis(slot.getAsLong() - nowMillis))
            : Optional.empty();
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

    /** The first waiting part this session may carry, removed; null when none. */
    private PendingPart pollFor(PooledSession session) {
        for (Iterator<PendingPart> it = waiting.iterator(); it.hasNext(); ) {
            PendingPart part = it.next();
            if (!part.needsFreshSession() && pool.fits(session, part)) {
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
        scheduler.schedule(delay.isZero() ? Duration.ofMillis(1) : delay, () -> {
            synchronized (this) {
                wakeScheduled = false;
            }
            dispatch();
        });
    }

    private long nowMillis() {
        return nanosToMillis(ticker.nanos());
    }

    private static long nanosToMillis(long nanos) {
        return Math.floorDiv(nanos, 1_000_000L);
    }
}

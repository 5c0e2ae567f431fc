package io.github.mxgovernor.governor;

import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections of one destination counted across every node sharing the cluster store: a connection opens only on
 * a lease the store granted ({@link LeaseSource}). Leases take a round trip, lanes must not wait for one, so:
 *
 * <ul>
 *   <li>at most <b>one acquisition is in flight</b> per destination on this node; {@link #tryAcquire} starts it and
 *       answers null, and the callers' {@code wake} runs when its answer is in (on the store's thread: a wake only hands
 *       work to an executor);</li>
 *   <li>a granted lease waits as a <b>ready lease</b>, handed to the next {@link #tryAcquire} at once; one not taken
 *       within {@link #READY_FOR} is given back, so a node never hoards the cluster's connections;</li>
 *   <li>a refusal (the cluster is at its cap) is asked again only after a <b>retry delay</b>, 250 ms doubling to 2 s,
 *       back to 250 ms when one of this node's connections closes (which also wakes the callers): nothing loops
 *       while the cluster is full;</li>
 *   <li>this node never asks the store for more than {@link #allowedNow} connections, the cap itself while the store
 *       is up: a node that holds the whole cap waits for its own connections to close, without a store call.</li>
 * </ul>
 * When the store is unreachable the source answers at once from this node's share, and the answer is given
 * synchronously. Thread-safe; no method blocks.
 */
final class SharedConnectionLimit implements ConnectionLimit {
    /** How long a granted lease waits to be taken before it is given back. */
    static final Duration READY_FOR = Duration.ofSeconds(1);
    static final Duration FIRST_RETRY = Duration.ofMillis(250);
    static final Duration MAX_RETRY = Duration.ofSeconds(2);
    private static final Logger LOGGER = LoggerFactory.getLogger(SharedConnectionLimit.class);

    /** Where leases come from: the cluster store's connections of one destination, or a test's double. */
    interface LeaseSource {
        /**
         * Asks for a lease under {@code cap} across the cluster; completes with a permit, or null when the cap (or this
         * node's share of it while the store is away) is reached. Never completes exceptionally; may complete at once.
         */
        CompletableFuture<ConnectionPermit> acquire(int cap);

        /** See {@link ConnectionCount#allowedNow}. */
        int allowedNow(int cap);

        /** See {@link ConnectionCount#clusterInUse}. */
        OptionalInt clusterInUse();

        /** Asks the store for the cluster's count now; the answer shows in {@link #clusterInUse()}. */
        void refreshClusterCount();
    }

    private final LeaseSource source;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final Object lock = new Object();
    // Guarded by lock.
    private final Deque<Ready> ready = new ArrayDeque<>();
    private final List<Runnable> wakes = new ArrayList<>(2);
    private int open;
    private int peak;
    private boolean acquiring;
    private long retryNotBeforeNanos;
    private boolean retryScheduled;
    private Duration retryDelay = FIRST_RETRY;
    private boolean expiryScheduled;

    SharedConnectionLimit(LeaseSource source, Scheduler scheduler, Ticker ticker) {
        this.source = Objects.requireNonNull(source, "source");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.retryNotBeforeNanos = ticker.nanos();
    }

    @Override
    public ConnectionPermit tryAcquire(int cap, Runnable wake) {
        synchronized (lock) {
            dropStale(ticker.nanos());
            if (!ready.isEmpty()) {
                return taken(ready.pollFirst().permit);
            }
            if (wake != null && !wakes.contains(wake)) {
                wakes.add(wake);
            }
            if (acquiring || open >= source.allowedNow(cap)) {
                return null;
            }
            long untilRetry = retryNotBeforeNanos - ticker.nanos();
            if (untilRetry > 0) {
                scheduleRetryWake(Duration.ofNanos(untilRetry));
                return null;
            }
            acquiring = true;
        }
        CompletableFuture<ConnectionPermit> asked = source.acquire(cap);
        if (asked.isDone() && !asked.isCompletedExceptionally()) {
            // Answered at once (the store is away: this node's share decides): no wake needed.
            ConnectionPermit permit = asked.join();
            synchronized (lock) {
                acquiring = false;
                if (permit != null) {
                    retryDelay = FIRST_RETRY;
                    return taken(permit);
                }
                refused();
                return null;
            }
        }
        asked.whenComplete(this::answered);
        return null;
    }

    /** The store's answer to the acquisition in flight; on the store's thread. */
    private void answered(ConnectionPermit permit, Throwable failure) {
        List<Runnable> toWake;
        synchronized (lock) {
            acquiring = false;
            if (permit != null && failure == null) {
                retryDelay = FIRST_RETRY;
                ready.addLast(new Ready(permit, ticker.nanos()));
                scheduleExpiry();
                toWake = takeWakes();
            } else {
                refused();
                toWake = List.of();
            }
        }
        runAll(toWake);
    }

    /** Under the lock: the cluster is full (or the answer failed); ask again after the retry delay, not before. */
    private void refused() {
        retryNotBeforeNanos = ticker.nanos() + retryDelay.toNanos();
        Duration delay = retryDelay;
        Duration doubled = retryDelay.multipliedBy(2);
        retryDelay = doubled.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : doubled;
        scheduleRetryWake(delay);
    }

    /** Under the lock: wakes the waiting callers once the retry delay is over (one timer, whoever waits). */
    private void scheduleRetryWake(Duration delay) {
        if (retryScheduled || wakes.isEmpty()) {
            return;
        }
        retryScheduled = true;
        scheduler.schedule(delay, () -> {
            List<Runnable> toWake;
            synchronized (lock) {
                retryScheduled = false;
                toWake = takeWakes();
            }
            runAll(toWake);
        });
    }

    /** Under the lock. */
    private ConnectionPermit taken(ConnectionPermit lease) {
        open++;
        if (open + ready.size() > peak) {
            peak = open + ready.size();
        }
        return new Opened(lease);
    }

    private void closed(ConnectionPermit lease) {
        List<Runnable> toWake;
        synchronized (lock) {
            open--;
            // A connection of ours closed: the cluster has room again, ask at once next time.
            retryDelay = FIRST_RETRY;
            retryNotBeforeNanos = ticker.nanos();
            toWake = takeWakes();
        }
        lease.release();
        runAll(toWake);
    }

    /** Under the lock: gives back the ready leases nobody took within {@link #READY_FOR}. */
    private void dropStale(long nowNanos) {
        while (!ready.isEmpty() && nowNanos - ready.peekFirst().readyAtNanos >= READY_FOR.toNanos()) {
            Ready stale = ready.pollFirst();
            LOGGER.debug("A connection lease nobody took within {} is given back", READY_FOR);
            stale.permit.release();
        }
    }

    /** Under the lock. */
    private void scheduleExpiry() {
        if (expiryScheduled) {
            return;
        }
        expiryScheduled = true;
        scheduler.schedule(READY_FOR, () -> {
            synchronized (lock) {
                expiryScheduled = false;
                dropStale(ticker.nanos());
                if (!ready.isEmpty()) {
                    scheduleExpiry();
                }
            }
        });
    }

    /** Under the lock. */
    private List<Runnable> takeWakes() {
        if (wakes.isEmpty()) {
            return List.of();
        }
        List<Runnable> taken = new ArrayList<>(wakes);
        wakes.clear();
        return taken;
    }

    private static void runAll(List<Runnable> toWake) {
        for (Runnable wake : toWake) {
            try {
                wake.run();
            } catch (RuntimeException e) {
                LOGGER.warn("Waking a lane after a connection lease failed", e);
            }
        }
    }

    /** Connections open on this node, and leases granted and not taken yet. */
    @Override
    public int inUse() {
        synchronized (lock) {
            return open + ready.size();
        }
    }

    @Override
    public int peak() {
        synchronized (lock) {
            return peak;
        }
    }

    @Override
    public OptionalInt clusterInUse() {
        return source.clusterInUse();
    }

    @Override
    public int allowedNow(int cap) {
        return source.allowedNow(cap);
    }

    void refreshClusterCount() {
        source.refreshClusterCount();
    }

    @Override
    public String toString() {
        return "shared connection limit: " + inUse() + " on this node, " + clusterInUse();
    }

    private static final class Ready {
        final ConnectionPermit permit;
        final long readyAtNanos;

        Ready(ConnectionPermit permit, long readyAtNanos) {
            this.permit = permit;
            this.readyAtNanos = readyAtNanos;
        }
    }

    /** A lease taken by a connection; given back once. */
    private final class Opened implements ConnectionPermit {
        private final ConnectionPermit lease;
        private final AtomicBoolean released = new AtomicBoolean();

        Opened(ConnectionPermit lease) {
            this.lease = lease;
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) {
                closed(lease);
            }
        }
    }
}

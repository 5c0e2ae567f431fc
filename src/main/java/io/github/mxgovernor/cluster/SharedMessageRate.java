package io.github.mxgovernor.cluster;

import io.github.mxgovernor.flowcontrol.MessageBudget;

import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A destination's messages per hour counted across every node, without a store call per message: the node takes
 * tokens from the store in batches (a GCRA script on the server's clock, with a burst of its own) and hands them out
 * locally. A batch is the tokens the full rate gives in {@link StoreSettings#rateHorizon()} (at least 1, at most the
 * burst), and the node asks for more, in the background, when a quarter of it is left; it never holds more than one
 * batch, and tokens it did not use within the horizon are dropped, not hoarded. So over any stretch of time all nodes
 * together send at most what the rate and its burst allow, plus one batch per node.
 *
 * <p>While the store is away every call goes to this node's own rate of {@code messagesPerHour/N} (at least one an
 * hour), a local token bucket holding at most a minute's share of it.
 *
 * <p>Thread-safe; no method blocks or waits for the store.
 */
public final class SharedMessageRate implements MessageBudget {
    private static final double MICROS_PER_HOUR = 3_600_000_000.0;
    private static final int MAX_BATCH = 10_000;

    private final ClusterStore store;
    private final String destination;
    private final String key;
    private final long messagesPerHour;
    private final long burst;
    private final int batch;
    private final int lowWater;
    private final double intervalMicros;
    private final long horizonNanos;
    private final MessageBudget fallback;
    private final AtomicLong refills = new AtomicLong();
    private final AtomicLong granted = new AtomicLong();
    // Guarded by this.
    private int tokens;
    private long expiresAtNanos;
    private boolean refilling;
    private long notBeforeNanos;
    private long refillNanos = 1_000_000;

    SharedMessageRate(ClusterStore store, String destination, long messagesPerHour, long burst) {
        if (messagesPerHour < 1) {
            throw new IllegalArgumentException("messagesPerHour must be positive, was " + messagesPerHour);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("the burst must be positive, was " + burst);
        }
        this.store = store;
        this.destination = destination;
        this.messagesPerHour = messagesPerHour;
        this.burst = burst;
        // A changed rate or burst starts afresh rather than reading a state computed for another.
        this.key = store.key(destination, "rate:" + messagesPerHour + ":" + burst);
        this.batch = batchSize(messagesPerHour, burst, store.settings().rateHorizon());
        this.lowWater = batch / 4;
        this.intervalMicros = MICROS_PER_HOUR / messagesPerHour;
        this.horizonNanos = store.settings().rateHorizon().toNanos();
        this.fallback = new LocalRate(store.settings().rateShare(messagesPerHour), store.ticker());
        this.notBeforeNanos = store.ticker().nanos();
    }

    /** The tokens the full rate gives in {@code horizon}, at least 1, at most the burst (and 10,000). */
    static int batchSize(long messagesPerHour, long burst, Duration horizon) {
        double perHorizon = messagesPerHour * (horizon.toNanos() / 3_600_000_000_000.0);
        long size = (long) Math.ceil(perHorizon);
        return (int) Math.max(1, Math.min(Math.min(burst, MAX_BATCH), size));
    }

    @Override
    public boolean tryConsume() {
        if (!store.isUp()) {
            return fallback.tryConsume();
        }
        boolean taken;
        boolean refill;
        synchronized (this) {
            long now = store.ticker().nanos();
            dropExpired(now);
            taken = tokens > 0;
            if (taken) {
                tokens--;
            }
            refill = refillDue(now);
        }
        if (refill) {
            refill();
        }
        return taken;
    }

    @Override
    public void refund() {
        if (!store.isUp()) {
            fallback.refund();
            return;
        }
        synchronized (this) {
            long now = store.ticker().nanos();
            if (now - expiresAtNanos < 0 && tokens < batch) {
                tokens++;
            }
        }
    }

    @Override
    public Duration timeUntilToken() {
        if (!store.isUp()) {
            return fallback.timeUntilToken();
        }
        boolean refill;
        long wait;
        synchronized (this) {
            long now = store.ticker().nanos();
            dropExpired(now);
            if (tokens > 0) {
                return Duration.ZERO;
            }
            refill = refillDue(now);
            wait = refilling ? Math.max(refillNanos, 1_000_000) : Math.max(notBeforeNanos - now, 1_000_000);
        }
        if (refill) {
            refill();
        }
        return Duration.ofNanos(wait);
    }

    private void dropExpired(long now) {
        if (tokens > 0 && now - expiresAtNanos >= 0) {
            tokens = 0;
        }
    }

    /** Marks a refill in flight when one is due; call under the lock. */
    private boolean refillDue(long now) {
        if (refilling || tokens > lowWater || now - notBeforeNanos < 0) {
            return false;
        }
        refilling = true;
        return true;
    }

    private void refill() {
        int wanted;
        synchronized (this) {
            wanted = Math.max(1, batch - tokens);
        }
        long started = store.ticker().nanos();
        refills.incrementAndGet();
        store.link().<List<Object>>script(LuaScript.RATE_TAKE, ScriptOutputType.MULTI, new String[] {key},
            Double.toString(intervalMicros), Long.toString(burst), Integer.toString(wanted))
            .whenComplete((reply, failure) -> refilled(wanted, started, reply, failure));
    }

    private void refilled(int wanted, long started, List<Object> reply, Throwable failure) {
        synchronized (this) {
            refilling = false;
            long now = store.ticker().nanos();
            refillNanos = (refillNanos + (now - started)) / 2;
            if (failure != null) {
                // The store is DOWN now (or one call failed): the fallback answers; do not ask again at once.
                notBeforeNanos = now + store.settings().probeInterval().toNanos();
                return;
            }
            int got = ((Number) reply.get(0)).intValue();
            long waitMicros = ((Number) reply.get(1)).longValue();
            if (got > 0) {
                dropExpired(now);
                tokens = Math.min(batch, tokens + got);
                expiresAtNanos = now + horizonNanos;
                granted.addAndGet(got);
            }
            if (got < wanted) {
                // The cluster has used the rate up: come back when half a batch has accrued, not for every token.
                long accrue = (long) (Math.max(0, Math.max(1, batch / 2) - 1) * intervalMicros);
                notBeforeNanos = now + (waitMicros + accrue) * 1000;
            }
        }
    }

    public String destination() {
        return destination;
    }

    public long messagesPerHour() {
        return messagesPerHour;
    }

    /** Tokens taken from the store at a time (see the class comment). */
    public int batchSize() {
        return batch;
    }

    /** Store calls made for tokens since this budget was made. */
    public long refills() {
        return refills.get();
    }

    /** Tokens the store granted this node since this budget was made. */
    public long tokensGranted() {
        return granted.get();
    }

    @Override
    public String toString() {
        return destination + ": " + messagesPerHour + " an hour across the cluster, batches of " + batch;
    }
}

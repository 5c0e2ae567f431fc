package io.github.mxgovernor.cluster;

import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The connections of one destination counted across every node: a connection is opened only once a
 * {@link ConnectionLease} was granted, by one atomic script in the store (drop expired leases, count, add if under
 * the cap), so the cap holds across nodes whatever their number and timing. The same script shares the cap fairly:
 * a node refused at the cap while it holds less than its share ({@code cap/N}, at least one) is marked waiting, and
 * while a node waits, room that frees up goes to it rather than to a node that holds its share already; a node that
 * alone has mail to send still takes the whole cap.
 *
 * <p>While the store is away ({@link StoreState.Kind#DOWN}, or a call that did not answer within the deadline) this
 * node answers alone, from its share: it grants a lease only while it holds fewer than {@code cap/N} (at least one),
 * its connections from before the outage included. Those leases are registered in the store when it is back, with
 * the node's other leases; until the cluster's count is under the cap again, no node gets a new one.
 *
 * <p>Thread-safe; no method blocks.
 */
public final class SharedConnections {
    /**
     * How long a node refused at the cap while below its share counts as waiting: longer than the longest pause
     * between two acquisitions of a node that keeps asking, so a waiting node stays marked while it waits.
     */
    static final Duration WAITING_MARK = Duration.ofSeconds(3);

    private final ClusterStore store;
    private final String destination;
    private final String key;
    private final String waitingKey;
    /** This node's open connections to the destination, registered in the store or not yet. */
    private final Set<ConnectionLease> leases = new LinkedHashSet<>();
    private volatile int clusterCount = -1;

    SharedConnections(ClusterStore store, String destination) {
        this.store = store;
        this.destination = destination;
        this.key = store.key(destination, "leases");
        this.waitingKey = store.key(destination, "waiters");
    }

    public String destination() {
        return destination;
    }

    /**
     * Asks for a lease under {@code cap} connections across the cluster. Completes within the store's deadline
     * (at once while the store is away): with a lease, or with {@code null} when the cap (or, without the store, this
     * node's share of it) is reached. Completes on a store thread: hand further work to an executor of your own.
     */
    public CompletableFuture<ConnectionLease> acquire(int cap) {
        if (cap < 1) {
            return CompletableFuture.completedFuture(null);
        }
        ConnectionLease lease = new ConnectionLease(this, store.newLeaseId());
        if (!store.isUp()) {
            return CompletableFuture.completedFuture(fallback(lease, cap));
        }
        int held;
        synchronized (this) {
            held = leases.size();
        }
        CompletableFuture<List<Object>> taking = store.link().script(LuaScript.LEASE_ACQUIRE, ScriptOutputType.MULTI,
            new String[] {key, waitingKey}, Integer.toString(cap),
            Long.toString(store.settings().leaseTime().toMillis()), lease.id(), store.settings().nodeName(),
            Integer.toString(held), Integer.toString(store.settings().connectionShare(cap)),
            Long.toString(WAITING_MARK.toMillis()));
        return taking.handle((reply, failure) -> {
            if (failure != null) {
                return fallback(lease, cap);
            }
            clusterCount = ((Number) reply.get(1)).intValue();
            if (((Number) reply.get(0)).intValue() != 1) {
                return null;
            }
            synchronized (this) {
                leases.add(lease);
            }
            return lease;
        });
    }

    /** Answers from this node's share; a lease refused here may still have reached the store: it is taken back. */
    private ConnectionLease fallback(ConnectionLease lease, int cap) {
        synchronized (this) {
            if (leases.size() < store.settings().connectionShare(cap)) {
                leases.add(lease);
                return lease;
            }
        }
        store.forgetLease(key, lease.id());
        return null;
    }

    /**
     * How many connections this node may hold now under {@code cap}: the cap while the store is up (the store says
     * whether one more may open), this node's share while it is away. A node holding more than this (connections it
     * had when the store went away) should close those above it after their current mail, as for a lowered cap.
     */
    public int allowedNow(int cap) {
        return store.isUp() ? cap : store.settings().connectionShare(cap);
    }

    /** This node's open connections to the destination. */
    public synchronized int inUse() {
        return leases.size();
    }

    /** The cluster's count as last seen (by an acquisition, a renewal or {@link #countCluster()}); empty before. */
    public OptionalInt clusterInUse() {
        int count = clusterCount;
        return count < 0 ? OptionalInt.empty() : OptionalInt.of(count);
    }

    /** Reads the cluster's count of live leases now; fails with a {@link StoreException} while the store is away. */
    public CompletableFuture<Integer> countCluster() {
        return store.link().<Long>script(LuaScript.LEASE_COUNT, ScriptOutputType.INTEGER, new String[] {key})
            .thenApply(count -> {
                clusterCount = count.intValue();
                return clusterCount;
            });
    }

    void released(ConnectionLease lease) {
        synchronized (this) {
            if (!leases.remove(lease)) {
                return;
            }
            // Under the lock, so that a renewal sent before this removal cannot register the lease again after it.
            store.forgetLease(key, lease.id());
        }
    }

    /**
     * Renews every lease of this node on the destination in one call, registering again those the store lost; no call
     * when there is none. Sent under the lock so that it travels before any later release.
     */
    CompletableFuture<Void> renew() {
        CompletableFuture<List<Object>> renewing;
        synchronized (this) {
            if (leases.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            List<String> args = new ArrayList<>(leases.size() + 1);
            args.add(Long.toString(store.settings().leaseTime().toMillis()));
            for (ConnectionLease lease : leases) {
                args.add(lease.id());
            }
            renewing = store.link().script(LuaScript.LEASE_RENEW, ScriptOutputType.MULTI, new String[] {key},
                args.toArray(new String[0]));
        }
        return renewing.thenAccept(reply -> {
            long registered = ((Number) reply.get(0)).longValue();
            clusterCount = ((Number) reply.get(1)).intValue();
            if (registered > 0) {
                store.leasesRegisteredAgain(destination, registered);
            }
        });
    }

    /** Takes every lease of this node out of the store in one call (the node stops). */
    CompletableFuture<Long> releaseAllOnClose() {
        String[] ids;
        synchronized (this) {
            if (leases.isEmpty()) {
                return CompletableFuture.completedFuture(0L);
            }
            ids = leases.stream().map(ConnectionLease::id).toArray(String[]::new);
            leases.clear();
        }
        return store.link().call("releasing leases", c -> c.zrem(key, ids));
    }

    synchronized boolean isIdle() {
        return leases.isEmpty();
    }

    @Override
    public String toString() {
        return destination + ": " + inUse() + " connections of this node, " + clusterInUse().stream()
            .mapToObj(Integer::toString).findFirst().orElse("?") + " in the cluster";
    }
}

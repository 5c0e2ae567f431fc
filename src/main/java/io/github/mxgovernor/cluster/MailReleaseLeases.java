package io.github.mxgovernor.cluster;

import io.github.mxgovernor.waiting.ReleaseLeases;

import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The release leases of a waiting place shared by several nodes (one repository, James's distributed server): before a
 * node puts a waiting mail back on the queue it takes the mail's lease in the store,
 * {@code <storeKeyPrefix>:{<mail key>}:release}, a string holding this node's name and incarnation that Redis expires
 * by itself after the lease time (default 60 s, far longer than one release: a read, an enqueue, a removal), so a node
 * that dies holding one blocks that mail for at most that long. One script takes it (free, or already this holder's);
 * another gives it back only if this holder holds it. The node that gets it finds the mail, puts it on the queue and
 * removes it; a node that gets it later finds the mail gone, and forgets it.
 *
 * <p><b>While the store is away</b> ({@link StoreState.Kind#DOWN}, or no answer within {@link StoreSettings#timeout()})
 * a node releases only the mails it stored itself since it started: no other node knows of those unless it rescanned
 * the repository since, and a node that has the store away too releases nothing but its own. Mails found in the
 * repository (at start, or stored by another node) wait until the store is back. A node cut off from a store the other
 * nodes still reach may put one of its own mails on the queue while another node, holding the lease, does the same:
 * the one case where a mail can go on the queue twice.
 *
 * <p>{@link #tryAcquire} waits for the store at most its deadline (it runs on the release loop's thread, never on a
 * delivery thread); {@link #release} does not wait. Thread-safe.
 */
public final class MailReleaseLeases implements ReleaseLeases {
    /** How long a node's lease on one mail lasts unless given back. */
    public static final Duration LEASE_TIME = Duration.ofSeconds(60);

    private final ClusterStore store;
    private final String holder;
    private final String leaseMillis;

    private MailReleaseLeases(ClusterStore store, Duration leaseTime) {
        this.store = Objects.requireNonNull(store, "store");
        if (leaseTime.toMillis() < 1) {
            throw new IllegalArgumentException("the release lease time must be at least 1 ms, was " + leaseTime);
        }
        this.holder = store.newLeaseId();
        this.leaseMillis = Long.toString(leaseTime.toMillis());
    }

    /** The release leases of one waiting place on {@code store}, each held for {@link #LEASE_TIME} at most. */
    public static MailReleaseLeases on(ClusterStore store) {
        return new MailReleaseLeases(store, LEASE_TIME);
    }

    /** The same with a lease time of its own (tests: a dead node's lease expiring soon). */
    public static MailReleaseLeases on(ClusterStore store, Duration leaseTime) {
        return new MailReleaseLeases(store, leaseTime);
    }

    @Override
    public boolean tryAcquire(String key, boolean storedHere) {
        if (!store.isUp()) {
            return storedHere;
        }
        CompletableFuture<Long> taking = store.link().script(LuaScript.RELEASE_TAKE, ScriptOutputType.INTEGER,
            new String[] {leaseKey(key)}, holder, leaseMillis);
        try {
            // The link's own deadline ends the call; this one only guards against a future never completed.
            return taking.get(store.settings().timeout().toMillis() * 2 + 100, TimeUnit.MILLISECONDS) == 1L;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return storedHere;
        }
    }

    @Override
    public void release(String key) {
        if (!store.isUp()) {
            // it expires by itself; the mail it guarded is gone from the repository, or waits for the next try
            return;
        }
        store.link().script(LuaScript.RELEASE_GIVE, ScriptOutputType.INTEGER, new String[] {leaseKey(key)}, holder);
    }

    String leaseKey(String mailKey) {
        return store.key(mailKey, "release");
    }

    @Override
    public String toString() {
        return "release leases in " + store.settings().address() + " as " + holder;
    }
}

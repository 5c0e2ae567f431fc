package io.github.mxgovernor.governor;

import java.util.OptionalInt;

/**
 * How many connections a destination has open, as operators read it: on this node, at most, and, when its cap is
 * counted across a cluster, on every node. Reading never waits and never calls the cluster store.
 */
public interface ConnectionCount {
    /** Connections this node has open now (or is about to open), idle ones included. */
    int inUse();

    /** The most connections this node had open at once since the destination was first used. */
    int peak();

    /**
     * Connections open on every node, as the cluster store last said (a connection taken or renewed, or a periodic
     * count, see {@link Destination#refreshClusterCount()}); empty for a cap this node counts alone, and before the
     * store was first asked.
     */
    OptionalInt clusterInUse();

    /**
     * How many connections this node may hold now under {@code cap}: the cap itself, or, while the cluster store is
     * unreachable, this node's share of a cluster-wide cap ({@code cap/storeNodes}, at least one).
     */
    int allowedNow(int cap);
}

package io.github.mxgovernor.james.jmx;

import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.governor.Destination;

/**
 * One row of {@link GovernorMXBean#destinations()}: a destination at a glance. A JMX client sees it as a
 * {@code CompositeData} whose items are named after the getters ({@code destination}, {@code state}, ...).
 */
public final class DestinationRow {
    private final String destination;
    private final String rule;
    private final String state;
    private final String until;
    private final String cause;
    private final int activeConnections;
    private final int connectionsAllowedNow;
    private final int clusterConnections;
    private final int maxConnections;
    private final long messagesLastHour;
    private final long delivered;
    private final long deferred;
    private final long bounced;
    private final long failed;
    private final String lastReply;

    DestinationRow(Destination tracked) {
        FlowControlStatus status = tracked.flowControlStatus();
        this.destination = tracked.name();
        this.rule = status.rule();
        this.state = status.state().name();
        this.until = DestinationBean.text(status.until());
        this.cause = status.cause().toString();
        this.activeConnections = tracked.connections().inUse();
        this.connectionsAllowedNow = tracked.connectionsAllowedNow();
        this.clusterConnections = tracked.connections().clusterInUse().orElse(-1);
        this.maxConnections = tracked.rule().maxConnections();
        this.messagesLastHour = tracked.messagesLastHour();
        this.delivered = tracked.stats().delivered();
        this.deferred = tracked.stats().deferred();
        this.bounced = tracked.stats().bounced();
        this.failed = tracked.stats().failedAttempts();
        this.lastReply = tracked.lastReply().map(reply -> reply.reply().toString()).orElse("");
    }

    public String getDestination() {
        return destination;
    }

    public String getRule() {
        return rule;
    }

    /** NORMAL, BACKOFF or SUSPENDED. */
    public String getState() {
        return state;
    }

    /** When the state ends by time (ISO-8601); empty if it does not. */
    public String getUntil() {
        return until;
    }

    /** Why the destination is in its state. */
    public String getCause() {
        return cause;
    }

    public int getActiveConnections() {
        return activeConnections;
    }

    public int getConnectionsAllowedNow() {
        return connectionsAllowedNow;
    }

    /**
     * Connections open to the destination on every node sharing the cluster store, as last counted; -1 when its cap
     * is this node's own (no store, or a rule of {@code clusterScope="node"}) or before the first count.
     */
    public int getClusterConnections() {
        return clusterConnections;
    }

    /** The rule's connection quota. */
    public int getMaxConnections() {
        return maxConnections;
    }

    public long getMessagesLastHour() {
        return messagesLastHour;
    }

    /** Recipients delivered; the counters mean what the Destination bean's of the same names do. */
    public long getDelivered() {
        return delivered;
    }

    /** Recipients deferred, every reason. */
    public long getDeferred() {
        return deferred;
    }

    /** Recipients bounced. */
    public long getBounced() {
        return bounced;
    }

    /** Failed attempts, every cause. */
    public long getFailed() {
        return failed;
    }

    /** The last reply of the destination's servers, as sent; empty if none yet. */
    public String getLastReply() {
        return lastReply;
    }
}

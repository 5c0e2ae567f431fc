package io.github.mxgovernor.james.jmx;

import java.util.Map;

/**
 * One destination, registered as {@code io.github.mxgovernor:type=Destination,name=<destination>} while it is
 * active: it had mail within the last ten minutes, has connections open, or is not in NORMAL flow control. Open
 * types only. Times are ISO-8601 instants (UTC), empty when there is none; the counters ({@link CountersMXBean})
 * count what happened at this destination since it was first used (or last forgotten).
 */
public interface DestinationMXBean extends CountersMXBean {
    /** {@code mx1.example.com}, {@code shared:google} (a rule's shared limits) or {@code rule/host}. */
    String getName();

    /** The MX rule whose limits apply. */
    String getRule();

    /** Where that rule is written: {@code mx-rules.xml:12}, or {@code built-in}. */
    String getRuleSource();

    /** {@code per-mx} or {@code shared}, as the rules file writes the scope. */
    String getLimitScope();

    /** The rule's TLS mode. */
    String getTlsMode();

    /** The rule's connection quota. */
    int getMaxConnections();

    /**
     * Connections this node may have open now: the quota lowered by flow control (0 while suspended), and, while the
     * cluster store is unreachable, this node's share of a cluster-wide quota ({@code 1/storeNodes}, at least 1).
     */
    int getConnectionsAllowedNow();

    /**
     * Connections open to the destination on every node sharing the cluster store, as last counted (the count is
     * refreshed in the background every few seconds, never during this call); -1 when the quota is this node's own
     * or before the first count.
     */
    int getClusterConnections();

    /**
     * {@code cluster} when the destination's quota, rate and flow control are shared through the cluster store;
     * {@code node} when they are this node's own (no store, or the rule says {@code clusterScope="node"}).
     */
    String getClusterScope();

    /** Connections open now, idle ones kept for reuse included. */
    int getActiveConnections();

    /** The most connections open at once since the destination was first used. */
    int getPeakConnections();

    /** The rule's mails per connection. */
    int getMaxMessagesPerConnection();

    /** The rule's messages per hour; 0 when unlimited. */
    long getMessagesPerHour();

    /** Messages sent within about the last hour (counted in ten-minute steps). */
    long getMessagesLastHour();

    /** {@code NORMAL}, {@code BACKOFF} or {@code SUSPENDED}. */
    String getFlowControlState();

    /** {@code AUTOMATIC} (a trigger, or time) or {@code OPERATOR}. */
    String getFlowControlOrigin();

    String getFlowControlSince();

    /** When the state ends by time; empty for NORMAL and for a backoff that ends by probes. */
    String getFlowControlUntil();

    /** Why: the trigger and where it is written, and the reply that fired it. */
    String getFlowControlCause();

    /** The limits in force now, in words. */
    String getLimitsInForce();

    /** The last reply the destination's servers gave a mail, as sent ({@code 421 4.7.0 Try again later}). */
    String getLastReply();

    String getLastReplyAt();

    /** When mail was last routed to the destination or one of its connections closed. */
    String getLastActivity();

    /**
     * Sessions by TLS outcome: opened {@code VERIFIED} (PKIX or DANE), {@code ENCRYPTED} (unverified) and
     * {@code PLAINTEXT}; {@code FAILED}, attempts in which the TLS policy could not be met (the same count as
     * {@code FailedByCause} {@code TLS_POLICY_FAILURE}); and {@code MTA_STS_TESTING_FAILED}, sessions that carried mail
     * for a domain whose MTA-STS {@code testing} policy {@code enforce} would have refused there (once per session and
     * domain).
     */
    Map<String, Long> getTlsOutcomes();
}

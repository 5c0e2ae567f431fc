package io.github.mxgovernor.james.jmx;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.DestinationStats;
import io.github.mxgovernor.governor.ObservedReply;
import io.github.mxgovernor.governor.TlsOutcome;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The {@link DestinationMXBean} of one tracked destination; reads its live state on every call. */
final class DestinationBean extends CountersView implements DestinationMXBean {
    private final Destination destination;

    DestinationBean(Destination destination) {
        this.destination = destination;
    }

    Destination destination() {
        return destination;
    }

    @Override
    public String getName() {
        return destination.name();
    }

    @Override
    public String getRule() {
        return destination.rule().name();
    }

    @Override
    public String getRuleSource() {
        return destination.rule().source();
    }

    @Override
    public String getLimitScope() {
        return destination.rule().limitScope().configValue();
    }

    @Override
    public String getTlsMode() {
        return destination.rule().tlsMode().name();
    }

    @Override
    public int getMaxConnections() {
        return destination.rule().maxConnections();
    }

    @Override
    public int getConnectionsAllowedNow() {
        return destination.connectionsAllowedNow();
    }

    @Override
    public int getClusterConnections() {
        return destination.connections().clusterInUse().orElse(-1);
    }

    @Override
    public String getClusterScope() {
        return destination.isClusterWide() ? ClusterScope.CLUSTER.configValue() : ClusterScope.NODE.configValue();
    }

    @Override
    public int getActiveConnections() {
        return destination.connections().inUse();
    }

    @Override
    public int getPeakConnections() {
        return destination.connections().peak();
    }

    @Override
    public int getMaxMessagesPerConnection() {
        return destination.rule().maxMessagesPerConnection();
    }

    @Override
    public long getMessagesPerHour() {
        return destination.rule().messagesPerHour().orElse(0);
    }

    @Override
    public long getMessagesLastHour() {
        return destination.messagesLastHour();
    }

    @Override
    public String getFlowControlState() {
        return destination.flowControlStatus().state().name();
    }

    @Override
    public String getFlowControlOrigin() {
        return destination.flowControlStatus().origin().name();
    }

    @Override
    public String getFlowControlSince() {
        return destination.flowControlStatus().since().toString();
    }

    @Override
    public String getFlowControlUntil() {
        return text(destination.flowControlStatus().until());
    }

    @Override
    public String getFlowControlCause() {
        return destination.flowControlStatus().cause().toString();
    }

    @Override
    public String getLimitsInForce() {
        return destination.flowControlStatus().limitsInForce();
    }

    @Override
    public String getLastReply() {
        return destination.lastReply().map(reply -> reply.reply().toString()).orElse("");
    }

    @Override
    public String getLastReplyAt() {
        return text(destination.lastReply().map(ObservedReply::at));
    }

    @Override
    public String getLastActivity() {
        return destination.lastActivity().toString();
    }

    @Override
    DestinationStats stats() {
        return destination.stats();
    }

    @Override
    public Map<String, Long> getTlsOutcomes() {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (TlsOutcome outcome : TlsOutcome.values()) {
            counts.put(outcome.name(), destination.stats().tlsCount(outcome));
        }
        return counts;
    }

    static String text(Optional<Instant> instant) {
        return instant.map(Instant::toString).orElse("");
    }
}

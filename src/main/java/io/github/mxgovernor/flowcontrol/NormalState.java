package io.github.mxgovernor.flowcontrol;

import java.util.Optional;

/** The rule's own limits. */
final class NormalState extends FlowState {
    NormalState(long sinceMillis, FlowCause cause, Origin origin) {
        super(sinceMillis, OPEN_ENDED, cause, origin);
    }

    @Override
    public Kind kind() {
        return Kind.NORMAL;
    }

    @Override
    Optional<DeliveryLimits> limits(DeliveryLimits normal) {
        return Optional.of(normal);
    }

    @Override
    int maxConnections(DeliveryLimits normal) {
        return normal.maxConnections();
    }

    @Override
    int maxMessagesPerConnection(DeliveryLimits normal) {
        return normal.maxMessagesPerConnection();
    }

    @Override
    MessageBudget budget(MessageBudget normal) {
        return normal;
    }
}

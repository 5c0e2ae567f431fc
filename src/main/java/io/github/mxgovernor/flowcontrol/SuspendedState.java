package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
import java.util.Optional;

/** No attempt until {@link #endMillis}. */
final class SuspendedState extends FlowState {
    private static final MessageBudget NO_BUDGET = new MessageBudget() {
        @Override
        public boolean tryConsume() {
            return false;
        }

        @Override
        public void refund() {
        }

        @Override
        public Duration timeUntilToken() {
            return Duration.ZERO;
        }
    };

    SuspendedState(long sinceMillis, long endMillis, FlowCause cause, Origin origin) {
        super(sinceMillis, endMillis, cause, origin);
    }

    @Override
    public Kind kind() {
        return Kind.SUSPENDED;
    }

    @Override
    Optional<DeliveryLimits> limits(DeliveryLimits normal) {
        return Optional.empty();
    }

    @Override
    int maxConnections(DeliveryLimits normal) {
        return 0;
    }

    @Override
    int maxMessagesPerConnection(DeliveryLimits normal) {
        return 0;
    }

    @Override
    MessageBudget budget(MessageBudget normal) {
        return NO_BUDGET;
    }
}

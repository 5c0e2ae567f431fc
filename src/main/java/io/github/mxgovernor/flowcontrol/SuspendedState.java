package io.github.mxgovernor.flowcontrol;

import java.time.Duration;
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
    DeliveryLimits limitsIn(DeliveryLimits normal) {
        return null;
    }

    @Override
    MessageBudget budget(MessageBudget normal) {
        return NO_BUDGET;
    }
}

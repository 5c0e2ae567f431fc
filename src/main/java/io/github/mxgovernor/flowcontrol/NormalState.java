package io.github.mxgovernor.flowcontrol;

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
    DeliveryLimits limitsIn(DeliveryLimits normal) {
        return normal;
    }

    @Override
    MessageBudget budget(MessageBudget normal) {
        return normal;
    }
}

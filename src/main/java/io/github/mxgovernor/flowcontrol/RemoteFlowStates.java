package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.cluster.SharedFlowState;

import java.time.Instant;
import java.util.function.Function;

/** A flow state as the cluster store holds it, and back: what {@link FlowControl} publishes and adopts. */
final class RemoteFlowStates {
    private RemoteFlowStates() {
    }

    /** The state this node entered, to publish. */
    static SharedFlowState toShared(String destination, FlowState state) {
        FlowCause cause = state.cause();
        SharedFlowState.Builder shared = SharedFlowState.builder(destination, state.kind()).origin(state.origin())
            .since(Instant.ofEpochMilli(state.sinceMillis))
            .cause(cause.kind(), cause.description(), cause.source().orElse(null), cause.reply().orElse(null));
        if (state.endMillis != FlowState.OPEN_ENDED) {
            shared.until(Instant.ofEpochMilli(state.endMillis));
        }
        if (state instanceof BackoffState) {
            DeliveryLimits limits = ((BackoffState) state).limits;
            shared.limits(new SharedFlowState.Limits(limits.maxConnections(), limits.maxMessagesPerConnection(),
                limits.messagesPerHour()));
        }
        return shared.build();
    }

    /** Whether {@code local} is the state {@code remote} describes (this node's own, heard back, or adopted already). */
    static boolean same(FlowState local, SharedFlowState remote) {
        return local.kind() == remote.kind() && local.sinceMillis == remote.since().toEpochMilli()
            && local.endMillis == end(remote);
    }

    /** Whether a remote state ended before {@code nowMillis}: a NORMAL never does. */
    static boolean isOver(SharedFlowState remote, long nowMillis) {
        return remote.kind() != FlowState.Kind.NORMAL && end(remote) <= nowMillis;
    }

    static long end(SharedFlowState remote) {
        return remote.until().map(Instant::toEpochMilli).orElse(FlowState.OPEN_ENDED);
    }

    /** The remote state's cause, saying which node it comes from. */
    static FlowCause cause(SharedFlowState remote) {
        String node = remote.node() == null || remote.node().isEmpty() ? "" : " (from node " + remote.node() + ")";
        return new FlowCause(remote.causeKind(), remote.description() + node, remote.source().orElse(null),
            remote.reply().orElse(null));
    }

    /**
     * The state a node takes for {@code remote}: its kind, times, origin and cause; a backoff with the limits it
     * carries (never above the rule's own), the budget {@code budgetFor} makes for them, and the policy's probes unless
     * an operator set it (an operator's backoff ends by time only).
     */
    static FlowState adopted(SharedFlowState remote, DeliveryLimits normal, FlowControlPolicy policy,
                             Function<DeliveryLimits, MessageBudget> budgetFor) {
        FlowCause cause = cause(remote);
        long since = remote.since().toEpochMilli();
        long end = end(remote);
        switch (remote.kind()) {
            case NORMAL:
                return new NormalState(since, cause, remote.origin());
            case SUSPENDED:
                return new SuspendedState(since, end, cause, remote.origin());
            default:
                DeliveryLimits limits = limits(remote, normal, policy);
                return new BackoffState(since, end, cause, remote.origin(), limits, budgetFor.apply(limits),
                    remote.origin() == FlowState.Origin.OPERATOR ? 0 : policy.recovery().probes());
        }
    }

    /** The backoff limits a remote BACKOFF carries, never above the rule's own; the policy's when it carries none. */
    static DeliveryLimits limits(SharedFlowState remote, DeliveryLimits normal, FlowControlPolicy policy) {
        return remote.limits().map(limits -> new DeliveryLimits(limits.maxConnections(),
            limits.maxMessagesPerConnection(), limits.messagesPerHour()).tightest(normal))
            .orElseGet(() -> policy.backoff().applyTo(normal));
    }
}

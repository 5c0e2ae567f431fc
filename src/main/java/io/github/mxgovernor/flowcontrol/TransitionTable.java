package io.github.mxgovernor.flowcontrol;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/** Which kind of state each {@link FlowControl.Transition} may go to from each kind of state. Immutable. */
final class TransitionTable {
    private static final Map<FlowControl.Transition, Map<FlowState.Kind, Set<FlowState.Kind>>> ALLOWED = build();

    private TransitionTable() {
    }

    static boolean isAllowed(FlowControl.Transition transition, FlowState.Kind from, FlowState.Kind to) {
        return ALLOWED.get(transition).get(from).contains(to);
    }

    private static Map<FlowControl.Transition, Map<FlowState.Kind, Set<FlowState.Kind>>> build() {
        FlowState.Kind normal = FlowState.Kind.NORMAL;
        FlowState.Kind backoff = FlowState.Kind.BACKOFF;
        FlowState.Kind suspended = FlowState.Kind.SUSPENDED;
        Map<FlowControl.Transition, Map<FlowState.Kind, Set<FlowState.Kind>>> table =
            new EnumMap<>(FlowControl.Transition.class);
        // A trigger only ever makes things stricter: a backoff can tighten or extend, never lift a suspension.
        table.put(FlowControl.Transition.TRIGGER, row(EnumSet.of(backoff, suspended), EnumSet.of(backoff, suspended),
            EnumSet.of(suspended)));
        table.put(FlowControl.Transition.EXPIRY, row(EnumSet.noneOf(FlowState.Kind.class), EnumSet.of(normal),
            EnumSet.of(backoff, normal)));
        table.put(FlowControl.Transition.PROBES, row(EnumSet.noneOf(FlowState.Kind.class), EnumSet.of(normal),
            EnumSet.noneOf(FlowState.Kind.class)));
        Set<FlowState.Kind> any = EnumSet.allOf(FlowState.Kind.class);
        table.put(FlowControl.Transition.OPERATOR, row(any, any, any));
        // The cluster store decided which state is in force (by the same precedence as here): it is taken as it is.
        table.put(FlowControl.Transition.REMOTE, row(any, any, any));
        return table;
    }

    private static Map<FlowState.Kind, Set<FlowState.Kind>> row(Set<FlowState.Kind> fromNormal,
                                                                Set<FlowState.Kind> fromBackoff,
                                                                Set<FlowState.Kind> fromSuspended) {
        Map<FlowState.Kind, Set<FlowState.Kind>> row = new EnumMap<>(FlowState.Kind.class);
        row.put(FlowState.Kind.NORMAL, fromNormal);
        row.put(FlowState.Kind.BACKOFF, fromBackoff);
        row.put(FlowState.Kind.SUSPENDED, fromSuspended);
        return row;
    }
}

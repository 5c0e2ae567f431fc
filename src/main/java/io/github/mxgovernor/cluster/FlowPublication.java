package io.github.mxgovernor.cluster;

/**
 * What became of a state handed to {@link SharedFlowStates#publish}: written for every node, refused because the
 * state in force wins (which is then given), or kept to be published when the store is back.
 */
public final class FlowPublication {
    /** The three outcomes. */
    public enum Outcome {
        /** Written and announced; {@link #state()} is it, with its node and version. */
        PUBLISHED,
        /** The state in force wins (an operator's, a stricter or longer one, or a newer one); {@link #state()} is it. */
        REFUSED,
        /** The store is away: kept, and published when it is back; {@link #state()} is the state as given. */
        PENDING
    }

    private final Outcome outcome;
    private final SharedFlowState state;

    FlowPublication(Outcome outcome, SharedFlowState state) {
        this.outcome = outcome;
        this.state = state;
    }

    public Outcome outcome() {
        return outcome;
    }

    public SharedFlowState state() {
        return state;
    }

    @Override
    public String toString() {
        return outcome + ": " + state;
    }
}

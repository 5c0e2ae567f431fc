package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.cluster.SharedFlowState;

import java.time.Duration;

/**
 * What a destination's flow control shares with the other nodes, if anything: the counts its triggers read, and the
 * states it enters. {@link #LOCAL} shares nothing (one node, or a rule whose {@code clusterScope} is {@code node});
 * the governor gives a destination whose limits are cluster-wide one backed by the cluster store.
 */
public interface FlowSharing {
    /** This node's own counts; nothing published. */
    FlowSharing LOCAL = new FlowSharing() {
        @Override
        public AttemptCounts counts(String name, Duration window) {
            return new SlidingCounts(window);
        }

        @Override
        public void publish(SharedFlowState state) {
            // one node: nobody to tell
        }

        @Override
        public String toString() {
            return "local";
        }
    };

    /**
     * The counts named {@code name} ({@code errors} for the error-rate window, {@code response-<n>-<source>} for the
     * n-th response rule; letters, digits and {@code -:._} only) over {@code window}.
     */
    AttemptCounts counts(String name, Duration window);

    /**
     * A state this node's machine entered, for every node: a trigger fired, probes ended a backoff, an operator acted,
     * or a suspension ended into its half-open backoff. Never a state adopted from another node. Must not block.
     */
    void publish(SharedFlowState state);
}

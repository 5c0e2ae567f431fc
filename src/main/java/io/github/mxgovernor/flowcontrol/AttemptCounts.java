package io.github.mxgovernor.flowcontrol;

/**
 * Attempts and failures counted over a sliding time window, for an error-rate trigger or a response rule's
 * threshold: this node's own ({@link SlidingCounts}), or every node's through the cluster store. Totals are packed,
 * events in the high 32 bits and failures in the low. Thread-safe; {@link #add} does not allocate.
 */
public interface AttemptCounts {
    /** Counts one attempt at {@code nowMillis}, a failure or not. */
    void add(long nowMillis, boolean failure);

    /** The totals within the window ending about {@code nowMillis}, packed. */
    long totals(long nowMillis);

    /** Forgets every count (a trigger fired, or an operator reset the destination). */
    void clear();
}

package io.github.mxgovernor.james.jmx;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * How one governed mailet takes mail from its queue: one row of {@link GovernorMXBean#getDequeueStates()}, which a JMX
 * client sees as a {@code CompositeData} whose items are named after the getters ({@code queue}, {@code state}, ...).
 */
public final class DequeueRow {
    /** RUNNING: taking mail. RECOVERING: the dequeue stream failed or ended; subscribing again after a wait. */
    public enum State { RUNNING, RECOVERING, STOPPING, STOPPED }

    private final String queue;
    private final String state;
    private final String since;
    private final long errors;
    private final String lastError;
    private final String lastErrorAt;
    private final int inFlight;

    public DequeueRow(String queue, State state, Instant since, long errors, Optional<String> lastError,
                      Optional<Instant> lastErrorAt, int inFlight) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.state = state.name();
        this.since = since.toString();
        this.errors = errors;
        this.lastError = lastError.orElse("");
        this.lastErrorAt = lastErrorAt.map(Instant::toString).orElse("");
        this.inFlight = inFlight;
    }

    /** The queue's name ({@code outgoing}). */
    public String getQueue() {
        return queue;
    }

    /** RUNNING, RECOVERING, STOPPING or STOPPED. */
    public String getState() {
        return state;
    }

    /** Since when the state holds (ISO-8601, UTC). */
    public String getSince() {
        return since;
    }

    /** Failures of the dequeue stream since the mailet started. */
    public long getErrors() {
        return errors;
    }

    /** The last failure of the dequeue stream; empty if none. */
    public String getLastError() {
        return lastError;
    }

    /** When the last failure happened (ISO-8601, UTC); empty if none. */
    public String getLastErrorAt() {
        return lastErrorAt;
    }

    /** Mails taken from the queue and not yet ended. */
    public int getInFlight() {
        return inFlight;
    }

    @Override
    public String toString() {
        return queue + " " + state + " since " + since + ", " + errors + " errors" + (lastError.isEmpty() ? ""
            : " (last at " + lastErrorAt + ": " + lastError + ")") + ", " + inFlight + " in flight";
    }
}

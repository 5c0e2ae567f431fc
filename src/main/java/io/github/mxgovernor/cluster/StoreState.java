package io.github.mxgovernor.cluster;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether the cluster store can be used now, since when, and the last error it gave. An open, serialisable value.
 * Immutable.
 */
public final class StoreState implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The two states of the store as this node sees it. */
    public enum Kind {
        /** Reachable: shared limits are counted in the store. */
        UP,
        /** Unreachable (or refusing us): every shared limit falls back to this node's share. */
        DOWN
    }

    private final Kind kind;
    private final Instant since;
    private final String lastError;
    private final Instant lastErrorAt;

    StoreState(Kind kind, Instant since, String lastError, Instant lastErrorAt) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.since = Objects.requireNonNull(since, "since");
        this.lastError = lastError;
        this.lastErrorAt = lastErrorAt;
    }

    public Kind kind() {
        return kind;
    }

    public boolean isUp() {
        return kind == Kind.UP;
    }

    public Instant since() {
        return since;
    }

    /** The last error the store gave, UP or DOWN (an UP store may have refused one call). */
    public Optional<String> lastError() {
        return Optional.ofNullable(lastError);
    }

    public Optional<Instant> lastErrorAt() {
        return Optional.ofNullable(lastErrorAt);
    }

    @Override
    public String toString() {
        return kind + " since " + since + (lastError == null ? "" : " (last error at " + lastErrorAt + ": "
            + lastError + ")");
    }
}

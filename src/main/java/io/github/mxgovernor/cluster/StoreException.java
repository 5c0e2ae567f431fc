package io.github.mxgovernor.cluster;

/**
 * A store call that failed, with a message for operators that names the store (never its credentials) and what
 * failed, starting {@code Cluster store <address>}. {@link #kind()} says whether the store is away, refuses us, or
 * failed one command.
 */
public final class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** Not connected, the connection broke, or no answer within the deadline. */
        UNREACHABLE,
        /** The store answered but will not serve us: credentials refused, no permission, out of memory, loading. */
        REFUSED,
        /**
         * One command or script failed on the server, which is otherwise there: a script error, or a key of the wrong
         * type (something else wrote it). The store stays UP; that call is answered from this node's share.
         */
        COMMAND
    }

    private final Kind kind;

    StoreException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}

package io.github.mxgovernor.cluster;

/**
 * A store call that failed, with a message for operators that names the store (never its credentials) and what
 * failed. {@link #kind()} says whether the store is away, refused us, or one script failed.
 */
public final class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** Not connected, the connection broke, or no answer within the deadline. */
        UNREACHABLE,
        /** The store answered but will not serve us: credentials refused, no permission, out of memory, loading. */
        REFUSED,
        /** One of our scripts failed on the server (a bug, or a server that lacks what the script needs). */
        SCRIPT
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

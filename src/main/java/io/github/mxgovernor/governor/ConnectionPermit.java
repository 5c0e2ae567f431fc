package io.github.mxgovernor.governor;

/**
 * One connection counted against a destination's cap, from the moment it was granted until it is given back through
 * {@link Destination#connectionClosed(ConnectionPermit)} (the connection closed, or was never opened).
 */
@FunctionalInterface
public interface ConnectionPermit {
    /** Gives the connection back to its limit; call it once. */
    void release();
}

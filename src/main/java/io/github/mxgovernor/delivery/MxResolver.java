package io.github.mxgovernor.delivery;

/**
 * Finds where mail for a recipient domain goes: the MX hosts in preference order and their addresses, or a
 * gateway. Implementations may block (DNS); they are called on the delivering thread, never under a lock.
 */
public interface MxResolver {
    MxResolution resolve(String recipientDomain);
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.governor.Governor;

import java.time.Clock;

/**
 * The one {@link Governor} of a JVM, shared by every governed mailet so that caps hold across mailet
 * instances. Reference-counted: the last mailet destroyed drops it, so a James restarted in the same JVM
 * (tests) starts from clean counters.
 */
final class SharedGovernor {
    private static Governor governor;
    private static int users;

    private SharedGovernor() {
    }

    static synchronized Governor acquire() {
        if (governor == null) {
            governor = new Governor(Clock.systemUTC());
        }
        users++;
        return governor;
    }

    static synchronized void release() {
        if (users > 0 && --users == 0) {
            governor = null;
        }
    }
}

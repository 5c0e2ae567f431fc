package io.github.mxgovernor.james.jmx;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The MX rules files the governed mailets run under, as the Governor bean shows and reloads them. */
public interface RulesFiles {
    /** The files as the mailets' {@code rules} parameters resolved them; empty when every mailet runs built-in rules. */
    List<String> files();

    /** When the rules in force were read: at start or by the last successful {@link #reload()}. */
    Optional<Instant> loadedAt();

    /**
     * Reads and validates every rules file, then, only if all are valid, gives every mailet its new rules and the
     * governor's destinations their new limits.
     *
     * @return what was reloaded, for the operator
     * @throws IllegalStateException when a file is missing or invalid, its message naming file, line, rule and
     *     field; the rules in force are left untouched
     */
    String reload();
}

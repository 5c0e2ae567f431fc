package io.github.mxgovernor.james.jmx;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Rules files that answer what the test sets, and count reloads. */
final class FakeRulesFiles implements RulesFiles {
    final List<String> files = new ArrayList<>();
    Instant loadedAt;
    RuntimeException reloadFailure;
    int reloads;

    @Override
    public List<String> files() {
        return files;
    }

    @Override
    public Optional<Instant> loadedAt() {
        return Optional.ofNullable(loadedAt);
    }

    @Override
    public String reload() {
        if (reloadFailure != null) {
            throw reloadFailure;
        }
        reloads++;
        return "Reloaded " + files;
    }
}

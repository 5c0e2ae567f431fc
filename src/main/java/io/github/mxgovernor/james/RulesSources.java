package io.github.mxgovernor.james;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.RulesFiles;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rules sources of every governed mailet sharing one governor, reloaded together: every file is read and
 * validated first, and only when all are valid do the engines get their new rules and the governor's destinations
 * their new limits ({@link Governor#applyRules}). Thread-safe.
 */
final class RulesSources implements RulesFiles {
    private static final Logger LOGGER = LoggerFactory.getLogger(RulesSources.class);

    private final Governor governor;
    private final Clock clock;
    private final List<RulesSource> sources = new ArrayList<>();
    private Instant loadedAt;

    RulesSources(Governor governor, Clock clock) {
        this.governor = governor;
        this.clock = clock;
    }

    /** Adds the source of a mailet that just read its rules. */
    synchronized void add(RulesSource source) {
        sources.add(source);
        loadedAt = clock.instant();
    }

    synchronized void remove(RulesSource source) {
        sources.remove(source);
    }

    @Override
    public synchronized List<String> files() {
        Set<String> files = new LinkedHashSet<>();
        for (RulesSource source : sources) {
            source.file().map(Path::toString).ifPresent(files::add);
        }
        return List.copyOf(files);
    }

    @Override
    public synchronized Optional<Instant> loadedAt() {
        return Optional.ofNullable(loadedAt);
    }

    @Override
    public synchronized String reload() {
        Map<RulesSource, RuleSet> reloaded = new LinkedHashMap<>();
        Set<String> errors = new LinkedHashSet<>();
        for (RulesSource source : sources) {
            try {
                source.read().ifPresent(rules -> reloaded.put(source, rules));
            } catch (RulesFileException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            String message = "MX rules not reloaded, the rules in force are unchanged: " + String.join("; ", errors);
            LOGGER.warn(message);
            throw new IllegalStateException(message);
        }
        if (reloaded.isEmpty()) {
            return "Nothing to reload: no governed mailet has a rules file (they run the built-in default rule)";
        }
        reloaded.forEach(RulesSource::use);
        int changed = governor.applyRules(reloaded.values());
        loadedAt = clock.instant();
        Set<String> files = new LinkedHashSet<>();
        reloaded.values().forEach(rules -> files.add(rules.source().orElse("?") + " (" + rules.rules().size()
            + " rules and the default)"));
        String summary = "Reloaded " + String.join(", ", files) + "; " + changed + " destination"
            + (changed == 1 ? "" : "s") + " took new limits at once, the others when mail is next routed to them"
            + " in NORMAL flow control";
        LOGGER.info(summary);
        return summary;
    }
}

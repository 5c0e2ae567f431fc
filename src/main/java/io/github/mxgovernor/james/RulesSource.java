package io.github.mxgovernor.james;

import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where one governed mailet's rules come from and where reloaded rules go: its rules file (none for the built-in
 * default rule), the parser that carries its base default rule, and its delivery engine.
 */
final class RulesSource {
    private final Optional<Path> file;
    private final MxRulesParser parser;
    private final Consumer<RuleSet> engine;

    RulesSource(Optional<Path> file, MxRulesParser parser, Consumer<RuleSet> engine) {
        this.file = Objects.requireNonNull(file, "file");
        this.parser = Objects.requireNonNull(parser, "parser");
        this.engine = Objects.requireNonNull(engine, "engine");
    }

    Optional<Path> file() {
        return file;
    }

    /** Reads and validates the file; present only when the mailet has one. */
    Optional<RuleSet> read() throws RulesFileException {
        return file.isPresent() ? Optional.of(parser.parse(file.get())) : Optional.empty();
    }

    void use(RuleSet rules) {
        engine.accept(rules);
    }
}

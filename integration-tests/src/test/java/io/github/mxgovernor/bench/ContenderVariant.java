package io.github.mxgovernor.bench;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** A row's contender: a mailet (or Postfix) and, for ours, parameters beyond the run's ({@code deliveryThreads=10}). */
final class ContenderVariant {
    private final BenchSettings.MailetKind kind;
    private final Map<String, String> parameters;

    private ContenderVariant(BenchSettings.MailetKind kind, Map<String, String> parameters) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.parameters = Collections.unmodifiableMap(new TreeMap<>(parameters));
    }

    static ContenderVariant of(BenchSettings.MailetKind kind) {
        return new ContenderVariant(kind, Map.of());
    }

    static ContenderVariant ours(Map<String, String> parameters) {
        return new ContenderVariant(BenchSettings.MailetKind.OURS, parameters);
    }

    BenchSettings.MailetKind kind() {
        return kind;
    }

    /** Our mailet's parameters beyond {@code bench.oursParameters}; empty for the others. */
    Map<String, String> parameters() {
        return parameters;
    }

    /** Whether this is the contender as {@code bench.mailets} names it, without extra parameters. */
    boolean plain() {
        return parameters.isEmpty();
    }

    String label() {
        return plain() ? kind.label() : kind.label() + " " + parameters.entrySet().stream()
            .map(entry -> entry.getKey() + "=" + entry.getValue()).collect(Collectors.joining(" "));
    }

    /** A name for files and log lines: {@code ours}, {@code ours-deliveryThreads10}. */
    String fileName() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + parameters.entrySet().stream()
            .map(entry -> "-" + entry.getKey() + entry.getValue()).collect(Collectors.joining());
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ContenderVariant && ((ContenderVariant) other).kind == kind
            && ((ContenderVariant) other).parameters.equals(parameters);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, parameters);
    }

    @Override
    public String toString() {
        return label();
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.testing.FakeClock;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RulesSourcesTest {
    @TempDir
    Path temp;

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final RulesSources sources = new RulesSources(governor, clock);
    private final AtomicReference<RuleSet> firstEngine = new AtomicReference<>();
    private final AtomicReference<RuleSet> secondEngine = new AtomicReference<>();
    private Path first;
    private Path second;

    @BeforeEach
    void twoMailets() throws Exception {
        first = write("first.xml", 4);
        second = write("second.xml", 6);
        firstEngine.set(read(first));
        secondEngine.set(read(second));
        sources.add(new RulesSource(Optional.of(first), new MxRulesParser(), firstEngine::set));
        sources.add(new RulesSource(Optional.of(second), new MxRulesParser(), secondEngine::set));
    }

    @Test
    void reloadShouldGiveEveryMailetItsNewRulesAndDestinationsTheirNewCaps() throws Exception {
        Destination destination = governor.destination(firstEngine.get().rules().get(0), "mx1.yahoodns.net");
        write("first.xml", 2);
        clock.advance(Duration.ofMinutes(5));

        String summary = sources.reload();

        assertThat(firstEngine.get().rules().get(0).maxConnections()).isEqualTo(2);
        assertThat(secondEngine.get().rules().get(0).maxConnections()).isEqualTo(6);
        assertThat(destination.rule().maxConnections()).isEqualTo(2);
        assertThat(sources.loadedAt()).contains(Instant.parse("2026-03-01T10:05:00Z"));
        assertThat(summary).isEqualTo("Reloaded " + first + " (1 rules and the default), " + second
            + " (1 rules and the default); 1 destination took new limits at once, the others when mail is next routed"
            + " to them in NORMAL flow control");
    }

    @Test
    void reloadShouldChangeNothingWhenOneFileIsInvalid() throws Exception {
        RuleSet before = firstEngine.get();
        Destination destination = governor.destination(before.rules().get(0), "mx1.yahoodns.net");
        write("first.xml", 2);
        Files.writeString(second, "<mx-rules>\n  <rule name=\"yahoo\" mx=\"*.yahoodns.net\" maxConnections=\"-3\"/>\n"
            + "</mx-rules>\n");

        assertThatThrownBy(sources::reload)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageStartingWith("MX rules not reloaded, the rules in force are unchanged: " + second
                + ":2: rule 'yahoo', field 'maxConnections': ");

        assertThat(firstEngine.get()).isSameAs(before);
        assertThat(destination.rule().maxConnections()).isEqualTo(4);
        assertThat(sources.loadedAt()).contains(Instant.parse("2026-03-01T10:00:00Z"));
    }

    @Test
    void reloadShouldReportAMissingFile() throws Exception {
        Files.delete(first);

        assertThatThrownBy(sources::reload)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining(first + ": the rules file does not exist");
    }

    @Test
    void reloadShouldSaySoWhenNoMailetHasAFile() {
        RulesSources builtIn = new RulesSources(governor, clock);
        builtIn.add(new RulesSource(Optional.empty(), new MxRulesParser(), rules -> { }));

        assertThat(builtIn.reload()).isEqualTo("Nothing to reload: no governed mailet has a rules file (they run the"
            + " built-in default rule)");
        assertThat(builtIn.files()).isEmpty();
    }

    @Test
    void filesShouldNameEachFileOnce() {
        sources.add(new RulesSource(Optional.of(first), new MxRulesParser(), rules -> { }));

        assertThat(sources.files()).containsExactly(first.toString(), second.toString());
    }

    @Test
    void removedSourceShouldNoLongerBeReloaded() throws Exception {
        RulesSource third = new RulesSource(Optional.of(temp.resolve("gone.xml")), new MxRulesParser(), rules -> { });
        sources.add(third);
        sources.remove(third);

        sources.reload();

        assertThat(sources.files()).containsExactly(first.toString(), second.toString());
    }

    private Path write(String name, int maxConnections) throws Exception {
        Path file = temp.resolve(name);
        Files.writeString(file, "<mx-rules>\n  <rule name=\"yahoo\" mx=\"*.yahoodns.net\" maxConnections=\""
            + maxConnections + "\"/>\n</mx-rules>\n");
        return file;
    }

    private static RuleSet read(Path file) throws Exception {
        return new MxRulesParser().parse(file);
    }
}

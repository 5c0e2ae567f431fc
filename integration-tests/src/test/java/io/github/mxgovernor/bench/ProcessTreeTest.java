package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ProcessTreeTest {
    private static final String SMTP_WORKER = "4242 (smtp -n (x) unix) S 4200 4200 4200 0 -1 4194560 1200 0 0 0 "
        + "37 12 5 3 20 0 1 0 123456 10485760 512 18446744073709551615 1 1 0 0 0 0 0 4096 0";

    @Test
    void parseShouldReadTheTimesCountedFromTheLastParenthesis() {
        ProcessTree.Stat stat = ProcessTree.Stat.parse(SMTP_WORKER);

        assertThat(stat.ownTicks()).isEqualTo(37 + 12);
        assertThat(stat.reapedChildrenTicks()).isEqualTo(5 + 3);
    }

    @Test
    void parseShouldRejectALineWithoutCommandInParentheses() {
        assertThatThrownBy(() -> ProcessTree.Stat.parse("4242 smtp S 4200"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("not a /proc stat line (no command in parentheses): '4242 smtp S 4200'");
    }

    @Test
    void parseShouldRejectALineWithTooFewFields() {
        assertThatThrownBy(() -> ProcessTree.Stat.parse("4242 (smtp) S 4200 4200"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a /proc stat line has at least 17 fields, this one 5: '4242 (smtp) S 4200 4200'");
    }

    @Test
    void parseShouldRejectTimesThatAreNotNumbers() {
        String line = "4242 (smtp) S 4200 4200 4200 0 -1 4194560 1200 0 0 0 x 12 5 3";

        assertThatThrownBy(() -> ProcessTree.Stat.parse(line))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("fields 14 to 17 of a /proc stat line must be clock ticks: '" + line + "'");
    }

    @Test
    void sampleShouldCountThisProcessAndItsCpuTime() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
        ProcessTree tree = ProcessTree.of(ProcessHandle.current().pid()).orElseThrow();

        ProcessTree.Sample sample = tree.sample();

        assertThat(sample.processes).isGreaterThanOrEqualTo(1);
        assertThat(sample.cpuSeconds).isPositive();
    }

    @Test
    void ofShouldBeEmptyForAProcessThatDoesNotExist() {
        assertThat(ProcessTree.of(Long.MAX_VALUE)).isEmpty();
    }
}

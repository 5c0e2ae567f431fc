package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class BenchSettingsTest {
    @Test
    void fromShouldReadPostfixAmongTheContendersInTheGivenOrder() {
        Properties properties = new Properties();
        properties.setProperty("bench.mailets", "postfix, ours,postfix");

        assertThat(BenchSettings.from(properties).mailets())
            .containsExactly(BenchSettings.MailetKind.POSTFIX, BenchSettings.MailetKind.OURS);
    }

    @Test
    void fromShouldRejectAnUnknownContenderNamingTheKnownOnes() {
        Properties properties = new Properties();
        properties.setProperty("bench.mailets", "ours,exim");

        assertThatThrownBy(() -> BenchSettings.from(properties))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("bench.mailets must list some of 'ours', 'stock' and 'postfix', was 'ours,exim'");
    }

    @Test
    void fromShouldDefaultThePostfixScriptToTheProjectOne() {
        assertThat(BenchSettings.from(new Properties()).postfixScript())
            .isEqualTo(Path.of("integration-tests/bench-postfix/postfix-instance.sh"));
    }
}

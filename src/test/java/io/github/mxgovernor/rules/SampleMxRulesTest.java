package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.TlsMode;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The presets operators copy: {@code conf-samples/mx-rules.xml} must parse and say what its comments say. */
class SampleMxRulesTest {
    private static final Path SAMPLE = Path.of("conf-samples", "mx-rules.xml");

    private static RuleSet ruleSet;

    @BeforeAll
    static void parseSample() throws RulesFileException {
        ruleSet = new MxRulesParser().parse(SAMPLE);
    }

    @Test
    void sampleShouldHoldThePresetsInOrder() {
        assertThat(ruleSet.rules()).extracting(MxRule::name).containsExactly("google", "microsoft-consumer",
                "microsoft-365", "microsoft-dane", "yahoo", "apple", "comcast", "gmx-webde", "orange", "mimecast",
                "proofpoint");
    }

    @Test
    void sampleDefaultShouldSpellOutTheBuiltInDefaults() {
        MxRule builtIn = RuleSet.builtInDefaults().defaultRule();

        assertThat(ruleSet.defaultRule()).usingRecursiveComparison().ignoringFields("source").isEqualTo(builtIn);
    }

    @Test
    void googleShouldShareFiveConnectionsAcrossItsHostsAndRequireTls() {
        MxRule google = ruleSet.match("alt1.gmail-smtp-in.l.google.com", "gmail.com");

        assertThat(google.name()).isEqualTo("google");
        assertThat(google.limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(google.maxConnections()).isEqualTo(5);
        assertThat(google.maxMessagesPerConnection()).isEqualTo(50);
        assertThat(google.tlsMode()).isEqualTo(TlsMode.REQUIRED);
    }

    @Test
    void yahooShouldSendTwentyMailsPerConnectionAndInheritTheRest() {
        MxRule yahoo = ruleSet.match("mta7.am0.yahoodns.net", "aol.com");

        assertThat(yahoo.name()).isEqualTo("yahoo");
        assertThat(yahoo.maxMessagesPerConnection()).isEqualTo(20);
        assertThat(yahoo.maxConnections()).isEqualTo(ruleSet.defaultRule().maxConnections());
        assertThat(yahoo.limitScope()).isEqualTo(LimitScope.PER_MX_HOST);
    }

    @Test
    void providersThatRequireTlsShouldGetIt() {
        assertThat(ruleSet.rules()).filteredOn(rule -> rule.tlsMode() == TlsMode.REQUIRED)
                .extracting(MxRule::name).containsExactly("google", "comcast", "gmx-webde");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "aspmx.l.google.com, google",
            "hotmail-com.olc.protection.outlook.com, microsoft-consumer",
            "contoso-com.mail.protection.outlook.com, microsoft-365",
            "contoso-com.r-v1.mx.microsoft, microsoft-dane",
            "mx01.mail.icloud.com, apple",
            "mx1a1.comcast.net, comcast",
            "mx00.emig.gmx.net, gmx-webde",
            "mx-ha03.web.de, gmx-webde",
            "smtp-in.orange.fr, orange",
            "eu-smtp-inbound-1.mimecast.com, mimecast",
            "mx0a-00123456.pphosted.com, proofpoint",
            "mx.example.com, default",
    })
    void realMxHostsShouldMeetTheirPreset(String mxHost, String ruleName) {
        assertThat(ruleSet.match(mxHost, "example.com").name()).isEqualTo(ruleName);
    }
}

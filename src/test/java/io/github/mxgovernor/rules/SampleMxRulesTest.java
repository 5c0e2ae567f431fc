package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.flowcontrol.FlowAction;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.tls.TlsMode;

import java.time.Duration;
import java.util.Optional;

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
                "qq", "proofpoint");
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
    void onlyTheDaneMicrosoftHostsShouldUseDane() {
        assertThat(ruleSet.match("contoso-com.r-v1.mx.microsoft", "contoso.com").dane()).isTrue();
        assertThat(ruleSet.match("contoso-com.mail.protection.outlook.com", "contoso.com").dane()).isFalse();
        assertThat(ruleSet.defaultRule().dane()).isFalse();
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

    @Test
    void sampleDefaultShouldSpellOutTheBuiltInFlowControl() {
        assertThat(ruleSet.defaultRule().flowControl()).isEqualTo(FlowControlPolicy.builtIn());
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "google | 421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of 4.7.28 unsolicited mail"
                    + " | BACKOFF | 2 | PT30M",
            "google | 421-4.7.0 [192.0.2.1] Our system has detected that this message is suspicious due to the very"
                    + " low reputation of the sending domain | SUSPEND | 1 | PT1H",
            "microsoft-365 | 451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (AS761)"
                    + " | BACKOFF | 3 | PT15M",
            "microsoft-consumer | 451 4.7.652 The mail server [192.0.2.1] has exceeded the maximum number of"
                    + " connections. | LIMIT_CONNECTIONS | 1 | PT1H",
            "microsoft-dane | 421 4.4.0 exceeded maximum number of messages per connection"
                    + " | LIMIT_MESSAGES_PER_CONNECTION | 1 | PT1H",
            "yahoo | 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user"
                    + " complaints | SUSPEND | 1 | PT2H",
            "yahoo | 421 4.7.0 [IPTS05] Messages from 192.0.2.1 temporarily deferred | SUSPEND | 1 | PT4H",
            "yahoo | 421 4.7.0 [TS02] Messages from 192.0.2.1 temporarily deferred | BACKOFF | 1 | PT1H",
            "apple | 421 4.7.1 Messages deferred [HCM1] | SUSPEND | 1 | PT15M",
            "apple | 451 4.7.1 Service unavailable [BS02] | SUSPEND | 1 | PT15M",
            "comcast | 421 4.2.0 Throttled [RL0000] | BACKOFF | 1 | PT30M",
            "orange | 421 mwinf5c01 ME Trop de connexions, veuillez verifier votre configuration"
                    + " | LIMIT_CONNECTIONS | 1 | PT30M",
            "orange | 554 5.7.1 Service refuse | BACKOFF | 1 | PT1H",
            "gmx-webde | 421 Too many connections from your IP | LIMIT_CONNECTIONS | 1 | PT1H",
            "qq | 550 Ip frequency limited | BACKOFF | 1 | PT1H",
    })
    void providerThrottlingRepliesShouldMeetTheirResponseRule(String ruleName, String reply, FlowAction action,
                                                              int threshold, Duration duration) {
        MxRule rule = ruleSet.rules().stream().filter(candidate -> candidate.name().equals(ruleName)).findFirst()
                .orElseThrow();

        Optional<ResponseRule> matching = rule.flowControl().responseRules().stream()
                .filter(response -> java.util.regex.Pattern.compile(response.match(),
                        java.util.regex.Pattern.CASE_INSENSITIVE).matcher(reply).find())
                .findFirst();

        assertThat(matching).as("a response rule of %s matching %s", ruleName, reply).isPresent();
        assertThat(matching.get().reaction().action()).isEqualTo(action);
        assertThat(matching.get().threshold()).isEqualTo(threshold);
        assertThat(matching.get().reaction().duration()).contains(duration);
    }

    @Test
    void qqsPermanentThrottlingReplyShouldDeferTheMailAndNoOtherPresetShould() {
        MxRule qq = ruleSet.match("mx1.qq.com", "qq.com");

        assertThat(qq.flowControl().match(SmtpReply.of(550, "Ip frequency limited")).map(ResponseRule::defersMail))
            .contains(true);
        assertThat(qq.flowControl().match(SmtpReply.of(550, "5.1.1 Mailbox not found")).map(ResponseRule::defersMail))
            .isNotEqualTo(Optional.of(true));
        assertThat(ruleSet.rules()).filteredOn(rule -> !rule.name().equals("qq"))
            .allSatisfy(rule -> assertThat(rule.flowControl().responseRules()).noneMatch(ResponseRule::defersMail));
    }

    @Test
    void yahooShouldReconnectWhenItsConnectionIsFull() {
        MxRule yahoo = ruleSet.match("mta7.am0.yahoodns.net", "yahoo.com");

        assertThat(yahoo.flowControl().responseRules()).extracting(response -> response.reaction().action())
                .contains(FlowAction.RECONNECT);
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
            "mx3.qq.com, qq",
            "mx.example.com, default",
    })
    void realMxHostsShouldMeetTheirPreset(String mxHost, String ruleName) {
        assertThat(ruleSet.match(mxHost, "example.com").name()).isEqualTo(ruleName);
    }
}

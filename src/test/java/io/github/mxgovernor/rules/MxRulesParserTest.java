package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.tls.TlsMode;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MxRulesParserTest {
    private static final String FILE = "mx-rules.xml";
    private static final String DECLARATION = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

    private final MxRulesParser parser = new MxRulesParser();

    /** Parses the lines joined by newlines, so that argument i is on line i + 1. */
    private RuleSet parse(String... lines) throws RulesFileException {
        byte[] content = String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
        return parser.parse(new ByteArrayInputStream(content), FILE);
    }

    private RulesFileException parseError(String... lines) {
        RulesFileException error = catchThrowableOfType(() -> parse(lines), RulesFileException.class);
        assertThat(error).as("a RulesFileException").isNotNull();
        return error;
    }

    /** A file with a root element around one element on line 3. */
    private RulesFileException ruleError(String element) {
        return parseError(DECLARATION, "<mx-rules>", element, "</mx-rules>");
    }

    @Test
    void parseShouldReadTheDefaultAndTheRulesInOrder() throws Exception {
        RuleSet ruleSet = parse(
                DECLARATION,
                "<!-- comments allowed anywhere -->",
                "<mx-rules>",
                "  <default maxConnections=\"8\" maxMessagesPerConnection=\"90\" messagesPerHour=\"unlimited\"",
                "           connectTimeout=\"30s\" commandTimeout=\"4m\" dataTimeout=\"9m\" idleTimeout=\"45s\""
                        + " scope=\"per-mx\" tls=\"opportunistic\"/>",
                "  <rule name=\"google\" mx=\"*.google.com, *.googlemail.com, *.smtp.goog\" scope=\"shared\"",
                "        maxConnections=\"5\" maxMessagesPerConnection=\"50\" tls=\"required\"/>",
                "  <rule name=\"yahoo-com\" mx=\"*.yahoodns.net\" domain=\"yahoo.com\" messagesPerHour=\"20000\"/>",
                "</mx-rules>");

        assertThat(ruleSet.source()).contains(FILE);
        MxRule defaultRule = ruleSet.defaultRule();
        assertThat(defaultRule.name()).isEqualTo("default");
        assertThat(defaultRule.source()).isEqualTo("mx-rules.xml:4");
        assertThat(defaultRule.maxConnections()).isEqualTo(8);
        assertThat(defaultRule.maxMessagesPerConnection()).isEqualTo(90);
        assertThat(defaultRule.messagesPerHour()).isEmpty();
        assertThat(defaultRule.connectTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(defaultRule.commandTimeout()).isEqualTo(Duration.ofMinutes(4));
        assertThat(defaultRule.dataTimeout()).isEqualTo(Duration.ofMinutes(9));
        assertThat(defaultRule.idleTimeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(defaultRule.limitScope()).isEqualTo(LimitScope.PER_MX_HOST);
        assertThat(defaultRule.tlsMode()).isEqualTo(TlsMode.OPPORTUNISTIC);
        assertThat(defaultRule.matches("mx.example.com", "example.com")).isTrue();

        assertThat(ruleSet.rules()).extracting(MxRule::name).containsExactly("google", "yahoo-com");
        MxRule google = ruleSet.rules().get(0);
        assertThat(google.source()).isEqualTo("mx-rules.xml:6");
        assertThat(google.mxMasks()).extracting(HostMask::glob)
                .containsExactly("*.google.com", "*.googlemail.com", "*.smtp.goog");
        assertThat(google.recipientDomainMask()).isEmpty();
        assertThat(google.limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(google.maxConnections()).isEqualTo(5);
        assertThat(google.maxMessagesPerConnection()).isEqualTo(50);
        assertThat(google.tlsMode()).isEqualTo(TlsMode.REQUIRED);

        MxRule yahoo = ruleSet.rules().get(1);
        assertThat(yahoo.source()).isEqualTo("mx-rules.xml:8");
        assertThat(yahoo.recipientDomainMask()).contains(HostMask.parse("yahoo.com"));
        assertThat(yahoo.messagesPerHour()).hasValue(20_000);
        assertThat(ruleSet.match("mta6.am0.yahoodns.net", "yahoo.com")).isSameAs(yahoo);
    }

    @Test
    void parseShouldLetRulesInheritWhatTheyDoNotSetFromTheDefault() throws Exception {
        RuleSet ruleSet = parse(
                "<mx-rules>",
                "  <default maxConnections=\"3\" messagesPerHour=\"600\" idleTimeout=\"10s\" scope=\"shared\""
                        + " tls=\"verify\"/>",
                "  <rule name=\"r\" mx=\"*.example.com\" maxConnections=\"4\"/>",
                "</mx-rules>");

        MxRule rule = ruleSet.rules().get(0);
        assertThat(rule.maxConnections()).isEqualTo(4);
        assertThat(rule.messagesPerHour()).hasValue(600);
        assertThat(rule.idleTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(rule.limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(rule.tlsMode()).isEqualTo(TlsMode.VERIFY);
        // Not set by <default> either: the built-in value.
        assertThat(rule.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(rule.dataTimeout()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void parseShouldUseTheBuiltInDefaultsWithoutADefaultElement() throws Exception {
        RuleSet ruleSet = parse("<mx-rules>", "  <rule name=\"r\" mx=\"*.example.com\" messagesPerHour=\"5\"/>",
                "</mx-rules>");

        assertThat(ruleSet.defaultRule()).isEqualTo(RuleSet.builtInDefaults().defaultRule());
        MxRule rule = ruleSet.rules().get(0);
        assertThat(rule.maxConnections()).isEqualTo(10);
        assertThat(rule.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(rule.connectTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(rule.commandTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(rule.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(rule.limitScope()).isEqualTo(LimitScope.PER_MX_HOST);
        assertThat(rule.tlsMode()).isEqualTo(TlsMode.OPPORTUNISTIC);
    }

    @Test
    void parseShouldAcceptARulesElementWithoutRules() throws Exception {
        RuleSet ruleSet = parse("<mx-rules/>");

        assertThat(ruleSet.rules()).isEmpty();
        assertThat(ruleSet.defaultRule().source()).isEqualTo("built-in");
    }

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
            "250ms, PT0.25S",
            "30s, PT30S",
            "5m, PT5M",
            "2h, PT2H",
            "1d, PT24H",
            "PT5M, PT5M",
            "pt90s, PT1M30S",
            "P1D, PT24H",
            "' 7s ', PT7S",
    })
    void parseShouldReadDurationsWithAUnitOrInIso8601(String value, String expected) throws Exception {
        RuleSet ruleSet = parse("<mx-rules><default commandTimeout=\"" + value + "\"/></mx-rules>");

        assertThat(ruleSet.defaultRule().commandTimeout()).isEqualTo(Duration.parse(expected));
    }

    @Test
    void parseShouldReadEnumerationsIgnoringCase() throws Exception {
        RuleSet ruleSet = parse("<mx-rules>",
                "<rule name=\"a\" mx=\"a.example\" tls=\"DISABLED\" scope=\"Shared\" messagesPerHour=\"Unlimited\"/>",
                "<rule name=\"b\" mx=\"b.example\" tls=\"Verify\" scope=\"PER-MX\"/>",
                "</mx-rules>");

        assertThat(ruleSet.rules().get(0).tlsMode()).isEqualTo(TlsMode.DISABLED);
        assertThat(ruleSet.rules().get(0).limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(ruleSet.rules().get(0).messagesPerHour()).isEmpty();
        assertThat(ruleSet.rules().get(1).tlsMode()).isEqualTo(TlsMode.VERIFY);
        assertThat(ruleSet.rules().get(1).limitScope()).isEqualTo(LimitScope.PER_MX_HOST);
    }

    @Test
    void parseShouldAcceptMxListsSpreadOverLines() throws Exception {
        RuleSet ruleSet = parse("<mx-rules>",
                "  <rule name=\"m\" mx=\"*.outlook.com,",
                "                     *.mx.microsoft\"/>",
                "</mx-rules>");

        assertThat(ruleSet.rules().get(0).mxMasks()).extracting(HostMask::glob)
                .containsExactly("*.outlook.com", "*.mx.microsoft");
    }

    @Test
    void parseShouldAcceptCommentsAnywhere() throws Exception {
        RuleSet ruleSet = parse(
                "<!-- before -->",
                "<mx-rules><!-- inside -->",
                "  <default/><!-- after the default -->",
                "  <rule name=\"r\" mx=\"*.example.com\"><!-- inside a rule --></rule>",
                "</mx-rules>",
                "<!-- after -->");

        assertThat(ruleSet.rules()).extracting(MxRule::name).containsExactly("r");
        assertThat(ruleSet.rules().get(0).source()).isEqualTo("mx-rules.xml:4");
    }

    @Test
    void parseShouldReadAFileAndNameItAsGiven(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("mx-rules.xml");
        Files.writeString(file, "<mx-rules>\n<rule name=\"r\" mx=\"*.example.com\"/>\n</mx-rules>\n");

        RuleSet ruleSet = parser.parse(file);

        assertThat(ruleSet.source()).contains(file.toString());
        assertThat(ruleSet.rules().get(0).source()).isEqualTo(file + ":2");
    }

    // ---- errors: every message names file, line, rule and field where they are known

    @Test
    void parseShouldRejectNegativeMaxConnections() {
        RulesFileException error = parseError(DECLARATION, "<mx-rules>",
                "  <default/>",
                "  <!-- room -->", "", "", "", "", "", "", "",
                "  <rule name=\"google\" mx=\"*.google.com\"",
                "        maxConnections=\"-3\"/>",
                "</mx-rules>");

        assertThat(error).hasMessage(
                "mx-rules.xml:12: rule 'google', field 'maxConnections': must be an integer from 1 to 10000, was '-3'");
        assertThat(error.file()).isEqualTo("mx-rules.xml");
        assertThat(error.line()).isEqualTo(12);
        assertThat(error.rule()).contains("google");
        assertThat(error.field()).contains("maxConnections");
        assertThat(error.detail()).isEqualTo("must be an integer from 1 to 10000, was '-3'");
    }

    @Test
    void parseShouldRejectZeroMaxConnections() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxConnections=\"0\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxConnections': must be an integer from 1 to 10000, was '0'");
    }

    @Test
    void parseShouldRejectTooManyConnections() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxConnections=\"10001\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxConnections': must be an integer from 1 to 10000, was '10001'");
    }

    @Test
    void parseShouldRejectANumberThatIsNotAnInteger() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxMessagesPerConnection=\"1.5\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxMessagesPerConnection': must be an integer from 1 to 100000,"
                        + " was '1.5'");
    }

    @Test
    void parseShouldRejectANumberTooLargeForALong() {
        assertThat(ruleError("<default maxMessagesPerConnection=\"99999999999999999999999\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'maxMessagesPerConnection': must be an integer from 1 to"
                        + " 100000, was '99999999999999999999999'");
    }

    @Test
    void parseShouldRejectAnEmptyNumber() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxConnections=\"\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxConnections': must be an integer from 1 to 10000, was ''");
    }

    @Test
    void parseShouldRejectABadMessageRate() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" messagesPerHour=\"lots\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'messagesPerHour': must be an integer from 1 to 100000000"
                        + " or 'unlimited', was 'lots'");
    }

    @Test
    void parseShouldRejectATooLargeMessageRate() {
        assertThat(ruleError("<default messagesPerHour=\"100000001\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'messagesPerHour': must be an integer from 1 to 100000000"
                        + " or 'unlimited', was '100000001'");
    }

    @Test
    void parseShouldRejectADurationWithoutUnit() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" connectTimeout=\"30\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'connectTimeout': needs a unit (ms, s, m, h or d),"
                        + " such as '30s', was '30'");
    }

    @Test
    void transactionTimeoutShouldBeReadAndInheritedFromTheDefault() throws Exception {
        RuleSet rules = parser.parse(new ByteArrayInputStream(String.join("\n",
            "<mx-rules>",
            "  <default transactionTimeout=\"20m\"/>",
            "  <rule name=\"inherits\" mx=\"a.example\"/>",
            "  <rule name=\"own\" mx=\"b.example\" transactionTimeout=\"90s\"/>",
            "</mx-rules>").getBytes(StandardCharsets.UTF_8)), "mx-rules.xml");

        assertThat(rules.rules()).extracting(MxRule::transactionTimeout)
            .containsExactly(Duration.ofMinutes(20), Duration.ofSeconds(90));
        assertThat(MxRule.builder("plain").mxMasks("*").build().transactionTimeout()).isEqualTo(Duration.ofMinutes(30));
    }

    @Test
    void parseShouldRejectATransactionTimeoutOverADay() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" transactionTimeout=\"2d\"/>")).hasMessageStartingWith(
                "mx-rules.xml:3: rule 'r', field 'transactionTimeout': ");
    }

    @Test
    void parseShouldRejectAMalformedDuration() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" dataTimeout=\"ten minutes\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'dataTimeout': must be a duration such as '30s', '5m' or 'PT5M'"
                        + " (units ms, s, m, h, d), was 'ten minutes'");
    }

    @Test
    void parseShouldRejectAnUnknownDurationUnit() {
        assertThat(ruleError("<default idleTimeout=\"2w\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'idleTimeout': unknown unit 'w'; units are ms, s, m, h and d,"
                        + " was '2w'");
    }

    @ParameterizedTest
    @CsvSource({"0s", "PT0S", "-PT5S", "PT-5S", "25h", "2d", "P2D", "99999999999999999999d", "9999999999999999d"})
    void parseShouldRejectTimeoutsOutOfRange(String value) {
        assertThat(ruleError("<default commandTimeout=\"" + value + "\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'commandTimeout': must be more than 0 and at most 1 day,"
                        + " was '" + value + "'");
    }

    @Test
    void parseShouldRejectABadMxGlob() {
        assertThat(ruleError("<rule name=\"google\" mx=\"*.google.com, aspmx..google.com\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'mx': host mask 'aspmx..google.com' has an empty label");
    }

    @Test
    void parseShouldRejectAnEmptyMaskInTheMxList() {
        assertThat(ruleError("<rule name=\"google\" mx=\"*.google.com,,*.googlemail.com\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'mx': needs one or more host masks separated by commas,"
                        + " without empty ones, was '*.google.com,,*.googlemail.com'");
    }

    @Test
    void parseShouldRejectAnEmptyMx() {
        assertThat(ruleError("<rule name=\"google\" mx=\"\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'mx': needs one or more host masks separated by commas,"
                        + " without empty ones, was ''");
    }

    @Test
    void parseShouldRejectABadDomainGlob() {
        assertThat(ruleError("<rule name=\"y\" mx=\"*.yahoodns.net\" domain=\"yahoo com\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'y', field 'domain': host mask 'yahoo com' must not contain spaces");
    }

    @Test
    void parseShouldRejectAnUnknownTlsMode() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" tls=\"strict\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'tls': must be one of disabled, opportunistic, required, verify,"
                        + " was 'strict'");
    }

    @Test
    void parseShouldLetRulesInheritDaneFromTheDefaultAndTurnItOff() throws Exception {
        RuleSet ruleSet = parse(
                "<mx-rules>",
                "  <default dane=\"TRUE\"/>",
                "  <rule name=\"inherits\" mx=\"*.mx.microsoft\"/>",
                "  <rule name=\"off\" mx=\"*.example.com\" dane=\"false\"/>",
                "</mx-rules>");

        assertThat(ruleSet.defaultRule().dane()).isTrue();
        assertThat(ruleSet.rules().get(0).dane()).isTrue();
        assertThat(ruleSet.rules().get(1).dane()).isFalse();
        assertThat(RuleSet.builtInDefaults().defaultRule().dane()).isFalse();
    }

    @Test
    void parseShouldRejectADaneValueThatIsNotABoolean() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" dane=\"yes\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'dane': must be one of true, false, was 'yes'");
    }

    @Test
    void parseShouldRejectAnUnknownScope() {
        assertThat(ruleError("<default scope=\"global\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'scope': must be one of per-mx, shared, was 'global'");
    }

    @Test
    void parseShouldRejectAnUnknownClusterScopeNamingTheLineAndTheRule() {
        assertThat(ruleError("<rule name=\"google\" mx=\"*.google.com\" clusterScope=\"everywhere\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'clusterScope': must be one of cluster, node, was 'everywhere'");
    }

    @Test
    void parseShouldReadTheClusterScopeOfRulesAndTheDefaultClusterWhenUnset() throws Exception {
        RuleSet ruleSet = parse(DECLARATION, "<mx-rules>", "<default clusterScope=\"NODE\"/>",
                "<rule name=\"a\" mx=\"a.example\" clusterScope=\"cluster\"/>", "<rule name=\"b\" mx=\"b.example\"/>",
                "</mx-rules>");
        assertThat(ruleSet.defaultRule().clusterScope()).isEqualTo(ClusterScope.NODE);
        assertThat(ruleSet.rules().get(0).clusterScope()).isEqualTo(ClusterScope.CLUSTER);
        assertThat(ruleSet.rules().get(1).clusterScope()).as("inherited from the default").isEqualTo(ClusterScope.NODE);
        assertThat(parse(DECLARATION, "<mx-rules>", "<rule name=\"c\" mx=\"c.example\"/>", "</mx-rules>")
                .rules().get(0).clusterScope()).as("cluster-wide unless a rule says otherwise")
                .isEqualTo(ClusterScope.CLUSTER);
    }

    @Test
    void parseShouldRejectAnUnknownAttributeOnARule() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxConns=\"3\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxConns': unknown attribute; <rule> takes name, mx, domain,"
                        + " maxConnections, maxMessagesPerConnection, messagesPerHour, connectTimeout,"
                        + " commandTimeout, dataTimeout, transactionTimeout, idleTimeout, scope, clusterScope, tls, dane");
    }

    @Test
    void parseShouldSuggestTheAttributeAnOperatorMistypedTheCaseOf() {
        assertThat(ruleError("<rule name=\"r\" mx=\"a.example\" maxconnections=\"3\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'maxconnections': unknown attribute; did you mean 'maxConnections'?");
    }

    @Test
    void parseShouldRejectMxOnTheDefault() {
        assertThat(ruleError("<default mx=\"*\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'default', field 'mx': unknown attribute; <default> takes maxConnections,"
                        + " maxMessagesPerConnection, messagesPerHour, connectTimeout, commandTimeout, dataTimeout,"
                        + " transactionTimeout, idleTimeout, scope, clusterScope, tls, dane");
    }

    @Test
    void parseShouldRejectAttributesOnTheRootElement() {
        assertThat(parseError("<mx-rules version=\"1\"/>")).hasMessage(
                "mx-rules.xml:1: field 'version': unknown attribute; <mx-rules> takes no attributes");
    }

    @Test
    void parseShouldRejectAnUnknownElement() {
        assertThat(ruleError("<provider name=\"google\"/>")).hasMessage(
                "mx-rules.xml:3: unknown element <provider>; <mx-rules> holds <default> and <rule> elements");
    }

    @Test
    void parseShouldRejectAnUnknownChildElementOfARule() {
        RulesFileException error = parseError("<mx-rules>",
                "  <rule name=\"google\" mx=\"*.google.com\">",
                "    <response-rule pattern=\"421\"/>",
                "  </rule>",
                "</mx-rules>");

        assertThat(error).hasMessage(
                "mx-rules.xml:3: rule 'google': unknown element <response-rule>; <rule> holds <backoff>, <errorRate>,"
                        + " <response>, <recovery>, <adaptiveConcurrency>");
        assertThat(error.field()).isEmpty();
    }

    @Test
    void parseShouldRejectARuleInsideTheDefault() {
        assertThat(ruleError("<default><rule name=\"r\" mx=\"a.example\"/></default>")).hasMessage(
                "mx-rules.xml:3: rule 'default': unknown element <rule>; <default> holds <backoff>, <errorRate>,"
                        + " <response>, <recovery>, <adaptiveConcurrency>");
    }

    @Test
    void parseShouldRejectADuplicateRuleName() {
        assertThat(parseError("<mx-rules>",
                "  <rule name=\"google\" mx=\"*.google.com\"/>",
                "  <rule name=\"google\" mx=\"*.googlemail.com\"/>",
                "</mx-rules>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'name': duplicate rule name; the first 'google' is at line 2");
    }

    @Test
    void parseShouldRejectARuleWithoutName() {
        RulesFileException error = ruleError("<rule mx=\"*.google.com\"/>");

        assertThat(error).hasMessage("mx-rules.xml:3: field 'name': missing; every <rule> needs a name");
        assertThat(error.rule()).isEmpty();
    }

    @Test
    void parseShouldRejectABadRuleName() {
        assertThat(ruleError("<rule name=\"big provider\" mx=\"*.example.com\"/>")).hasMessage(
                "mx-rules.xml:3: field 'name': must be made of letters, digits, '.', '_' and '-',"
                        + " was 'big provider'");
    }

    @Test
    void parseShouldRejectARuleNamedDefault() {
        assertThat(ruleError("<rule name=\"default\" mx=\"*.example.com\"/>")).hasMessage(
                "mx-rules.xml:3: field 'name': 'default' is reserved for the <default> element");
    }

    @Test
    void parseShouldRejectARuleWithoutMx() {
        assertThat(ruleError("<rule name=\"google\" maxConnections=\"5\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'google', field 'mx': missing; every <rule> needs one or more MX host masks,"
                        + " separated by commas");
    }

    @Test
    void parseShouldRejectASecondDefault() {
        assertThat(parseError("<mx-rules>",
                "  <default maxConnections=\"5\"/>",
                "  <default maxConnections=\"6\"/>",
                "</mx-rules>")).hasMessage("mx-rules.xml:3: a second <default> element; the first is at line 2");
    }

    @Test
    void parseShouldRejectADefaultAfterARule() {
        assertThat(parseError("<mx-rules>",
                "  <rule name=\"r\" mx=\"a.example\"/>",
                "  <default maxConnections=\"5\"/>",
                "</mx-rules>")).hasMessage("mx-rules.xml:3: <default> must come before the first <rule> (line 2)");
    }

    @Test
    void parseShouldRejectAWrongRootElement() {
        assertThat(parseError(DECLARATION, "<rules>", "</rules>"))
                .hasMessage("mx-rules.xml:2: the root element must be <mx-rules>, was <rules>");
    }

    @Test
    void parseShouldRejectText() {
        assertThat(parseError("<mx-rules>", "  <rule name=\"r\" mx=\"a.example\">", "    maxConnections=5",
                "  </rule>", "</mx-rules>")).hasMessage("mx-rules.xml:3: unexpected text 'maxConnections=5';"
                + " a rules file holds elements, attributes and comments only");
    }

    @Test
    void parseShouldReportMalformedXmlWithTheParsersLine() {
        RulesFileException error = parseError(DECLARATION, "<mx-rules>", "  <rule name=\"r\" mx=\"a.example\">",
                "</mx-rules>");

        assertThat(error).hasMessage("mx-rules.xml:4: malformed XML: The element type \"rule\" must be"
                + " terminated by the matching end-tag \"</rule>\".");
        assertThat(error.line()).isEqualTo(4);
    }

    @Test
    void parseShouldReportAnUnquotedAttributeAsMalformedXml() {
        assertThat(ruleError("<rule name=r mx=\"a.example\"/>")).hasMessageStartingWith(
                "mx-rules.xml:3: malformed XML: ");
    }

    @Test
    void parseShouldRefuseADoctypeWithAnExternalEntity() {
        RulesFileException error = parseError(DECLARATION,
                "<!DOCTYPE mx-rules [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>",
                "<mx-rules><rule name=\"&secret;\" mx=\"a.example\"/></mx-rules>");

        assertThat(error).hasMessage("mx-rules.xml:2: DOCTYPE declarations are not allowed in a rules file"
                + " (refused so that no external entity is ever read)");
    }

    @Test
    void parseShouldRefuseADoctypeWithAnExternalDtd() {
        assertThat(parseError(DECLARATION, "<!DOCTYPE mx-rules SYSTEM \"http://127.0.0.1:9/mx-rules.dtd\">",
                "<mx-rules/>")).hasMessage("mx-rules.xml:2: DOCTYPE declarations are not allowed in a rules file"
                + " (refused so that no external entity is ever read)");
    }

    @Test
    void parseShouldRejectAnEmptyFile() {
        RulesFileException error = parseError("");

        assertThat(error).hasMessage("mx-rules.xml: the rules file is empty; it needs an <mx-rules> element");
        assertThat(error.line()).isZero();
    }

    @Test
    void parseShouldRejectAFileOfOnlyWhitespace() {
        assertThat(parseError("  ", "\t", "")).hasMessage(
                "mx-rules.xml: the rules file is empty; it needs an <mx-rules> element");
    }

    @Test
    void parseShouldRejectAMissingFile(@TempDir Path directory) {
        Path missing = directory.resolve("mx-rules.xml");

        RulesFileException error = catchThrowableOfType(() -> parser.parse(missing), RulesFileException.class);

        assertThat(error).hasMessage(missing + ": the rules file does not exist");
        assertThat(error.file()).isEqualTo(missing.toString());
    }

    @Test
    void parseShouldRejectADirectory(@TempDir Path directory) {
        RulesFileException error = catchThrowableOfType(() -> parser.parse(directory), RulesFileException.class);

        assertThat(error).hasMessage(directory + ": the rules file is a directory");
    }

    @Test
    void parseShouldReportAStreamThatFails() {
        java.io.InputStream failing = new java.io.InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("disk on fire");
            }
        };

        RulesFileException error = catchThrowableOfType(() -> parser.parse(failing, "rules.xml"),
                RulesFileException.class);

        assertThat(error).hasMessage("rules.xml: the rules file cannot be read: java.io.IOException: disk on fire");
    }
}

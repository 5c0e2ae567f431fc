package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.flowcontrol.AdaptiveConcurrency;
import io.github.mxgovernor.flowcontrol.BackoffLimits;
import io.github.mxgovernor.flowcontrol.ErrorRateTrigger;
import io.github.mxgovernor.flowcontrol.FlowAction;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.Recovery;
import io.github.mxgovernor.flowcontrol.ResponseRule;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The flow-control child elements of {@code <default>} and {@code <rule>}. */
class MxRulesParserFlowControlTest {
    private static final String FILE = "mx-rules.xml";

    private final MxRulesParser parser = new MxRulesParser();

    private RuleSet parse(String... lines) throws RulesFileException {
        return parser.parse(new ByteArrayInputStream(String.join("\n", lines).getBytes(StandardCharsets.UTF_8)), FILE);
    }

    private RulesFileException parseError(String... lines) {
        RulesFileException error = catchThrowableOfType(() -> parse(lines), RulesFileException.class);
        assertThat(error).as("a RulesFileException").isNotNull();
        return error;
    }

    /** A rule named 'r' holding one child element on line 3. */
    private RulesFileException childError(String child) {
        return parseError("<mx-rules>", "<rule name=\"r\" mx=\"*.example.com\">", child, "</rule>", "</mx-rules>");
    }

    private FlowControlPolicy ruleWith(String... children) throws RulesFileException {
        String[] lines = new String[children.length + 4];
        lines[0] = "<mx-rules>";
        lines[1] = "<rule name=\"r\" mx=\"*.example.com\">";
        System.arraycopy(children, 0, lines, 2, children.length);
        lines[children.length + 2] = "</rule>";
        lines[children.length + 3] = "</mx-rules>";
        return parse(lines).rules().get(0).flowControl();
    }

    @Test
    void parseShouldReadEveryFlowControlElement() throws Exception {
        RuleSet rules = parse(
                "<mx-rules>",
                "  <default>",
                "    <backoff maxConnections=\"2\" maxMessagesPerConnection=\"10\" messagesPerHour=\"600\"/>",
                "    <errorRate minAttempts=\"20\" ratio=\"0.5\" window=\"5m\" action=\"backoff\" duration=\"15m\"/>",
                "    <recovery probes=\"5\" halfOpen=\"10m\"/>",
                "    <adaptiveConcurrency enabled=\"true\" decrease=\"0.75\"/>",
                "  </default>",
                "  <rule name=\"google\" mx=\"*.google.com\">",
                "    <response match=\"421[- ]4\\.7\\.28 .*unusual rate\" threshold=\"2\" window=\"1h\"",
                "              action=\"backoff\" duration=\"30m\"/>",
                "    <response match=\"4\\.7\\.652\" action=\"limitConnections\" maxConnections=\"1\" duration=\"1h\"/>",
                "    <response match=\"TSS04\" threshold=\"immediate\" action=\"suspend\" duration=\"2h\"/>",
                "    <response match=\"Max message per connection\" action=\"reconnect\"/>",
                "    <response match=\"messages per connection\" action=\"limitMessagesPerConnection\"",
                "              maxMessagesPerConnection=\"20\" duration=\"1h\"/>",
                "  </rule>",
                "</mx-rules>");

        FlowControlPolicy defaults = rules.defaultRule().flowControl();
        assertThat(defaults.backoff()).isEqualTo(new BackoffLimits(OptionalInt.of(2), OptionalInt.of(10),
                OptionalLong.of(600)));
        assertThat(defaults.errorRate()).contains(new ErrorRateTrigger(20, 0.5, Duration.ofMinutes(5),
                Reaction.backoff(Optional.of(Duration.ofMinutes(15)))));
        assertThat(defaults.recovery()).isEqualTo(new Recovery(5, Duration.ofMinutes(10)));
        assertThat(defaults.adaptive()).isEqualTo(new AdaptiveConcurrency(true, 0.75));

        FlowControlPolicy google = rules.rules().get(0).flowControl();
        assertThat(google.backoff()).isEqualTo(defaults.backoff());
        assertThat(google.responseRules()).containsExactly(
                new ResponseRule("421[- ]4\\.7\\.28 .*unusual rate", 2, Optional.of(Duration.ofHours(1)),
                        Reaction.backoff(Optional.of(Duration.ofMinutes(30))), "mx-rules.xml:9"),
                new ResponseRule("4\\.7\\.652", 1, Optional.empty(),
                        Reaction.limitConnections(1, Optional.of(Duration.ofHours(1))), "mx-rules.xml:11"),
                new ResponseRule("TSS04", 1, Optional.empty(), Reaction.suspend(Duration.ofHours(2)),
                        "mx-rules.xml:12"),
                new ResponseRule("Max message per connection", 1, Optional.empty(), Reaction.reconnect(),
                        "mx-rules.xml:13"),
                new ResponseRule("messages per connection", 1, Optional.empty(),
                        Reaction.limitMessagesPerConnection(20, Optional.of(Duration.ofHours(1))), "mx-rules.xml:14"));
    }

    @Test
    void ruleWithoutFlowControlElementsShouldInheritTheDefaults() throws Exception {
        RuleSet rules = parse(
                "<mx-rules>",
                "  <default><response match=\"busy\" action=\"backoff\" duration=\"5m\"/></default>",
                "  <rule name=\"r\" mx=\"*.example.com\"/>",
                "</mx-rules>");

        assertThat(rules.rules().get(0).flowControl()).isEqualTo(rules.defaultRule().flowControl());
        assertThat(rules.rules().get(0).flowControl().responseRules()).hasSize(1);
    }

    @Test
    void withoutAnyElementTheBuiltInPolicyShouldApply() throws Exception {
        assertThat(parse("<mx-rules><rule name=\"r\" mx=\"a.example\"/></mx-rules>").rules().get(0).flowControl())
                .isEqualTo(FlowControlPolicy.builtIn());
    }

    @Test
    void ruleShouldInheritEachUnsetAttributeOfItsElements() throws Exception {
        RuleSet rules = parse(
                "<mx-rules>",
                "  <default>",
                "    <backoff maxConnections=\"2\" messagesPerHour=\"600\"/>",
                "    <errorRate minAttempts=\"10\" ratio=\"0.3\" window=\"2m\" action=\"suspend\" duration=\"1h\"/>",
                "    <recovery probes=\"7\" halfOpen=\"20m\"/>",
                "  </default>",
                "  <rule name=\"r\" mx=\"*.example.com\">",
                "    <backoff messagesPerHour=\"60\"/>",
                "    <errorRate duration=\"2h\"/>",
                "    <recovery halfOpen=\"0s\"/>",
                "  </rule>",
                "</mx-rules>");

        FlowControlPolicy policy = rules.rules().get(0).flowControl();
        assertThat(policy.backoff()).isEqualTo(new BackoffLimits(OptionalInt.of(2), OptionalInt.empty(),
                OptionalLong.of(60)));
        assertThat(policy.errorRate()).contains(new ErrorRateTrigger(10, 0.3, Duration.ofMinutes(2),
                Reaction.suspend(Duration.ofHours(2))));
        assertThat(policy.recovery()).isEqualTo(new Recovery(7, Duration.ZERO));
    }

    @Test
    void rulesOwnResponseRulesShouldReplaceTheInheritedOnes() throws Exception {
        RuleSet rules = parse(
                "<mx-rules>",
                "  <default><response match=\"busy\" action=\"backoff\" duration=\"5m\"/></default>",
                "  <rule name=\"r\" mx=\"*.example.com\">",
                "    <response match=\"slow down\" action=\"backoff\" duration=\"10m\"/>",
                "  </rule>",
                "</mx-rules>");

        assertThat(rules.rules().get(0).flowControl().responseRules()).extracting(ResponseRule::match)
                .containsExactly("slow down");
    }

    @Test
    void deferMailShouldBeReadAndDefaultToFalse() throws Exception {
        FlowControlPolicy policy = ruleWith(
            "<response match=\"550 Ip frequency limited\" action=\"backoff\" duration=\"1h\" deferMail=\"true\"/>",
            "<response match=\"550 5.7.1\" action=\"backoff\" duration=\"1h\"/>");

        assertThat(policy.responseRules()).extracting(ResponseRule::defersMail).containsExactly(true, false);
    }

    @Test
    void parseShouldRejectADeferMailThatIsNotTrueOrFalse() {
        assertThat(childError("<response match=\"busy\" action=\"backoff\" duration=\"1h\" deferMail=\"always\"/>"))
            .hasMessage("mx-rules.xml:3: rule 'r', field 'response.deferMail': must be true or false, was 'always'");
    }

    @Test
    void errorRateShouldBeTurnedOffWithEnabledFalse() throws Exception {
        assertThat(ruleWith("<errorRate enabled=\"false\"/>").errorRate()).isEmpty();
    }

    @Test
    void backoffWithoutDurationShouldBeAcceptedWhenProbesCanEndIt() throws Exception {
        FlowControlPolicy policy = ruleWith("<response match=\"busy\" action=\"backoff\"/>");

        assertThat(policy.responseRules().get(0).reaction().duration()).isEmpty();
        assertThat(policy.recovery().probes()).isEqualTo(5);
    }

    @Test
    void parseShouldRejectAnInvalidRegularExpression() {
        RulesFileException error = childError("<response match=\"421 (4\\.7\\.0\" action=\"backoff\" duration=\"1h\"/>");

        assertThat(error).hasMessage("mx-rules.xml:3: rule 'r', field 'response.match': is not a valid regular"
                + " expression: Unclosed group at index 12 in '421 (4\\.7\\.0'");
        assertThat(error.line()).isEqualTo(3);
        assertThat(error.rule()).contains("r");
        assertThat(error.field()).contains("response.match");
    }

    @Test
    void parseShouldRejectAResponseWithoutMatch() {
        assertThat(childError("<response action=\"backoff\" duration=\"1h\"/>")).hasMessage("mx-rules.xml:3: rule"
                + " 'r', field 'response.match': missing; <response> needs a regular expression on the reply");
    }

    @Test
    void parseShouldRejectAnUnknownAction() {
        assertThat(childError("<response match=\"busy\" action=\"throttle\" duration=\"1h\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.action': must be one of backoff, suspend,"
                        + " limitConnections, limitMessagesPerConnection, reconnect, was 'throttle'");
    }

    @Test
    void parseShouldRejectAResponseWithoutAction() {
        assertThat(childError("<response match=\"busy\" duration=\"1h\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.action': missing; one of backoff, suspend,"
                        + " limitConnections, limitMessagesPerConnection, reconnect");
    }

    @ParameterizedTest(name = "threshold {0}")
    @CsvSource({"0", "10001", "two", "-1"})
    void parseShouldRejectAThresholdOutOfRange(String threshold) {
        assertThat(childError("<response match=\"busy\" threshold=\"" + threshold
                + "\" window=\"1h\" action=\"backoff\" duration=\"1h\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.threshold': must be an integer from 1 to 10000, was '"
                        + threshold + "'");
    }

    @ParameterizedTest(name = "duration {0}")
    @CsvSource({"0s", "999ms", "8d", "PT169H"})
    void parseShouldRejectADurationOutOfRange(String duration) {
        assertThat(childError("<response match=\"busy\" action=\"suspend\" duration=\"" + duration + "\"/>"))
                .hasMessage("mx-rules.xml:3: rule 'r', field 'response.duration': must be from 1s to 7d, was '"
                        + duration + "'");
    }

    @Test
    void parseShouldRejectAMalformedDuration() {
        assertThat(childError("<errorRate duration=\"soon\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'errorRate.duration': must be a duration such as '30s', '5m' or 'PT5M' (units ms, s, m, h, d),"
                + " was 'soon'");
    }

    @Test
    void parseShouldRejectAThresholdWithoutWindow() {
        assertThat(childError("<response match=\"busy\" threshold=\"3\" action=\"backoff\" duration=\"1h\"/>"))
                .hasMessage("mx-rules.xml:3: rule 'r', field 'response.window': missing; with threshold 3 it says"
                        + " within how long 3 matching replies fire the rule");
    }

    @Test
    void parseShouldRejectAWindowForAnImmediateRule() {
        assertThat(childError("<response match=\"busy\" window=\"1h\" action=\"backoff\" duration=\"1h\"/>"))
                .hasMessage("mx-rules.xml:3: rule 'r', field 'response.window': has no meaning with threshold 1"
                        + " (the rule fires at once); remove it or raise the threshold");
    }

    @Test
    void parseShouldRejectAWindowOutOfRange() {
        assertThat(childError("<errorRate window=\"2d\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'errorRate.window': must be from 1s to 1d, was '2d'");
    }

    @Test
    void parseShouldRejectASuspensionWithoutDuration() {
        assertThat(childError("<response match=\"TSS04\" action=\"suspend\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.duration': missing; a suspended destination makes no"
                        + " attempt, so only time can end a suspension");
    }

    @Test
    void parseShouldRejectADurationOnReconnect() {
        assertThat(childError("<response match=\"x\" action=\"reconnect\" duration=\"1h\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.duration': has no meaning for reconnect, which acts on"
                        + " one connection at once");
    }

    @Test
    void parseShouldRejectLimitConnectionsWithoutItsLimit() {
        assertThat(childError("<response match=\"x\" action=\"limitConnections\" duration=\"1h\"/>")).hasMessage(
                "mx-rules.xml:3: rule 'r', field 'response.maxConnections': missing; action limitConnections"
                        + " needs it");
    }

    @Test
    void parseShouldRejectALimitThatTheActionDoesNotTake() {
        assertThat(childError("<response match=\"x\" action=\"backoff\" maxConnections=\"1\" duration=\"1h\"/>"))
                .hasMessage("mx-rules.xml:3: rule 'r', field 'response.maxConnections': has no meaning for action"
                        + " backoff");
    }

    @Test
    void parseShouldRejectAReconnectAnsweringAnErrorRate() {
        assertThat(childError("<errorRate action=\"reconnect\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'errorRate.action': reconnect acts on one connection and cannot answer an error rate; use backoff,"
                + " suspend, limitConnections or limitMessagesPerConnection");
    }

    @ParameterizedTest(name = "ratio {0}")
    @CsvSource({"1", "1.0", "1.5", "half", "-0.2", "50%"})
    void parseShouldRejectARatioOutOfRange(String ratio) {
        assertThat(childError("<errorRate ratio=\"" + ratio + "\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'errorRate.ratio': must be a number from 0 up to, but not including, 1, was '" + ratio + "'");
    }

    @Test
    void parseShouldRejectMinAttemptsOutOfRange() {
        assertThat(childError("<errorRate minAttempts=\"0\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'errorRate.minAttempts': must be an integer from 1 to 100000, was '0'");
    }

    @Test
    void parseShouldRejectOtherAttributesWhenTheErrorRateIsOff() {
        assertThat(childError("<errorRate enabled=\"false\" ratio=\"0.2\"/>")).hasMessage("mx-rules.xml:3: rule 'r',"
                + " field 'errorRate.enabled': turns the trigger off; remove the other attributes or enabled");
    }

    @Test
    void parseShouldRejectABooleanThatIsNotTrueOrFalse() {
        assertThat(childError("<adaptiveConcurrency enabled=\"yes\"/>")).hasMessage("mx-rules.xml:3: rule 'r',"
                + " field 'adaptiveConcurrency.enabled': must be true or false, was 'yes'");
    }

    @Test
    void parseShouldRejectADecreaseOutOfRange() {
        assertThat(childError("<adaptiveConcurrency decrease=\"0\"/>")).hasMessage("mx-rules.xml:3: rule 'r',"
                + " field 'adaptiveConcurrency.decrease': must be a number above 0 and below 1, was '0'");
    }

    @Test
    void parseShouldRejectBackoffLimitsOutOfRange() {
        assertThat(childError("<backoff messagesPerHour=\"0\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'backoff.messagesPerHour': must be an integer from 1 to 100000000, was '0'");
        assertThat(childError("<backoff maxConnections=\"10001\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'backoff.maxConnections': must be an integer from 1 to 10000, was '10001'");
    }

    @Test
    void parseShouldRejectRecoveryValuesOutOfRange() {
        assertThat(childError("<recovery probes=\"10001\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'recovery.probes': must be an integer from 0 to 10000, was '10001'");
        assertThat(childError("<recovery halfOpen=\"2d\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'recovery.halfOpen': must be from 0s to 1d, was '2d'");
    }

    @Test
    void parseShouldRejectAnUnknownAttributeOfAFlowControlElement() {
        assertThat(childError("<backoff maxconnections=\"1\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'backoff.maxconnections': unknown attribute; did you mean 'maxConnections'?");
        assertThat(childError("<recovery after=\"1h\"/>")).hasMessage("mx-rules.xml:3: rule 'r', field"
                + " 'recovery.after': unknown attribute; <recovery> takes probes, halfOpen");
    }

    @Test
    void parseShouldRejectASecondBackoffInOneRule() {
        assertThat(parseError("<mx-rules>", "<rule name=\"r\" mx=\"a.example\">", "<backoff maxConnections=\"1\"/>",
                "<backoff maxConnections=\"2\"/>", "</rule>", "</mx-rules>")).hasMessage(
                "mx-rules.xml:4: rule 'r': a second <backoff> in this rule; the first is at line 3");
    }

    @Test
    void parseShouldRejectAChildOfAFlowControlElement() {
        assertThat(childError("<backoff><rule name=\"x\" mx=\"b.example\"/></backoff>")).hasMessage(
                "mx-rules.xml:3: rule 'r': unknown element <rule>; <backoff> has no child elements");
    }

    @Test
    void parseShouldRejectARuleThatCanNeverReturnToNormal() {
        RulesFileException error = parseError("<mx-rules>", "<rule name=\"r\" mx=\"a.example\">",
                "  <response match=\"busy\" action=\"backoff\"/>",
                "  <recovery probes=\"0\"/>",
                "</rule>", "</mx-rules>");

        assertThat(error).hasMessage("mx-rules.xml:3: rule 'r', field 'response.duration': missing; a destination"
                + " could never return to normal: action backoff without a duration ends only by recovery probes,"
                + " and <recovery> has 0 probes");
    }

    @Test
    void parseShouldBlameTheRecoveryWhenItLeavesAnInheritedTriggerWithoutEnd() {
        RulesFileException error = parseError("<mx-rules>",
                "<default><errorRate action=\"limitConnections\" maxConnections=\"1\"/></default>",
                "<rule name=\"r\" mx=\"a.example\">",
                "  <recovery probes=\"0\"/>",
                "</rule>", "</mx-rules>");

        assertThat(error).hasMessage("mx-rules.xml:4: rule 'r', field 'recovery.probes': 0 leaves the inherited"
                + " <errorRate> without an end; a destination could never return to normal: action limitConnections"
                + " without a duration ends only by recovery probes, and <recovery> has 0 probes");
    }

    @Test
    void defaultShouldAlsoBeCheckedForANeverEndingBackoff() {
        assertThat(parseError("<mx-rules>", "<default>", "<recovery probes=\"0\"/>",
                "<errorRate action=\"backoff\"/>", "</default>", "</mx-rules>")).hasMessage(
                "mx-rules.xml:4: rule 'default', field 'errorRate.duration': missing; a destination could never return"
                        + " to normal: action backoff without a duration ends only by recovery probes, and <recovery>"
                        + " has 0 probes");
    }

    @Test
    void actionShouldBeReadIgnoringCase() throws Exception {
        assertThat(ruleWith("<response match=\"x\" action=\"LimitConnections\" maxConnections=\"2\" duration=\"1h\"/>")
                .responseRules().get(0).reaction().action()).isEqualTo(FlowAction.LIMIT_CONNECTIONS);
    }
}

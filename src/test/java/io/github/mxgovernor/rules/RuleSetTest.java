package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.tls.TlsMode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RuleSetTest {
    private final MxRule google = MxRule.builder("google").mxMasks("*.google.com", "*.googlemail.com").build();
    private final MxRule yahooCom = MxRule.builder("yahoo-com").mxMasks("*.yahoodns.net")
            .recipientDomainMask(HostMask.parse("yahoo.com")).messagesPerHour(20_000).build();
    private final MxRule yahoo = MxRule.builder("yahoo").mxMasks("*.yahoodns.net").build();
    private final MxRule everythingGoogle = MxRule.builder("everything-google").mxMasks("*google*").build();

    @Test
    void builtInDefaultsShouldHoldOnlyTheDefaultRule() {
        RuleSet ruleSet = RuleSet.builtInDefaults();

        assertThat(ruleSet.rules()).isEmpty();
        assertThat(ruleSet.source()).isEmpty();
        MxRule rule = ruleSet.defaultRule();
        assertThat(rule.name()).isEqualTo("default");
        assertThat(rule.maxConnections()).isEqualTo(10);
        assertThat(rule.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(rule.messagesPerHour()).isEmpty();
        assertThat(rule.connectTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(rule.commandTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(rule.dataTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(rule.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(rule.limitScope()).isEqualTo(LimitScope.PER_MX_HOST);
        assertThat(rule.tlsMode()).isEqualTo(TlsMode.OPPORTUNISTIC);
        assertThat(rule.source()).isEqualTo("built-in");
        assertThat(rule.recipientDomainMask()).isEmpty();
    }

    @Test
    void builtInDefaultsShouldMatchEveryHostWithTheDefaultRule() {
        RuleSet ruleSet = RuleSet.builtInDefaults();

        assertThat(ruleSet.match("mx.example.com", "example.com")).isSameAs(ruleSet.defaultRule());
        assertThat(ruleSet.defaultRule().matches("mx.example.com", "example.com")).isTrue();
    }

    @Test
    void matchShouldReturnTheFirstMatchingRuleInOrder() {
        RuleSet ruleSet = RuleSet.of(MxRule.builtInDefault(), List.of(google, everythingGoogle));

        assertThat(ruleSet.match("aspmx.l.google.com", "gmail.com")).isSameAs(google);
        assertThat(ruleSet.match("google.example.net", "example.net")).isSameAs(everythingGoogle);
    }

    @Test
    void aLargeSetShouldMatchAsTryingEveryRuleInOrderWould() {
        List<MxRule> many = new ArrayList<>();
        for (int i = 0; i < RuleSet.REMEMBERING_FROM; i++) {
            many.add(MxRule.builder("provider" + i).mxMasks("*.mx" + i + ".example.net").build());
        }
        many.add(yahooCom);
        many.add(yahoo);
        many.add(everythingGoogle);
        many.add(google);
        RuleSet large = RuleSet.of(MxRule.builtInDefault(), many);
        List<String> hosts = List.of("a.mx7.example.net", "A.MX7.EXAMPLE.NET.", "mta5.am0.yahoodns.net",
            "aspmx.l.google.com", "mx.nowhere.test", "b.mx31.example.net");
        List<String> domains = List.of("yahoo.com", "ymail.com", "example.net");

        for (int round = 0; round < 2; round++) {
            for (String host : hosts) {
                for (String domain : domains) {
                    MxRule scanned = many.stream().filter(rule -> rule.matches(host, domain)).findFirst()
                        .orElse(large.defaultRule());
                    assertThat(large.match(host, domain)).as("%s for %s", host, domain).isSameAs(scanned);
                }
            }
        }
        assertThat(large.match("mta5.am0.yahoodns.net", "yahoo.com")).isSameAs(yahooCom);
        assertThat(large.match("mta5.am0.yahoodns.net", "aol.com")).isSameAs(yahoo);
        assertThat(large.match("aspmx.l.google.com", "gmail.com")).isSameAs(everythingGoogle);
    }

    @Test
    void matchShouldFollowTheOrderOfTheRulesNotTheirSpecificity() {
        RuleSet ruleSet = RuleSet.of(MxRule.builtInDefault(), List.of(everythingGoogle, google));

        assertThat(ruleSet.match("aspmx.l.google.com", "gmail.com")).isSameAs(everythingGoogle);
    }

    @Test
    void matchShouldApplyARuleWithADomainMaskOnlyToThatDomain() {
        RuleSet ruleSet = RuleSet.of(MxRule.builtInDefault(), List.of(yahooCom, yahoo));

        assertThat(ruleSet.match("mta5.am0.yahoodns.net", "yahoo.com")).isSameAs(yahooCom);
        assertThat(ruleSet.match("MTA5.am0.yahoodns.net.", "YAHOO.COM")).isSameAs(yahooCom);
        assertThat(ruleSet.match("mta5.am0.yahoodns.net", "aol.com")).isSameAs(yahoo);
    }

    @Test
    void matchShouldNotApplyADomainMaskWhenTheMxHostDiffers() {
        RuleSet ruleSet = RuleSet.of(MxRule.builtInDefault(), List.of(yahooCom));

        assertThat(ruleSet.match("mx.example.com", "yahoo.com")).isSameAs(ruleSet.defaultRule());
    }

    @Test
    void matchShouldFallBackToTheDefaultRule() {
        MxRule defaultRule = MxRule.builder("default").mxMasks("*").maxConnections(3).build();
        RuleSet ruleSet = RuleSet.of(defaultRule, List.of(google, yahooCom));

        assertThat(ruleSet.match("mx.example.com", "example.com")).isSameAs(defaultRule);
        assertThat(ruleSet.match("mta5.am0.yahoodns.net", "aol.com")).isSameAs(defaultRule);
    }

    @Test
    void rulesShouldBeKeptInOrderWithoutTheDefaultRule() {
        RuleSet ruleSet = RuleSet.of(MxRule.builtInDefault(), List.of(yahooCom, yahoo, google));

        assertThat(ruleSet.rules()).containsExactly(yahooCom, yahoo, google);
    }

    @Test
    void ofShouldRejectTwoRulesWithTheSameName() {
        MxRule otherGoogle = MxRule.builder("google").mxMasks("*.smtp.goog").build();

        assertThatThrownBy(() -> RuleSet.of(MxRule.builtInDefault(), List.of(google, otherGoogle)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rule name 'google' is used twice (the default rule is named 'default')");
    }

    @Test
    void ofShouldRejectARuleNamedLikeTheDefaultRule() {
        MxRule named = MxRule.builder("default").mxMasks("*.example.com").build();

        assertThatThrownBy(() -> RuleSet.of(MxRule.builtInDefault(), List.of(named)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rule name 'default' is used twice (the default rule is named 'default')");
    }
}

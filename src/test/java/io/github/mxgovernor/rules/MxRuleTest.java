package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.tls.TlsMode;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

class MxRuleTest {
    @Test
    void builderShouldKeepEveryValue() {
        MxRule rule = MxRule.builder("google")
                .mxMasks("*.google.com", "*.googlemail.com")
                .recipientDomainMask(HostMask.parse("gmail.com"))
                .maxConnections(5)
                .maxMessagesPerConnection(50)
                .messagesPerHour(1000)
                .connectTimeout(Duration.ofSeconds(30))
                .commandTimeout(Duration.ofMinutes(2))
                .dataTimeout(Duration.ofMinutes(3))
                .idleTimeout(Duration.ofSeconds(20))
                .limitScope(LimitScope.SHARED)
                .tlsMode(TlsMode.REQUIRED)
                .source("mx-rules.xml:4")
                .build();

        assertThat(rule.name()).isEqualTo("google");
        assertThat(rule.mxMasks()).extracting(HostMask::glob).containsExactly("*.google.com", "*.googlemail.com");
        assertThat(rule.recipientDomainMask()).contains(HostMask.parse("gmail.com"));
        assertThat(rule.maxConnections()).isEqualTo(5);
        assertThat(rule.maxMessagesPerConnection()).isEqualTo(50);
        assertThat(rule.messagesPerHour()).hasValue(1000);
        assertThat(rule.connectTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(rule.commandTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(rule.dataTimeout()).isEqualTo(Duration.ofMinutes(3));
        assertThat(rule.idleTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(rule.limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(rule.tlsMode()).isEqualTo(TlsMode.REQUIRED);
        assertThat(rule.source()).isEqualTo("mx-rules.xml:4");
    }

    @Test
    void inheritFromShouldCopyLimitsButNotNameMasksOrSource() {
        MxRule parent = MxRule.builder("default").mxMasks("*").maxConnections(7).messagesPerHour(99)
                .idleTimeout(Duration.ofSeconds(5)).limitScope(LimitScope.SHARED).tlsMode(TlsMode.VERIFY)
                .source("mx-rules.xml:3").build();

        MxRule child = MxRule.builder("child").inheritFrom(parent).mxMasks("*.example.com").build();

        assertThat(child.name()).isEqualTo("child");
        assertThat(child.mxMasks()).containsExactly(HostMask.parse("*.example.com"));
        assertThat(child.source()).isEqualTo("built-in");
        assertThat(child.maxConnections()).isEqualTo(7);
        assertThat(child.messagesPerHour()).hasValue(99);
        assertThat(child.idleTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(child.limitScope()).isEqualTo(LimitScope.SHARED);
        assertThat(child.tlsMode()).isEqualTo(TlsMode.VERIFY);
    }

    @Test
    void unlimitedMessagesPerHourShouldClearARate() {
        MxRule rule = MxRule.builder("r").mxMasks("*").messagesPerHour(10).unlimitedMessagesPerHour().build();

        assertThat(rule.messagesPerHour()).isEmpty();
    }

    @Test
    void matchesShouldNeedTheMxMaskAndTheDomainMask() {
        MxRule rule = MxRule.builder("r").mxMasks("*.yahoodns.net", "*.aol.com")
                .recipientDomainMask(HostMask.parse("*.yahoo.*")).build();

        assertThat(rule.matches("mx.aol.com", "mail.yahoo.fr")).isTrue();
        assertThat(rule.matches("mx.aol.com", "aol.com")).isFalse();
        assertThat(rule.matches("mx.example.com", "mail.yahoo.fr")).isFalse();
    }

    @Test
    void builderShouldRejectABadName() {
        assertThatThrownBy(() -> MxRule.builder("my rule"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rule name must be made of letters, digits, '.', '_' and '-', was 'my rule'");
    }

    @Test
    void buildShouldRejectARuleWithoutMxMask() {
        assertThatThrownBy(() -> MxRule.builder("google").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("rule 'google' needs at least one MX mask");
    }

    @Test
    void mxMasksShouldRejectAnEmptyList() {
        assertThatThrownBy(() -> MxRule.builder("google").mxMasks(List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mxMasks must hold at least one host mask");
    }

    @Test
    void maxConnectionsShouldRejectZero() {
        assertThatThrownBy(() -> MxRule.builder("r").maxConnections(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxConnections must be an integer from 1 to 10000, was 0");
    }

    @Test
    void maxMessagesPerConnectionShouldRejectTooLargeValues() {
        assertThatThrownBy(() -> MxRule.builder("r").maxMessagesPerConnection(100_001))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxMessagesPerConnection must be an integer from 1 to 100000, was 100001");
    }

    @Test
    void messagesPerHourShouldRejectNegativeValues() {
        assertThatThrownBy(() -> MxRule.builder("r").messagesPerHour(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("messagesPerHour must be an integer from 1 to 100000000, was -1");
    }

    @Test
    void timeoutsShouldRejectZero() {
        assertThatThrownBy(() -> MxRule.builder("r").connectTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("connectTimeout must be more than 0 and at most 1 day, was PT0S");
    }

    @Test
    void timeoutsShouldRejectMoreThanADay() {
        assertThatThrownBy(() -> MxRule.builder("r").idleTimeout(Duration.ofHours(25)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("idleTimeout must be more than 0 and at most 1 day, was PT25H");
    }

    @Test
    void sourceShouldRejectBlank() {
        assertThatThrownBy(() -> MxRule.builder("r").source(" "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("source must not be blank");
    }
}

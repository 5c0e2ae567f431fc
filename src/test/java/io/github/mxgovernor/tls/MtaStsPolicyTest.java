package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MtaStsPolicyTest {
    private static final String GMAIL = "version: STSv1\r\nmode: enforce\r\nmx: gmail-smtp-in.l.google.com\r\n"
        + "mx: *.gmail-smtp-in.l.google.com\r\nmax_age: 86400\r\n";

    @Test
    void parseShouldReadAnEnforcePolicy() throws Exception {
        MtaStsPolicy policy = MtaStsPolicy.parse(GMAIL);

        assertThat(policy.mode()).isEqualTo(MtaStsPolicy.Mode.ENFORCE);
        assertThat(policy.mxPatterns()).containsExactly("gmail-smtp-in.l.google.com", "*.gmail-smtp-in.l.google.com");
        assertThat(policy.maxAge()).isEqualTo(Duration.ofDays(1));
        assertThat(policy.maxAgeCapped()).isFalse();
    }

    @Test
    void parseShouldAcceptLfLineEndsAnyCaseSpacesBlankLinesAndExtensions() throws Exception {
        MtaStsPolicy policy = MtaStsPolicy.parse("Version:STSv1\nMODE:  Testing\t\n\nmx: MX.Example.COM.\n"
            + "x-report_to.v2: mailto:tls@example.com\nmax_age: 604800\n");

        assertThat(policy.mode()).isEqualTo(MtaStsPolicy.Mode.TESTING);
        assertThat(policy.mxPatterns()).containsExactly("mx.example.com");
        assertThat(policy.maxAge()).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void parseShouldAcceptModeNoneWithoutMx() throws Exception {
        MtaStsPolicy policy = MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 0\n");

        assertThat(policy.mode()).isEqualTo(MtaStsPolicy.Mode.NONE);
        assertThat(policy.mxPatterns()).isEmpty();
        assertThat(policy.maxAge()).isZero();
    }

    @Test
    void parseShouldCapAnAbsurdMaxAge() throws Exception {
        MtaStsPolicy policy = MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mx.example.com\n"
            + "max_age: 9999999999\n");

        assertThat(policy.maxAge()).isEqualTo(MtaStsPolicy.MAX_AGE_CAP).isEqualTo(Duration.ofSeconds(31_557_600));
        assertThat(policy.maxAgeCapped()).isTrue();
        assertThat(policy).hasToString("enforce mx=[mx.example.com] max_age=31557600 (capped)");
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "mode: enforce\\nmx: a.example\\nmax_age: 1 | no 'version: STSv1' line",
        "version: STSv2\\nmode: enforce\\nmx: a.example\\nmax_age: 1 | line 1: version must be STSv1, was 'STSv2'",
        "version: STSv1\\nmx: a.example\\nmax_age: 1 | no 'mode' line",
        "version: STSv1\\nmode: strict\\nmx: a.example\\nmax_age: 1"
            + " | line 2: mode must be enforce, testing or none, was 'strict'",
        "version: STSv1\\nmode: enforce\\nmode: testing\\nmx: a.example\\nmax_age: 1 | line 3: a second 'mode' line",
        "version: STSv1\\nversion: STSv1\\nmode: enforce\\nmx: a.example\\nmax_age: 1"
            + " | line 2: a second 'version' line",
        "version: STSv1\\nmode: enforce\\nmx: a.example | no 'max_age' line",
        "version: STSv1\\nmode: enforce\\nmx: a.example\\nmax_age: 1\\nmax_age: 2 | line 5: a second 'max_age' line",
        "version: STSv1\\nmode: enforce\\nmx: a.example\\nmax_age: forever"
            + " | max_age must be 1 to 10 digits (seconds), was 'forever'",
        "version: STSv1\\nmode: enforce\\nmx: a.example\\nmax_age: -5"
            + " | max_age must be 1 to 10 digits (seconds), was '-5'",
        "version: STSv1\\nmode: enforce\\nmx: a.example\\nmax_age: 12345678901"
            + " | max_age must be 1 to 10 digits (seconds), was '12345678901'",
        "version: STSv1\\nmode: enforce\\nmax_age: 86400 | mode enforce needs at least one 'mx' line",
        "version: STSv1\\nmode: testing\\nmax_age: 86400 | mode testing needs at least one 'mx' line",
        "version: STSv1\\nmode: enforce\\nmx: *\\nmax_age: 1"
            + " | line 3: mx must be a host name or '*.' and a domain, was '*'",
        "version: STSv1\\nmode: enforce\\nmx: *.*.example.com\\nmax_age: 1"
            + " | line 3: mx must be a host name or '*.' and a domain, was '*.*.example.com'",
        "version: STSv1\\nmode: enforce\\nmx: mx..example.com\\nmax_age: 1"
            + " | line 3: mx must be a host name or '*.' and a domain, was 'mx..example.com'",
        "version: STSv1\\nmode: enforce\\nmx: mx_1.example.com\\nmax_age: 1"
            + " | line 3: mx must be a host name or '*.' and a domain, was 'mx_1.example.com'",
        "<html><body>Not found</body></html> | line 1 is not 'key: value': '<html><body>Not found</body></html>'",
        "version: STSv1\\nmode enforce\\nmx: a.example\\nmax_age: 1 | line 2 is not 'key: value': 'mode enforce'",
        "version: STSv1\\n: enforce\\nmx: a.example\\nmax_age: 1 | line 2 is not 'key: value': ': enforce'",
        "version: STSv1\\nmo de: enforce\\nmx: a.example\\nmax_age: 1 | line 2: 'mo de' is not a field name",
    })
    void parseShouldRejectMalformedPoliciesSayingWhy(String text, String message) {
        assertThatThrownBy(() -> MtaStsPolicy.parse(text.replace("\\n", "\n")))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(message);
    }

    @Test
    void parseShouldRejectControlCharactersInAnExtension() {
        assertThatThrownBy(() -> MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 1\nnote: a\u0007b\n"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage("line 4: a field value holds a control or non-ASCII character");
    }

    @Test
    void parseShouldShortenWhatItQuotes() {
        String longLine = "x".repeat(200);

        assertThatThrownBy(() -> MtaStsPolicy.parse(longLine))
            .isInstanceOf(MtaStsException.class)
            .hasMessage("line 1 is not 'key: value': '" + "x".repeat(64) + "...'");
    }

    @ParameterizedTest(name = "{0} allowed: {1}")
    @CsvSource({
        "gmail-smtp-in.l.google.com, true",
        "GMAIL-SMTP-IN.L.GOOGLE.COM., true",
        "alt1.gmail-smtp-in.l.google.com, true",
        "a.b.gmail-smtp-in.l.google.com, false",
        "l.google.com, false",
        "evilgmail-smtp-in.l.google.com, false",
        "mx.example.com, false",
    })
    void allowsMxShouldMatchHostsAndOneLabelWildcards(String host, boolean allowed) throws Exception {
        assertThat(MtaStsPolicy.parse(GMAIL).allowsMx(host)).isEqualTo(allowed);
    }

    @Test
    void policiesShouldBeValues() throws Exception {
        assertThat(MtaStsPolicy.parse(GMAIL)).isEqualTo(MtaStsPolicy.parse(GMAIL.replace("\r\n", "\n")))
            .hasSameHashCodeAs(MtaStsPolicy.parse(GMAIL));
        assertThat(MtaStsPolicy.parse(GMAIL).mxPatterns()).isEqualTo(List.of("gmail-smtp-in.l.google.com",
            "*.gmail-smtp-in.l.google.com"));
    }
}

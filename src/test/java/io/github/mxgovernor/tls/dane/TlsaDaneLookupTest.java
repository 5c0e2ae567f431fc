package io.github.mxgovernor.tls.dane;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.DaneVerdict;

import java.time.Clock;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class TlsaDaneLookupTest {
    private static final TlsaRecord RECORD = TlsaRecord.parse("3 1 1 "
        + "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6");

    @Test
    void secureRecordsShouldRequireAMatchingCertificate() {
        DaneVerdict verdict = verdictFor(TlsaResult.secure(List.of(RECORD), Set.of("mx.example.com"), "1 record"));

        assertThat(verdict.kind()).isEqualTo(DaneVerdict.Kind.REQUIRED);
        assertThat(verdict.matcher()).hasValueSatisfying(matcher ->
            assertThat(matcher.matches(List.of(), "mx.example.com")).isFalse());
    }

    @Test
    void signedButUnusableRecordsShouldStillRequireTls() {
        DaneVerdict verdict = verdictFor(TlsaResult.unusable("only PKIX usages"));

        assertThat(verdict.kind()).isEqualTo(DaneVerdict.Kind.REQUIRED);
        assertThat(verdict.matcher()).hasValueSatisfying(matcher ->
            assertThat(matcher.matches(List.of(), "mx.example.com")).isTrue());
    }

    @Test
    void unsignedZoneShouldLeaveTheRulesMode() {
        assertThat(verdictFor(TlsaResult.insecure("unsigned")).kind()).isEqualTo(DaneVerdict.Kind.NOT_APPLICABLE);
    }

    @Test
    void bogusOrFailedLookupsShouldDefer() {
        assertThat(verdictFor(TlsaResult.bogus("bad signature")).kind()).isEqualTo(DaneVerdict.Kind.UNUSABLE);
        assertThat(verdictFor(TlsaResult.failed("SERVFAIL")).kind()).isEqualTo(DaneVerdict.Kind.UNUSABLE);
        assertThat(verdictFor(TlsaResult.failed("SERVFAIL")).description()).contains("FAILED").contains("SERVFAIL");
    }

    private static DaneVerdict verdictFor(TlsaResult result) {
        return new TlsaDaneLookup((host, port) -> result, Clock.systemUTC()).lookup("mx.example.com", 25);
    }
}

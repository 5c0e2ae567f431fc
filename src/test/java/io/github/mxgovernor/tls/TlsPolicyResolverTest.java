package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.tls.SessionSecurity.Protection;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TlsPolicyResolverTest {
    private final FakeClock clock = FakeClock.at("2025-03-01T00:00:00Z");
    private final TlsPolicyResolver resolver = TlsPolicyResolver.rulesOnly(clock);
    private final DomainTlsPolicy noPolicy = DomainTlsPolicy.none("example.com", "no MTA-STS TXT record");

    @Test
    void theRuleModeShouldApplyWhenNothingRaisesIt() {
        TlsRequirement requirement = resolver.requirement(noPolicy, "google", TlsMode.REQUIRED, false,
            DaneVerdict.notAsked());

        assertThat(requirement.mode()).isEqualTo(TlsMode.REQUIRED);
        assertThat(requirement.sessionMode()).isEqualTo(TlsMode.REQUIRED);
        assertThat(requirement.describe()).isEqualTo("rule 'google' requires TLS");
        assertThat(requirement.allowsPlaintext()).isFalse();
    }

    @Test
    void mtaStsEnforceAndRequireTlsShouldRaiseTheLevelToVerifyAndBothBeNamed() throws Exception {
        DomainTlsPolicy enforce = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1\n"), "enforce");

        TlsRequirement requirement = resolver.requirement(enforce, "default", TlsMode.DISABLED, true,
            DaneVerdict.notAsked());

        assertThat(requirement.mode()).isEqualTo(TlsMode.VERIFY);
        assertThat(requirement.policies()).containsExactly("MTA-STS enforce policy of example.com", "REQUIRETLS");
        assertThat(requirement.describe()).isEqualTo("MTA-STS enforce policy of example.com and REQUIRETLS require"
            + " verified TLS (PKIX chain and host name)");
    }

    @Test
    void aVerifyRuleShouldStayNamedNextToThePoliciesThatAgree() {
        TlsRequirement requirement = resolver.requirement(noPolicy, "bank", TlsMode.VERIFY, true,
            DaneVerdict.notAsked());

        assertThat(requirement.policies()).containsExactly("rule 'bank'", "REQUIRETLS");
    }

    @Test
    void mtaStsTestingShouldNotRaiseTheLevel() throws Exception {
        DomainTlsPolicy testing = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 1\n"), "testing");

        TlsRequirement requirement = resolver.requirement(testing, "default", TlsMode.OPPORTUNISTIC, false,
            DaneVerdict.notAsked());

        assertThat(requirement.mode()).isEqualTo(TlsMode.OPPORTUNISTIC);
        assertThat(testing.admits("mx.other.com")).isTrue();
    }

    @Test
    void mtaStsTestingShouldRecordWhatEnforceWouldRefuse() throws Exception {
        DomainTlsPolicy testing = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 1\n"), "testing");
        TlsRequirement opened = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'r'"), DaneVerdict.notAsked());
        CertificateCheck untrusted = CertificateCheck.failed(TlsProblem.UNTRUSTED_CHAIN, "no path to a trusted anchor");

        assertThat(testing.testingFailure(encrypted("mx.example.com", CertificateCheck.valid(), opened))).isEmpty();
        assertThat(testing.testingFailure(encrypted("MX.other.com", CertificateCheck.valid(), opened)))
            .contains("MTA-STS testing: mx.other.com is not in [mx.example.com]");
        assertThat(testing.testingFailure(encrypted("mx.example.com", untrusted, opened)))
            .contains("MTA-STS testing: certificate chain not trusted: no path to a trusted anchor");
        assertThat(testing.testingFailure(encrypted("mx.other.com", CertificateCheck.failed(
            TlsProblem.HOST_NAME_MISMATCH, "No subject alternative DNS name matching mx.other.com found."), opened)))
            .contains("MTA-STS testing: mx.other.com is not in [mx.example.com]; certificate does not name the MX"
                + " host: No subject alternative DNS name matching mx.other.com found.");
        assertThat(testing.testingFailure(encrypted("mx.example.com", CertificateCheck.notChecked("no anchors"),
            opened))).contains("MTA-STS testing: certificate not checked: no anchors");
        assertThat(testing.testingFailure(SessionSecurity.plaintext("mx.example.com", opened, false)))
            .contains("MTA-STS testing: the session was not encrypted");
        assertThat(testing.testingFailure(SessionSecurity.plaintext("mx.example.com", opened, true)))
            .contains("MTA-STS testing: the session was not encrypted (plaintext after a failed TLS handshake)");
    }

    @Test
    void mtaStsTestingShouldLetDaneTakePrecedenceOverTheCertificateChecks() throws Exception {
        DomainTlsPolicy testing = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 1\n"), "testing");
        TlsRequirement dane = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'r'"),
            DaneVerdict.required("3 1 1 ab", (chain, host) -> true));
        SessionSecurity daneVerified = SessionSecurity.encrypted("mx.example.com", Protection.DANE_VERIFIED,
            "TLSv1.3", "TLS_AES_128_GCM_SHA256", dane, CertificateCheck.failed(TlsProblem.UNTRUSTED_CHAIN, "self"));

        assertThat(testing.testingFailure(daneVerified)).isEmpty();
    }

    @Test
    void onlyATestingPolicyShouldRecordFailures() throws Exception {
        DomainTlsPolicy enforce = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1\n"), "enforce");
        TlsRequirement opened = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'r'"), DaneVerdict.notAsked());
        SessionSecurity plaintext = SessionSecurity.plaintext("mx.other.com", opened, false);

        assertThat(enforce.testingFailure(plaintext)).isEmpty();
        assertThat(noPolicy.testingFailure(plaintext)).isEmpty();
    }

    @Test
    void aVerifiedSessionNeedsAValidCertificate() {
        TlsRequirement requirement = new TlsRequirement(TlsMode.VERIFY, List.of("rule 'r'"), DaneVerdict.notAsked());

        assertThatThrownBy(() -> SessionSecurity.encrypted("mx", Protection.VERIFIED, "TLSv1.3", "x", requirement,
            CertificateCheck.failed(TlsProblem.EXPIRED_CERTIFICATE, "NotAfter: 2020")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a verified session has a valid certificate, not certificate expired or not yet valid:"
                + " NotAfter: 2020");
    }

    @Test
    void aCertificateCheckShouldFailOnlyOnTheChainTheDatesOrTheName() {
        assertThatThrownBy(() -> CertificateCheck.failed(TlsProblem.NO_STARTTLS, "x"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a certificate check fails on the chain, the dates or the host name, not on NO_STARTTLS");
        assertThatThrownBy(() -> CertificateCheck.notChecked(" "))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("say why the certificate was not checked");
    }

    private static SessionSecurity encrypted(String mxHost, CertificateCheck check, TlsRequirement opened) {
        return SessionSecurity.encrypted(mxHost, Protection.ENCRYPTED, "TLSv1.3", "TLS_AES_128_GCM_SHA256", opened,
            check);
    }

    @Test
    void daneRecordsShouldMakeTlsMandatoryWithoutPkix() {
        TlsRequirement requirement = resolver.requirement(noPolicy, "dane", TlsMode.DISABLED, false,
            DaneVerdict.required("3 1 1 ab", (chain, host) -> true));

        assertThat(requirement.daneRequired()).isTrue();
        assertThat(requirement.sessionMode()).isEqualTo(TlsMode.REQUIRED);
        assertThat(requirement.allowsPlaintext()).isFalse();
        assertThat(requirement.describe()).isEqualTo("DANE requires a certificate matching TLSA 3 1 1 ab");
    }

    @ParameterizedTest(name = "{0} met by {1}: {2}")
    @CsvSource({
        "DISABLED, PLAINTEXT, true",
        "OPPORTUNISTIC, PLAINTEXT, true",
        "REQUIRED, PLAINTEXT, false",
        "REQUIRED, ENCRYPTED, true",
        "VERIFY, ENCRYPTED, false",
        "VERIFY, VERIFIED, true",
        "VERIFY, DANE_VERIFIED, true",
    })
    void aRequirementShouldBeMetOnlyByEnoughProtection(TlsMode mode, Protection protection, boolean met) {
        TlsRequirement requirement = new TlsRequirement(mode, List.of("rule 'r'"), DaneVerdict.notAsked());

        assertThat(requirement.isMetBy(protection)).isEqualTo(met);
    }

    @ParameterizedTest(name = "DANE met by {0}: {1}")
    @CsvSource({"PLAINTEXT, false", "ENCRYPTED, false", "VERIFIED, false", "DANE_VERIFIED, true"})
    void aDaneRequirementShouldBeMetOnlyByAMatchedCertificate(Protection protection, boolean met) {
        TlsRequirement requirement = new TlsRequirement(TlsMode.VERIFY, List.of("rule 'r'"),
            DaneVerdict.required("3 1 1 ab", (chain, host) -> true));

        assertThat(requirement.isMetBy(protection)).isEqualTo(met);
    }

    @Test
    void admitsShouldAgreeWithTheRequirementWithTheSessionsDaneVerdict() throws Exception {
        DomainTlsPolicy enforce = DomainTlsPolicy.mtaSts("example.com",
            MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1\n"), "enforce");
        TlsRequirement opened = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'r'"), DaneVerdict.notAsked());
        SessionSecurity encrypted = encrypted("mx.example.com", CertificateCheck.valid(), opened);
        SessionSecurity daneVerified = SessionSecurity.encrypted("mx.example.com", Protection.DANE_VERIFIED,
            "TLSv1.3", "TLS_AES_128_GCM_SHA256", new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'r'"),
                DaneVerdict.required("3 1 1 ab", (chain, host) -> true)), CertificateCheck.valid());

        assertThat(resolver.admits(encrypted, noPolicy, TlsMode.REQUIRED, false)).isTrue();
        assertThat(resolver.admits(encrypted, noPolicy, TlsMode.OPPORTUNISTIC, true)).isFalse();
        assertThat(resolver.admits(encrypted, enforce, TlsMode.OPPORTUNISTIC, false)).isFalse();
        assertThat(resolver.admits(daneVerified, enforce, TlsMode.OPPORTUNISTIC, true)).isTrue();
        assertThat(resolver.admits(SessionSecurity.plaintext("mx.example.com", opened, true), noPolicy,
            TlsMode.OPPORTUNISTIC, false)).isTrue();
    }

    @Test
    void anUnusableDaneVerdictShouldMakeTheRequirementUnsatisfiable() {
        TlsRequirement requirement = resolver.requirement(noPolicy, "dane", TlsMode.OPPORTUNISTIC, false,
            DaneVerdict.unusable("SERVFAIL"));

        assertThat(requirement.satisfiable()).isFalse();
        assertThat(requirement.describe()).isEqualTo("DANE cannot be evaluated (SERVFAIL)");
    }

    @Test
    void daneShouldBeLookedUpOnlyForRulesThatAskAndAFailingLookupBeUnusable() {
        TlsPolicyResolver throwing = new TlsPolicyResolver(Optional.empty(), (host, port) -> {
            throw new IllegalStateException("resolver down");
        }, new PlaintextFallbacks(Duration.ofHours(1), clock));

        assertThat(throwing.dane(false, "mx.example.com", 25)).isSameAs(DaneVerdict.notAsked());
        DaneVerdict verdict = throwing.dane(true, "mx.example.com", 25);
        assertThat(verdict.kind()).isEqualTo(DaneVerdict.Kind.UNUSABLE);
        assertThat(verdict.description()).isEqualTo("TLSA lookup of mx.example.com failed:"
            + " java.lang.IllegalStateException: resolver down");
    }

    @Test
    void daneNotConfiguredShouldNeverApply() {
        assertThat(resolver.dane(true, "mx.example.com", 25)).hasToString(
            "not applicable: DANE lookups are not configured");
    }

    @Test
    void withoutMtaStsEveryDomainShouldHaveNoPolicy() {
        DomainTlsPolicy policy = resolver.domainPolicy("example.com").join();

        assertThat(policy.mtaSts()).isEmpty();
        assertThat(policy.status()).isEqualTo("MTA-STS not used");
        assertThat(resolver.usesMtaSts()).isFalse();
    }

    @Test
    void aRequirementNeedsAPolicy() {
        assertThatThrownBy(() -> new TlsRequirement(TlsMode.REQUIRED, List.of(), DaneVerdict.notAsked()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a TLS requirement needs the policy that sets it");
    }

    @Test
    void plaintextFallbacksShouldBeForgottenAfterTheirMemory() {
        PlaintextFallbacks fallbacks = new PlaintextFallbacks(Duration.ofMinutes(10), clock);

        assertThat(fallbacks.remember("mx.example.com[192.0.2.1]:25")).isEqualTo("2025-03-01T00:10:00Z");
        clock.advance(Duration.ofMinutes(9));
        assertThat(fallbacks.remembered("mx.example.com[192.0.2.1]:25")).isPresent();
        assertThat(fallbacks.remembered("mx.example.com[192.0.2.2]:25")).isEmpty();
        clock.advance(Duration.ofMinutes(1));
        assertThat(fallbacks.remembered("mx.example.com[192.0.2.1]:25")).isEmpty();
    }

    @Test
    void aPlaintextFallbackMemoryMustBePositive() {
        assertThatThrownBy(() -> new PlaintextFallbacks(Duration.ZERO, clock))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("the plaintext fallback memory must be positive, was PT0S");
    }

    @Test
    void anEncryptedSessionCannotBePlaintext() {
        TlsRequirement requirement = new TlsRequirement(TlsMode.REQUIRED, List.of("rule 'r'"), DaneVerdict.notAsked());

        assertThatThrownBy(() -> SessionSecurity.encrypted("mx", Protection.PLAINTEXT, "TLSv1.3", "x", requirement,
            CertificateCheck.valid()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("an encrypted session cannot be plaintext");
    }
}

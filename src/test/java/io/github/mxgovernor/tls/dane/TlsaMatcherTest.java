package io.github.mxgovernor.tls.dane;

import static io.github.mxgovernor.tls.dane.DaneCertificates.MX_HOST;
import static io.github.mxgovernor.tls.dane.DaneCertificates.tlsa;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TlsaMatcherTest {
    private static final Clock NOW = Clock.systemUTC();
    private static DaneCertificates certificates;

    @BeforeAll
    static void createCertificates() throws Exception {
        certificates = DaneCertificates.get();
    }

    @Test
    void daneEeSpkiSha256ShouldMatchTheLeafKeyWhateverCertificateCarriesIt() throws Exception {
        TlsaRecord record = tlsa(3, 1, 1, certificates.leaf);
        TlsaMatcher matcher = matcher(record);

        assertThat(matcher.verify(List.of(certificates.leaf, certificates.ca))).isEqualTo(record);
        assertThat(matcher.verify(List.of(certificates.leaf))).isEqualTo(record);
        assertThat(matcher.verify(List.of(certificates.selfSignedLeaf))).isEqualTo(record);
    }

    @Test
    void daneEeCertificateSha256ShouldMatchOnlyThatCertificate() throws Exception {
        TlsaMatcher matcher = matcher(tlsa(3, 0, 1, certificates.leaf));

        assertThat(matcher.matches(List.of(certificates.leaf, certificates.ca))).isTrue();
        assertThat(matcher.matches(List.of(certificates.selfSignedLeaf))).isFalse();
    }

    @Test
    void daneEeSpkiSha512AndExactCertificateShouldMatch() throws Exception {
        assertThat(matcher(tlsa(3, 1, 2, certificates.leaf)).matches(List.of(certificates.leaf))).isTrue();
        assertThat(matcher(tlsa(3, 0, 0, certificates.leaf)).matches(List.of(certificates.leaf))).isTrue();
        assertThat(matcher(tlsa(3, 1, 0, certificates.leaf)).matches(List.of(certificates.leaf))).isTrue();
    }

    @Test
    void daneEeShouldRejectAnotherLeafAndSayWhy() throws Exception {
        TlsaRecord record = tlsa(3, 1, 1, certificates.leaf);

        assertThatThrownBy(() -> matcher(record).verify(List.of(certificates.otherLeaf, certificates.ca)))
            .isInstanceOf(CertificateException.class)
            .hasMessage("the certificate chain of CN=other.example matches no TLSA record (" + record
                + ": the leaf certificate does not match)");
    }

    @Test
    void daneEeShouldIgnoreNamesAndValidityDates() throws Exception {
        Clock afterExpiry = after(certificates.otherLeaf);
        TlsaMatcher matcher = new TlsaMatcher(List.of(tlsa(3, 1, 1, certificates.otherLeaf)), Set.of(MX_HOST),
            afterExpiry);

        assertThat(matcher.matches(List.of(certificates.otherLeaf))).isTrue();
    }

    @Test
    void daneTaShouldAcceptALeafTheAnchorIssuedForTheMxHost() throws Exception {
        TlsaRecord record = tlsa(2, 0, 1, certificates.ca);

        assertThat(matcher(record).verify(List.of(certificates.leaf, certificates.ca))).isEqualTo(record);
    }

    @Test
    void daneTaShouldAcceptAWildcardCoveringTheReferenceName() throws Exception {
        assertThat(matcher(tlsa(2, 0, 1, certificates.ca))
            .matches(List.of(certificates.wildcardLeaf, certificates.ca))).isTrue();
    }

    @Test
    void daneTaShouldAcceptTheTlsaBaseDomainAsWellAsTheMxHost() throws Exception {
        TlsaMatcher matcher = new TlsaMatcher(List.of(tlsa(2, 0, 1, certificates.ca)),
            Set.of("alias.example.", "OTHER.example."), NOW);

        assertThat(matcher.matches(List.of(certificates.otherLeaf, certificates.ca))).isTrue();
    }

    @Test
    void daneTaShouldRejectALeafForAnotherName() throws Exception {
        TlsaRecord record = tlsa(2, 0, 1, certificates.ca);

        assertThatThrownBy(() -> matcher(record).verify(List.of(certificates.otherLeaf, certificates.ca)))
            .isInstanceOf(CertificateException.class)
            .hasMessageContaining(record + ": the leaf's names [other.example] include none of [mx.example]");
    }

    @Test
    void daneTaShouldRejectALeafTheAnchorDidNotIssue() throws Exception {
        TlsaRecord record = tlsa(2, 0, 1, certificates.ca);

        assertThatThrownBy(() -> matcher(record).verify(List.of(certificates.selfSignedLeaf, certificates.ca)))
            .isInstanceOf(CertificateException.class)
            .hasMessageContaining(record + ": the leaf does not chain to the trust anchor");
    }

    @Test
    void daneTaShouldRejectAnExpiredLeaf() throws Exception {
        TlsaMatcher matcher = new TlsaMatcher(List.of(tlsa(2, 0, 1, certificates.ca)), Set.of(MX_HOST),
            after(certificates.leaf));

        assertThatThrownBy(() -> matcher.verify(List.of(certificates.leaf, certificates.ca)))
            .isInstanceOf(CertificateException.class)
            .hasMessageContaining("the leaf does not chain to the trust anchor");
    }

    @Test
    void daneTaShouldNeedTheAnchorCertificateInTheChainUnlessTheRecordHoldsItsWholeKey() throws Exception {
        TlsaRecord digest = tlsa(2, 0, 1, certificates.ca);
        TlsaRecord wholeKey = tlsa(2, 1, 0, certificates.ca);

        assertThatThrownBy(() -> matcher(digest).verify(List.of(certificates.leaf)))
            .hasMessageContaining(digest + ": no certificate the server sent after its leaf matches this trust"
                + " anchor");
        assertThat(matcher(wholeKey).verify(List.of(certificates.leaf))).isEqualTo(wholeKey);
    }

    @Test
    void daneTaShouldNotBeSatisfiedByTheLeafItself() throws Exception {
        TlsaRecord record = tlsa(2, 0, 1, certificates.selfSignedLeaf);

        assertThat(matcher(record).matches(List.of(certificates.selfSignedLeaf))).isFalse();
    }

    @Test
    void pkixUsagesShouldBeIgnoredEvenWhenTheyMatch() throws Exception {
        TlsaRecord pkixEe = tlsa(1, 1, 1, certificates.leaf);
        TlsaRecord pkixTa = tlsa(0, 0, 1, certificates.ca);
        TlsaRecord otherEe = tlsa(3, 1, 1, certificates.otherLeaf);
        TlsaMatcher matcher = matcher(pkixEe, pkixTa, otherEe);

        assertThat(matcher.records()).containsExactly(otherEe);
        assertThatThrownBy(() -> matcher.verify(List.of(certificates.leaf, certificates.ca)))
            .hasMessage("the certificate chain of CN=mx.example matches no TLSA record (" + otherEe
                + ": the leaf certificate does not match)");
    }

    @Test
    void constructorShouldRefuseRecordsOfWhichNoneIsUsable() throws Exception {
        TlsaRecord pkixEe = tlsa(1, 1, 1, certificates.leaf);
        TlsaRecord unknownSelector = new TlsaRecord(3, 2, 1, new byte[32]);

        assertThatThrownBy(() -> matcher(pkixEe, unknownSelector))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("no usable TLSA record among [" + pkixEe + ", " + unknownSelector + "]: only DANE-TA(2) and"
                + " DANE-EE(3) with selector 0 or 1 and matching type 0, 1 or 2 count");
    }

    @Test
    void verifyShouldRefuseAnEmptyChain() throws Exception {
        assertThatThrownBy(() -> matcher(tlsa(3, 1, 1, certificates.leaf)).verify(List.of()))
            .isInstanceOf(CertificateException.class)
            .hasMessage("the server presented no certificate");
    }

    @Test
    void forResultShouldTakeTheRecordsAndNamesOfASecureResult() throws Exception {
        TlsaResult secure = TlsaResult.secure(List.of(tlsa(2, 0, 1, certificates.ca)), List.of("other.example"),
            "test");

        TlsaMatcher matcher = TlsaMatcher.forResult(secure, NOW);

        assertThat(matcher.matches(List.of(certificates.otherLeaf, certificates.ca))).isTrue();
        assertThat(matcher.matches(List.of(certificates.leaf, certificates.ca))).isFalse();
    }

    @Test
    void forResultShouldRefuseAResultThatIsNotSecure() {
        assertThatThrownBy(() -> TlsaMatcher.forResult(TlsaResult.insecure("zone unsigned"), NOW))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("only a SECURE TLSA result has records to match, this one is INSECURE: zone unsigned");
    }

    private static TlsaMatcher matcher(TlsaRecord... records) {
        return new TlsaMatcher(List.of(records), Set.of(MX_HOST), NOW);
    }

    private static Clock after(X509Certificate certificate) {
        return Clock.fixed(certificate.getNotAfter().toInstant().plus(Duration.ofDays(1)), ZoneOffset.UTC);
    }
}

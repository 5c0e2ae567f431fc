package io.github.mxgovernor.tls.dane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.tls.dane.TlsaResult.Status;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

class ValidatingTlsaLookupTest {
    private static final Instant NOW = Instant.parse("2026-03-01T00:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final TlsaRecord DANE_EE = TlsaRecord.parse("3 1 1 " + "a1".repeat(32));
    private static final TlsaRecord DANE_TA = TlsaRecord.parse("2 0 1 " + "b2".repeat(32));
    private static final TlsaRecord PKIX_EE = TlsaRecord.parse("1 1 1 " + "c3".repeat(32));
    private static final TlsaRecord PKIX_TA = TlsaRecord.parse("0 0 1 " + "d4".repeat(32));
    private static final TlsaRecord SUBMISSION = TlsaRecord.parse("3 1 2 " + "e5".repeat(64));
    private static final int BIG_SET = 20;

    private static TestZone example;
    private static FakeDnsServer server;

    @BeforeAll
    static void startDns() throws Exception {
        example = TestZone.signed("example.")
            .add("mx", Type.A, "192.0.2.25")
            .add("_25._tcp.mx", Type.TLSA, DANE_EE.toString())
            .add("_25._tcp.mx", Type.TLSA, DANE_TA.toString())
            .add("_25._tcp.mx", Type.TLSA, PKIX_EE.toString())
            .add("_587._tcp.mx", Type.TLSA, SUBMISSION.toString())
            .add("alias", Type.CNAME, "mx")
            .add("mx2", Type.A, "192.0.2.26")
            .add("_25._tcp.mx2", Type.CNAME, "tlsa.shared")
            .add("tlsa.shared", Type.TLSA, DANE_EE.toString())
            .add("plain", Type.A, "192.0.2.27")
            .add("nodata", Type.A, "192.0.2.28")
            .add("_25._tcp.nodata", Type.TXT, "\"no TLSA here\"")
            .add("pkix", Type.A, "192.0.2.29")
            .add("_25._tcp.pkix", Type.TLSA, PKIX_EE.toString())
            .add("_25._tcp.pkix", Type.TLSA, PKIX_TA.toString())
            .add("forged", Type.A, "192.0.2.30")
            .add("_25._tcp.forged", Type.TLSA, DANE_EE.toString())
            .add("forgedaddress", Type.A, "192.0.2.31")
            .add("_25._tcp.forgedaddress", Type.TLSA, DANE_EE.toString())
            .add("big", Type.A, "192.0.2.32")
            .add("broken", Type.A, "192.0.2.33")
            .add("slow", Type.A, "192.0.2.34")
            .delegate("insecure");
        for (int i = 0; i < BIG_SET; i++) {
            example.add("_25._tcp.big", Type.TLSA, bigSetRecord(i).toString());
        }
        example.sign(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)))
            .corruptSignatures("_25._tcp.forged", Type.TLSA)
            .corruptSignatures("forgedaddress", Type.A);
        TestZone insecure = TestZone.unsigned("insecure.example.")
            .add("mx", Type.A, "192.0.2.35")
            .add("_25._tcp.mx", Type.TLSA, DANE_EE.toString());
        server = FakeDnsServer.start(example, insecure);
        server.answerServfail(Name.fromString("_25._tcp.broken.example."));
        server.ignore(Name.fromString("_25._tcp.slow.example."));
    }

    @AfterAll
    static void stopDns() throws Exception {
        server.close();
    }

    @Test
    void signedTlsaRecordsShouldBeSecureWithTheUsableOnesAndTheMxHostAsReferenceName() {
        TlsaResult result = lookup().lookup("mx.example", 25);

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.records()).containsExactlyInAnyOrder(DANE_EE, DANE_TA);
        assertThat(result.referenceNames()).containsExactly("mx.example");
        assertThat(result.detail())
            .isEqualTo("2 DNSSEC-signed TLSA record(s) at _25._tcp.mx.example., 1 unusable ignored");
    }

    @Test
    void lookupShouldAskForTheGivenPort() {
        TlsaResult result = lookup().lookup("mx.example.", 587);

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.records()).containsExactly(SUBMISSION);
    }

    @Test
    void anMxHostThatIsACnameShouldUseTheExpandedNameAsTlsaBaseDomain() {
        TlsaResult result = lookup().lookup("alias.example", 25);

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.referenceNames()).containsExactlyInAnyOrder("mx.example", "alias.example");
        assertThat(result.detail()).contains("at _25._tcp.mx.example.");
    }

    @Test
    void aTlsaCnameShouldBeFollowed() {
        TlsaResult result = lookup().lookup("mx2.example", 25);

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.records()).containsExactly(DANE_EE);
        assertThat(result.referenceNames()).containsExactly("mx2.example");
        assertThat(result.detail())
            .isEqualTo("1 DNSSEC-signed TLSA record(s) at _25._tcp.mx2.example. (CNAME to tlsa.shared.example.)");
    }

    @Test
    void aSignedZoneWithoutTheTlsaNameShouldBeInsecure() {
        TlsaResult result = lookup().lookup("plain.example", 25);

        assertThat(result.status()).isEqualTo(Status.INSECURE);
        assertThat(result.detail()).isEqualTo("DNSSEC proves there are no TLSA records at _25._tcp.plain.example., so"
            + " DANE does not apply");
    }

    @Test
    void aSignedNameWithoutTlsaRecordsShouldBeInsecure() {
        TlsaResult result = lookup().lookup("nodata.example", 25);

        assertThat(result.status()).isEqualTo(Status.INSECURE);
        assertThat(result.detail()).startsWith("DNSSEC proves there are no TLSA records at _25._tcp.nodata.example.");
    }

    @Test
    void anUnsignedZoneShouldBeInsecure() {
        TlsaResult result = lookup().lookup("mx.insecure.example", 25);

        assertThat(result.status()).isEqualTo(Status.INSECURE);
        assertThat(result.detail()).isEqualTo("the address records of mx.insecure.example. are not DNSSEC-signed, so"
            + " DANE does not apply");
    }

    @Test
    void signedTlsaRecordsOfWhichNoneIsUsableShouldRequireTlsWithoutAuthentication() {
        TlsaResult result = lookup().lookup("pkix.example", 25);

        assertThat(result.status()).isEqualTo(Status.UNUSABLE);
        assertThat(result.status().requiresTls()).isTrue();
        assertThat(result.detail()).startsWith("none of the DNSSEC-signed TLSA records at _25._tcp.pkix.example. is"
            + " usable for SMTP [").endsWith("]: TLS is required, the certificate is not checked");
    }

    @Test
    void aBadSignatureOnTheTlsaRecordsShouldBeBogus() {
        TlsaResult result = lookup().lookup("forged.example", 25);

        assertThat(result.status()).isEqualTo(Status.BOGUS);
        assertThat(result.detail()).startsWith("DNSSEC validation of _25._tcp.forged.example./TLSA failed: ");
    }

    @Test
    void aBadSignatureOnTheAddressRecordsShouldBeBogus() {
        TlsaResult result = lookup().lookup("forgedaddress.example", 25);

        assertThat(result.status()).isEqualTo(Status.BOGUS);
        assertThat(result.detail()).startsWith("DNSSEC validation of forgedaddress.example./A failed: ");
    }

    @Test
    void aTrustAnchorTheZoneIsNotSignedWithShouldMakeItBogus() throws Exception {
        ValidatingTlsaLookup lookup = ValidatingTlsaLookup.builder()
            .upstream(server.address())
            .trustAnchors(TestZone.signed("example.").sign(NOW, NOW.plus(Duration.ofDays(1))).trustAnchor())
            .clock(CLOCK)
            .build();

        TlsaResult result = lookup.lookup("mx.example", 25);

        assertThat(result.status()).isEqualTo(Status.BOGUS);
        assertThat(result.detail()).startsWith("DNSSEC validation of mx.example./A failed: ");
    }

    @Test
    void aTlsaSetTooLargeForUdpShouldBeFetchedOverTcp() {
        List<TlsaRecord> expected = new ArrayList<>();
        for (int i = 0; i < BIG_SET; i++) {
            expected.add(bigSetRecord(i));
        }
        int tcpBefore = server.tcpQueries();

        TlsaResult result = lookup().lookup("big.example", 25);

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.records()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(server.tcpQueries()).isGreaterThan(tcpBefore);
    }

    @Test
    void aServfailShouldBeAFailedLookup() {
        TlsaResult result = lookup().lookup("broken.example", 25);

        assertThat(result.status()).isEqualTo(Status.FAILED);
        assertThat(result.detail()).isEqualTo("DNS lookup of _25._tcp.broken.example./TLSA through 127.0.0.1:"
            + server.address().getPort() + " answered SERVFAIL");
    }

    @Test
    void noAnswerWithinTheTimeoutShouldBeAFailedLookup() {
        ValidatingTlsaLookup lookup = builder().timeout(Duration.ofMillis(300)).build();

        TlsaResult result = lookup.lookup("slow.example", 25);

        assertThat(result.status()).isEqualTo(Status.FAILED);
        assertThat(result.detail()).startsWith("DNS lookup of _25._tcp.slow.example./TLSA through 127.0.0.1:"
            + server.address().getPort() + " failed: Timed out");
    }

    @Test
    void lookupShouldRefuseBadHostNamesAndPorts() {
        ValidatingTlsaLookup lookup = lookup();

        assertThatThrownBy(() -> lookup.lookup(" ", 25))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("mxHost must not be blank");
        assertThatThrownBy(() -> lookup.lookup("mx..example", 25))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("mxHost 'mx..example' is not a DNS name: ");
        assertThatThrownBy(() -> lookup.lookup("mx.example", 0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("port must be 1..65535, was 0");
    }

    @Test
    void builderShouldAcceptTheRootTrustAnchors() {
        assertThatCode(() -> ValidatingTlsaLookup.builder().trustAnchors(ValidatingTlsaLookup.ROOT_TRUST_ANCHORS))
            .doesNotThrowAnyException();
    }

    @Test
    void builderShouldRefuseTrustAnchorsThatDoNotParse() {
        assertThatThrownBy(() -> ValidatingTlsaLookup.builder().trustAnchors(". IN DS not-a-key-tag 8 2 00"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("trustAnchors: ");
    }

    @Test
    void builderShouldRefuseTrustAnchorsWithoutDsOrDnskey() {
        assertThatThrownBy(() -> ValidatingTlsaLookup.builder().trustAnchors("example. IN A 192.0.2.1"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("trustAnchors holds no DS or DNSKEY record");
    }

    @Test
    void builderShouldRefuseATimeoutThatIsNotPositive() {
        assertThatThrownBy(() -> ValidatingTlsaLookup.builder().timeout(Duration.ZERO))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("timeout must be positive, was PT0S");
    }

    @Test
    void builderShouldRefuseAnUnresolvedUpstream() {
        assertThatThrownBy(() -> ValidatingTlsaLookup.builder()
            .upstream(InetSocketAddress.createUnresolved("resolver.example", 53)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("upstream must be an IP address and port, was resolver.example/<unresolved>:53");
    }

    private static ValidatingTlsaLookup lookup() {
        return builder().build();
    }

    private static ValidatingTlsaLookup.Builder builder() {
        return ValidatingTlsaLookup.builder()
            .upstream(server.address())
            .trustAnchors(example.trustAnchor())
            .timeout(Duration.ofSeconds(5))
            .clock(CLOCK);
    }

    private static TlsaRecord bigSetRecord(int i) {
        byte[] data = new byte[64];
        data[0] = (byte) i;
        return new TlsaRecord(3, 1, 2, data);
    }
}

package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.TlsOutcome;
import io.github.mxgovernor.james.DeferralAttributes;
import io.github.mxgovernor.james.SharedGovernor;
import io.github.mxgovernor.testing.TestPki;
import io.github.mxgovernor.tls.dane.FakeDnsServer;
import io.github.mxgovernor.tls.dane.TestZone;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * DANE in a real (embedded) James 3.8.1: the mailet's DNSSEC-validating resolver pointed ({@code daneResolver},
 * {@code daneTrustAnchors}) at a name server on loopback that serves a zone signed with dnsjava, and fake MX servers
 * with STARTTLS and certificates made by the test. James's own DNS service (the loopback stand-in) gives MX and
 * address records; the signed zone gives the MX hosts' DNSSEC-signed A and TLSA records.
 *
 * <p>The fake MX servers listen on ephemeral ports, which their MX values name; their TLSA records are published
 * where a real MX host's are, at {@code _25._tcp.<mx host>}, and that is where the lookups go.
 */
class DaneIT {
    private static final String DELIVERED = "memory://var/mail/delivered/";
    private static final Duration LONG = Duration.ofSeconds(60);

    @TempDir
    static Path temp;

    private static final List<FakeMxServer> servers = new ArrayList<>();
    private static FakeMxServer matching;
    private static FakeMxServer mismatched;
    private static FakeMxServer forged;
    private static FakeMxServer unsigned;
    private static FakeDnsServer nameServer;
    private static EmbeddedJames james;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.authority();
        TestPki.ServerCertificate good = pki.issue("mx1.dane.test");
        TestPki.ServerCertificate other = pki.issue("mx2.dane.test");
        TestPki.ServerCertificate third = pki.issue("mx3.dane.test");
        matching = server(FakeMxServer.builder("127.0.0.81").hostName("mx1.dane.test").tls(good.serverContext()));
        mismatched = server(FakeMxServer.builder("127.0.0.82").hostName("mx2.dane.test")
            .tls(other.serverContext()));
        forged = server(FakeMxServer.builder("127.0.0.83").hostName("mx3.dane.test").tls(third.serverContext()));
        unsigned = server(FakeMxServer.builder("127.0.0.84").hostName("mx.insecure.test"));

        Instant now = Instant.now();
        TestZone signed = TestZone.signed("dane.test.")
            .add("mx1", Type.A, "127.0.0.81")
            .add("_25._tcp.mx1", Type.TLSA, daneEe(good.certificate()))
            .add("mx2", Type.A, "127.0.0.82")
            // the record names mx1's key: mx2's certificate matches no record
            .add("_25._tcp.mx2", Type.TLSA, daneEe(good.certificate()))
            .add("mx3", Type.A, "127.0.0.83")
            .add("_25._tcp.mx3", Type.TLSA, daneEe(third.certificate()))
            .sign(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)))
            .corruptSignatures("_25._tcp.mx3", Type.TLSA);
        TestZone insecure = TestZone.unsigned("insecure.test.")
            .add("mx", Type.A, "127.0.0.84")
            .add("_25._tcp.mx", Type.TLSA, daneEe(good.certificate()));
        nameServer = FakeDnsServer.start(signed, insecure);

        Path anchors = temp.resolve("dane-anchors.zone");
        Files.writeString(anchors, "; the test zone's key-signing key, as the root's would be\n"
            + signed.trustAnchor() + "\n");
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, String.join("\n",
            "<mx-rules>",
            "  <default connectTimeout=\"2s\" commandTimeout=\"2s\" dataTimeout=\"5s\" idleTimeout=\"1s\"/>",
            "  <rule name=\"dane\" mx=\"*.dane.test, *.insecure.test\" tls=\"opportunistic\" dane=\"true\"/>",
            "</mx-rules>"));

        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("daneResolver", "127.0.0.1:" + nameServer.address().getPort());
        parameters.put("daneTrustAnchors", anchors.toString());
        parameters.put("daneTimeout", "5s");
        parameters.put("mtaSts", "false");
        parameters.put("delayTime", "1000");
        parameters.put("maxRetries", "100");
        parameters.put("maxLaneWait", "2s");

        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("good.test", "mx1.dane.test", matching)
            .mx("mismatch.test", "mx2.dane.test", mismatched)
            .mx("bogus.test", "mx3.dane.test", forged)
            .mx("unsigned.test", "mx.insecure.test", unsigned)
            .start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
        if (nameServer != null) {
            nameServer.close();
        }
    }

    @Test
    void aMatchingTlsaRecordShouldDeliverOverTlsAndSayDaneVerified() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@good.test");

        await().atMost(LONG).until(() -> matching.messageIds().contains(messageId));
        assertThat(matching.messagesOverTls()).isEqualTo(matching.messageCount());
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("good.test"), Optional::isPresent)
            .orElseThrow();
        assertThat(tls).containsEntry("mx", "mx1.dane.test")
            .containsEntry("protection", "dane-verified")
            .containsEntry("dane", "TLSA 1 DNSSEC-signed TLSA record(s) at _25._tcp.mx1.dane.test.")
            .containsEntry("policy", "DANE requires a certificate matching TLSA 1 DNSSEC-signed TLSA record(s) at"
                + " _25._tcp.mx1.dane.test.");
        assertThat(tls.get("protocol")).startsWith("TLSv1.");
    }

    @Test
    void aTlsaMismatchShouldDeferWithoutSendingTheMailUntilTheMxIsFixed() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@mismatch.test");

        // two attempts, each ended after the handshake: the certificate matched no record
        await().atMost(LONG).until(() -> mismatched.tlsHandshakes() >= 2);
        // the server counts a handshake when it ends on its side, before the client has judged the certificate
        await().atMost(LONG).until(() -> destination("mx2.dane.test").stats().tlsCount(TlsOutcome.FAILED) >= 2);
        assertNothingOfTheMailSent(mismatched);
        assertThat(james.queueSize(EmbeddedJames.OUTGOING_QUEUE)).isPositive();

        // the domain moves its MX to a host whose certificate matches its records: the waiting mail goes there
        james.dns().mx("mismatch.test", "mx1.dane.test:" + matching.port());
        james.flushQueue(EmbeddedJames.OUTGOING_QUEUE);

        await().atMost(LONG).until(() -> matching.messageIds().contains(messageId));
        assertNothingOfTheMailSent(mismatched);
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecord("mismatch.test"),
            Optional::isPresent).orElseThrow();
        assertThat(record.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
        assertThat(record.reason()).isEqualTo(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(record.failedAttempts()).isGreaterThanOrEqualTo(2);
        assertThat(record.history()).isNotEmpty().allSatisfy(event -> assertThat(event.message())
            .contains("DANE requires a certificate matching TLSA 1 DNSSEC-signed TLSA record(s) at"
                + " _25._tcp.mx2.dane.test.")
            .contains("mx2.dane.test[127.0.0.82]:" + mismatched.port() + ": certificate matches no TLSA record"));
        assertThat(deliveredTls("mismatch.test").orElseThrow()).containsEntry("protection", "dane-verified");
    }

    @Test
    void aBogusTlsaAnswerShouldDeferWithoutConnectingUntilTheMxIsFixed() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@bogus.test");

        await().atMost(LONG).until(() -> destination("mx3.dane.test").stats().tlsCount(TlsOutcome.FAILED) >= 2);
        assertThat(forged.totalConnections()).isZero();
        assertThat(james.queueSize(EmbeddedJames.OUTGOING_QUEUE)).isPositive();

        james.dns().mx("bogus.test", "mx1.dane.test:" + matching.port());
        james.flushQueue(EmbeddedJames.OUTGOING_QUEUE);

        await().atMost(LONG).until(() -> matching.messageIds().contains(messageId));
        assertThat(forged.totalConnections()).isZero();
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecord("bogus.test"),
            Optional::isPresent).orElseThrow();
        assertThat(record.reason()).isEqualTo(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(record.history()).isNotEmpty().allSatisfy(event -> assertThat(event.message())
            .contains("DANE cannot be evaluated (BOGUS: DNSSEC validation of _25._tcp.mx3.dane.test./TLSA failed: ")
            .contains("TLSA lookup bogus or failed"));
    }

    @Test
    void anUnsignedZoneShouldLeaveTheRulesModeInForce() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@unsigned.test");

        await().atMost(LONG).until(() -> unsigned.messageIds().contains(messageId));
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("unsigned.test"),
            Optional::isPresent).orElseThrow();
        assertThat(tls).containsEntry("protection", "plaintext")
            .containsEntry("policy", "rule 'dane' requires TLS mode opportunistic")
            .containsEntry("dane", "not applicable: the address records of mx.insecure.test. are not"
                + " DNSSEC-signed, so DANE does not apply");
    }

    /** No transaction was started: no envelope, no content, in plaintext or otherwise. */
    private static void assertNothingOfTheMailSent(FakeMxServer server) {
        assertThat(server.commandCount("MAIL")).isZero();
        assertThat(server.commandCount("RCPT")).isZero();
        assertThat(server.commandCount("DATA")).isZero();
        assertThat(server.commandCount("BDAT")).isZero();
        assertThat(server.messageCount()).isZero();
    }

    /** DANE-EE, SubjectPublicKeyInfo, SHA-256: the {@code 3 1 1} record of a certificate. */
    private static String daneEe(X509Certificate certificate) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded());
        StringBuilder record = new StringBuilder("3 1 1 ");
        for (byte b : digest) {
            record.append(String.format("%02x", b & 0xff));
        }
        return record.toString();
    }

    private static Destination destination(String mxHost) {
        return SharedGovernor.current().orElseThrow().destinations().stream()
            .filter(destination -> destination.name().equals(mxHost))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no destination " + mxHost));
    }

    private static FakeMxServer server(FakeMxServer.Builder builder) {
        FakeMxServer server = builder.start();
        servers.add(server);
        return server;
    }

    /** The {@code mxgovernor.tls} attribute of the delivered copy for this domain, as strings. */
    private static Optional<Map<String, String>> deliveredTls(String domain) throws Exception {
        return james.readMails(DELIVERED, EmbeddedJames.inDomain(domain), TlsAttribute::of).stream().findFirst();
    }

    private static Optional<DeferralRecord> deliveredRecord(String domain) throws Exception {
        return james.readMails(DELIVERED, EmbeddedJames.inDomain(domain), DeferralAttributes::read).stream()
            .findFirst();
    }
}

package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.james.DeferralAttributes;
import io.github.mxgovernor.testing.TestPki;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS policy in a real (embedded) James 3.8.1: certificates verified against the operator's trust store, the
 * mailet's {@code tls} default for rules that set none, plaintext only where the policy allows it, the
 * {@code mxgovernor.tls} attribute on delivered copies, and MTA-STS trouble that never costs a mail.
 */
class TlsPolicyIT {
    private static final String DELIVERED = "memory://var/mail/delivered/";
    private static final String BOUNCED = "memory://var/mail/bounced/";
    private static final Duration LONG = Duration.ofSeconds(60);

    @TempDir
    static Path temp;

    private static final List<FakeMxServer> servers = new ArrayList<>();
    private static FakeMxServer secure;
    private static FakeMxServer plain;
    private static FakeMxServer strict;
    private static FakeMxServer policed;
    private static EmbeddedJames james;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.authority();
        secure = server(FakeMxServer.builder("127.0.0.51").tls(pki.issue("mx1.secure.test").serverContext()));
        plain = server(FakeMxServer.builder("127.0.0.52"));
        strict = server(FakeMxServer.builder("127.0.0.53"));
        policed = server(FakeMxServer.builder("127.0.0.54").tls(pki.issue("mx1.policed.test").serverContext()));

        Path trustStore = temp.resolve("trust.p12");
        try (OutputStream out = Files.newOutputStream(trustStore)) {
            pki.trustStore().store(out, "changeit".toCharArray());
        }
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, String.join("\n",
            "<mx-rules>",
            "  <default connectTimeout=\"2s\" commandTimeout=\"2s\" dataTimeout=\"5s\" idleTimeout=\"1s\"/>",
            "  <rule name=\"secure\" mx=\"*.secure.test\" tls=\"verify\"/>",
            "  <rule name=\"lenient\" mx=\"*.plain.test, *.policed.test\" tls=\"opportunistic\"/>",
            "</mx-rules>"));

        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("tls", "required");
        parameters.put("trustStore", trustStore.toString());
        parameters.put("trustStorePassword", "changeit");
        parameters.put("mtaStsTimeout", "2s");
        parameters.put("delayTime", "300");
        parameters.put("maxRetries", "1");
        parameters.put("maxLaneWait", "2s");

        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("secure.test", "mx1.secure.test", secure)
            .mx("plain.test", "mx1.plain.test", plain)
            .mx("strict.test", "mx1.strict.test", strict)
            .mx("badtxt.test", "mx1.policed.test", policed)
            .mx("nopolicyhost.test", "mx1.policed.test", policed)
            .start();
        james.dns()
            .txt("_mta-sts.badtxt.test", "v=STSv1; id=not valid;")
            .txt("_mta-sts.nopolicyhost.test", "\"v=STSv1; id=20250301;\"");
    }

    @AfterAll
    static void stop() {
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
    }

    @Test
    void aVerifyRuleShouldDeliverOverVerifiedTlsAndRecordProtocolAndCipher() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@secure.test");

        await().atMost(LONG).until(() -> secure.messageIds().contains(messageId));
        assertThat(secure.messagesOverTls()).isEqualTo(secure.messageCount());
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("secure.test"), Optional::isPresent)
            .orElseThrow();
        assertThat(tls).containsEntry("mx", "mx1.secure.test")
            .containsEntry("protection", "verified")
            .containsEntry("policy", "rule 'secure' requires verified TLS (PKIX chain and host name)");
        assertThat(tls.get("protocol")).startsWith("TLSv1.");
        assertThat(tls.get("cipher")).startsWith("TLS_");
    }

    @Test
    void anOpportunisticRuleShouldDeliverInPlaintextToAServerWithoutTlsAndSaySo() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@plain.test");

        await().atMost(LONG).until(() -> plain.messageIds().contains(messageId));
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("plain.test"), Optional::isPresent)
            .orElseThrow();
        assertThat(tls).containsEntry("protection", "plaintext").doesNotContainKeys("protocol", "cipher");
    }

    @Test
    void theMailetTlsDefaultShouldKeepMailOffAServerWithoutTlsAndRecordWhy() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "nobody@strict.test");

        DeferralRecord record = await().atMost(LONG).until(() -> bouncedRecord("nobody@strict.test"),
            Optional::isPresent).orElseThrow();
        assertThat(record.status()).isEqualTo(DeferralRecord.Status.BOUNCED);
        assertThat(record.reason()).isEqualTo(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(record.history()).isNotEmpty().allSatisfy(event -> {
            assertThat(event.reason()).isEqualTo(DeferralReason.TLS_POLICY_FAILURE);
            assertThat(event.message()).contains("rule 'default' requires TLS")
                .contains("STARTTLS not offered");
        });
        assertThat(strict.totalConnections()).isPositive();
        assertThat(strict.commandCount("MAIL")).isZero();
        assertThat(strict.messageCount()).isZero();
    }

    @Test
    void aMalformedMtaStsRecordShouldNotCostTheMail() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@badtxt.test");

        await().atMost(LONG).until(() -> policed.messageIds().contains(messageId));
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("badtxt.test"), Optional::isPresent)
            .orElseThrow();
        assertThat(tls).containsEntry("protection", "encrypted")
            .containsEntry("mtaSts", "TXT record _mta-sts.badtxt.test invalid: TXT record id must be 1 to 32 letters"
                + " or digits, was 'not valid'");
    }

    @Test
    void aPolicyHostThatCannotBeReachedShouldNotCostTheMail() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@nopolicyhost.test");

        await().atMost(LONG).until(() -> policed.messageIds().contains(messageId));
        Map<String, String> tls = await().atMost(LONG).until(() -> deliveredTls("nopolicyhost.test"),
            Optional::isPresent).orElseThrow();
        assertThat(tls.get("mtaSts")).startsWith("policy fetch failed: https://mta-sts.nopolicyhost.test/"
            + ".well-known/mta-sts.txt: ");
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

    private static Optional<DeferralRecord> bouncedRecord(String recipient) throws Exception {
        return james.readMails(BOUNCED, EmbeddedJames.recipient(recipient), DeferralAttributes::read).stream()
            .findFirst();
    }
}

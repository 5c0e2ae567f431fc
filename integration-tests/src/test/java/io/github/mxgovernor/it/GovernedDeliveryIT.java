package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.james.DeferralAttributes;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.mailet.AttributeName;
import org.apache.mailet.Mail;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The governed delivery mailet in a real (embedded) James 3.8.1, delivering to fake MX servers on loopback:
 * caps, reuse, deferral records, retries, bounces and the faults an MX can show. One James serves every test;
 * each test has its own domains and MX servers.
 */
class GovernedDeliveryIT {
    private static final String DELIVERED = "memory://var/mail/delivered/";
    private static final String BOUNCED = "memory://var/mail/bounced/";
    private static final Duration LONG = Duration.ofSeconds(90);

    @TempDir
    static Path temp;

    private static final List<FakeMxServer> servers = new ArrayList<>();
    private static final ConnectionGauge providerGauge = new ConnectionGauge();
    private static final Set<String> busyOnce = ConcurrentHashMap.newKeySet();
    private static FakeMxServer bulk1;
    private static FakeMxServer bulk2;
    private static FakeMxServer chunking;
    private static FakeMxServer providerA;
    private static FakeMxServer providerB;
    private static FakeMxServer slow;
    private static FakeMxServer flaky;
    private static FakeMxServer rejecting;
    private static FakeMxServer hanging;
    private static FakeMxServer fallback;
    private static FakeMxServer dropping;
    private static FakeMxServer babbling;
    private static EmbeddedJames james;

    @BeforeAll
    static void start() throws Exception {
        bulk1 = server(FakeMxServer.builder("127.0.0.11").retainContent(false));
        bulk2 = server(FakeMxServer.builder("127.0.0.12").retainContent(false));
        chunking = server(FakeMxServer.builder("127.0.0.13").chunking(true));
        providerA = server(FakeMxServer.builder("127.0.0.21").gauge(providerGauge).latency(Duration.ofMillis(10)));
        providerB = server(FakeMxServer.builder("127.0.0.22").gauge(providerGauge).latency(Duration.ofMillis(10)));
        slow = server(FakeMxServer.builder("127.0.0.31").latency(Duration.ofMillis(700)));
        flaky = server(FakeMxServer.builder("127.0.0.32").replyPolicy(ReplyPolicy.at(SmtpStage.RCPT,
            command -> command.address().map(busyOnce::add).orElse(false), "451 4.7.500 Server busy")));
        rejecting = server(FakeMxServer.builder("127.0.0.33").replyPolicy(ReplyPolicy.rejectRecipients(
            "550 5.1.1 no such user", Set.of("gone@perm.test"))));
        hanging = server(FakeMxServer.builder("127.0.0.41").behaviour(MxBehaviour.HANG));
        fallback = server(FakeMxServer.builder("127.0.0.42"));
        dropping = server(FakeMxServer.builder("127.0.0.43").behaviour(MxBehaviour.CLOSE_MID_DATA));
        babbling = server(FakeMxServer.builder("127.0.0.44").behaviour(MxBehaviour.GARBAGE));

        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, String.join("\n",
            "<mx-rules>",
            "  <default maxConnections=\"4\" maxMessagesPerConnection=\"20\" connectTimeout=\"2s\"",
            "           commandTimeout=\"2s\" dataTimeout=\"5s\" idleTimeout=\"1s\"/>",
            "  <rule name=\"provider\" mx=\"*.provider.test\" scope=\"shared\" maxConnections=\"3\"/>",
            "  <rule name=\"slow\" mx=\"*.slow.test\" maxConnections=\"1\" maxMessagesPerConnection=\"5\"/>",
            "</mx-rules>"));

        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("delayTime", "300");
        parameters.put("maxRetries", "3");
        parameters.put("maxDnsProblemRetries", "0");
        parameters.put("sendpartial", "true");
        parameters.put("maxLaneWait", "2s");
        parameters.put("localDeferralDelay", "500ms");
        parameters.put("deliveryThreads", "32");

        EmbeddedJames.Builder builder = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters));
        for (int i = 1; i <= 3; i++) {
            builder.mx("bulk" + i + ".test", "mx1.bulk.test", bulk1);
            builder.mx("other" + i + ".test", "mx2.bulk.test", bulk2);
        }
        builder.mx("chunked.test", "mx1.chunked.test", chunking)
            .mx("p1.test", "mxa.provider.test", providerA)
            .mx("p2.test", "mxb.provider.test", providerB)
            .mx("slow1.test", "mx1.slow.test", slow)
            .mx("flaky.test", "mx1.flaky.test", flaky)
            .mx("perm.test", "mx1.perm.test", rejecting)
            .mx("drop.test", "mx1.drop.test", dropping)
            .mx("babble.test", "mx1.babble.test", babbling);
        james = builder.start();
        james.dns().mx("hang.test", "mx1.hang.test:" + hanging.port(), "mx2.hang.test:" + fallback.port())
            .host("mx1.hang.test", "127.0.0.41").host("mx2.hang.test", "127.0.0.42")
            .mx("deadend.test", "mx1.hang.test:" + hanging.port());
    }

    @AfterAll
    static void stop() {
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
    }

    @Test
    void thousandsOfMailsShouldBeDeliveredExactlyOnceUnderTheCaps() throws Exception {
        int count = 3000;
        String[] domains = {"bulk1.test", "bulk2.test", "bulk3.test", "other1.test", "other2.test", "other3.test"};

        List<String> sent = james.sendMails(count, EmbeddedJames.SENDER,
            i -> List.of("user" + i + "@" + domains[i % domains.length]));

        await().atMost(LONG).until(() -> bulk1.messageCount() + bulk2.messageCount() >= count);
        List<String> received = new ArrayList<>(bulk1.messageIds());
        received.addAll(bulk2.messageIds());
        assertThat(received).hasSize(count).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(sent);
        assertThat(bulk1.peakConnections()).isBetween(1, 4);
        assertThat(bulk2.peakConnections()).isBetween(1, 4);
        await().atMost(Duration.ofSeconds(10)).until(() -> bulk1.openConnections() + bulk2.openConnections() == 0);
        List<Integer> perConnection = new ArrayList<>(bulk1.messagesPerClosedConnection());
        perConnection.addAll(bulk2.messagesPerClosedConnection());
        assertThat(perConnection).allSatisfy(mails -> assertThat(mails).isLessThanOrEqualTo(20));
        assertThat(perConnection.stream().mapToInt(Integer::intValue).sum()).isEqualTo(count);
        assertThat(bulk1.totalConnections() + bulk2.totalConnections()).isLessThan(count / 10);
    }

    @Test
    void anMxOfferingChunkingShouldGetEachMailInOneBdatChunkAndOneRoundTrip() throws Exception {
        int count = 200;

        List<String> sent = james.sendMails(count, EmbeddedJames.SENDER, i -> List.of("user" + i + "@chunked.test"));

        await().atMost(LONG).until(() -> chunking.messageCount() >= count);
        assertThat(chunking.messageIds()).hasSize(count).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(chunking.commandCount("BDAT")).isEqualTo(count);
        assertThat(chunking.commandCount("DATA")).isZero();
        assertThat(chunking.messages()).allSatisfy(message ->
            assertThat(new String(message.content(), StandardCharsets.UTF_8)).endsWith("\r\n"));
        // per connection the greeting, EHLO and QUIT; then one burst per mail (RSET, MAIL, RCPT, BDAT and the content)
        await().atMost(Duration.ofSeconds(10)).until(() -> chunking.openConnections() == 0);
        assertThat(chunking.replyBursts()).isLessThanOrEqualTo(count + 3L * chunking.totalConnections());
    }

    @Test
    void sharedCapShouldHoldAcrossTheMxHostsOfARule() throws Exception {
        int count = 300;

        james.sendMails(count, EmbeddedJames.SENDER, i -> List.of("user" + i + "@p" + (1 + i % 2) + ".test"));

        await().atMost(LONG).until(() -> providerA.messageCount() + providerB.messageCount() >= count);
        assertThat(providerGauge.peak()).isBetween(1, 3);
        assertThat(providerA.messageCount()).isEqualTo(count / 2);
        assertThat(providerB.messageCount()).isEqualTo(count / 2);
    }

    @Test
    void mailDeferredByTheQuotaShouldCarryItsRecordAndBeDeliveredLater() throws Exception {
        List<String> sent = james.sendMails(8, EmbeddedJames.SENDER, i -> List.of("user" + i + "@slow1.test"));

        await().atMost(LONG).until(() -> slow.messageCount() >= 8);
        assertThat(slow.messageIds()).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(slow.peakConnections()).isEqualTo(1);
        List<DeferralRecord> records = await().atMost(LONG).until(() -> deliveredRecords("slow1.test"),
            found -> found.stream().anyMatch(record -> record.reason() == DeferralReason.CONNECTION_QUOTA_REACHED));
        DeferralRecord deferred = records.stream()
            .filter(record -> record.reason() == DeferralReason.CONNECTION_QUOTA_REACHED).findFirst().orElseThrow();
        assertThat(deferred.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
        assertThat(deferred.latest().message()).isEqualTo("Messages queued (connection quotas reached)");
        assertThat(deferred.latest().destination()).isEqualTo("mx1.slow.test");
        assertThat(deferred.latest().rule()).isEqualTo("slow");
        assertThat(deferred.localDeferrals()).isPositive();
        assertThat(deferred.failedAttempts()).isZero();
        assertThat(deferred.history()).isNotEmpty();
    }

    @Test
    void temporaryFailureThenSuccessShouldBeDeliveredWithItsHistory() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "retry@flaky.test");

        await().atMost(LONG).until(() -> flaky.messageCount() == 1);
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecords("flaky.test"),
            found -> !found.isEmpty()).get(0);
        assertThat(record.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
        assertThat(record.reason()).isEqualTo(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(record.failedAttempts()).isEqualTo(1);
        assertThat(record.latest().smtpCode()).contains(451);
        assertThat(record.latest().enhancedCode()).contains("4.7.500");
        assertThat(record.latest().reply()).hasValueSatisfying(reply -> assertThat(reply).contains("Server busy"));
        assertThat(record.history()).hasSize(1);
    }

    @Test
    void permanentFailureShouldBounceWithADsnAndKeepTheOtherRecipient() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "gone@perm.test", "here@perm.test");

        await().atMost(LONG).until(() -> rejecting.messageCount() == 1);
        assertThat(rejecting.messages().get(0).recipients()).containsExactly("here@perm.test");
        Bounce bounce = await().atMost(LONG).until(() -> bouncesTo("gone@perm.test"), found -> !found.isEmpty()).get(0);
        assertThat(bounce.deliveryError).hasValueSatisfying(error -> assertThat(error).contains("550 5.1.1 no such user"));
        assertThat(bounce.deliveryErrorCode).contains(550);
        await().atMost(LONG).until(() -> james.inboxMessages(EmbeddedJames.SENDER).stream()
            .anyMatch(message -> message.contains("gone@perm.test") && message.contains("5.1.1")));
    }

    @Test
    void hangingMxShouldTimeOutAndTheNextMxShouldGetTheMail() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@hang.test");

        await().atMost(LONG).until(() -> fallback.messageIds().contains(messageId));
        assertThat(hanging.totalConnections()).isPositive();
        assertThat(hanging.messageCount()).isZero();
    }

    @Test
    void unreachableDomainShouldBeRetriedThenBouncedWithItsRecord() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "nobody@deadend.test");

        Bounce bounce = await().atMost(LONG).until(() -> bouncesTo("nobody@deadend.test"),
            found -> !found.isEmpty()).get(0);
        DeferralRecord record = bounce.record.orElseThrow();
        assertThat(record.status()).isEqualTo(DeferralRecord.Status.BOUNCED);
        assertThat(record.reason()).isEqualTo(DeferralReason.CONNECTION_FAILED);
        assertThat(record.failedAttempts()).isEqualTo(4);
        assertThat(record.latest().message()).startsWith("Too many retries failure. Bouncing after 3 retries.");
        assertThat(record.history()).hasSize(4);
    }

    @Test
    void mxClosingTheConnectionMidDataShouldDeferAndDeliverLater() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@drop.test");
        await().atMost(LONG).until(() -> dropping.totalConnections() >= 1);

        dropping.behaviour(MxBehaviour.NORMAL);

        await().atMost(LONG).until(() -> dropping.messageIds().contains(messageId));
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecords("drop.test"),
            found -> !found.isEmpty()).get(0);
        assertThat(record.failedAttempts()).isPositive();
        assertThat(record.reason()).isIn(DeferralReason.CONNECTION_FAILED, DeferralReason.SMTP_TEMPORARY_FAILURE);
    }

    @Test
    void mxAnsweringWithSomethingOtherThanSmtpShouldDeferAndDeliverLater() throws Exception {
        String messageId = james.sendMail(EmbeddedJames.SENDER, "someone@babble.test");
        await().atMost(LONG).until(() -> babbling.totalConnections() >= 1);

        babbling.behaviour(MxBehaviour.NORMAL);

        await().atMost(LONG).until(() -> babbling.messageIds().contains(messageId));
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecords("babble.test"),
            found -> !found.isEmpty()).get(0);
        assertThat(record.reason()).isEqualTo(DeferralReason.CONNECTION_FAILED);
        assertThat(record.failedAttempts()).isPositive();
        assertThat(record.history().get(0).message()).containsIgnoringCase("reply");
    }

    @Test
    void domainWithoutMxOrAddressShouldBounce() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "someone@nowhere.test");

        Bounce bounce = await().atMost(LONG).until(() -> bouncesTo("someone@nowhere.test"),
            found -> !found.isEmpty()).get(0);
        assertThat(bounce.deliveryError)
            .hasValueSatisfying(error -> assertThat(error).contains("There are no DNS entries for the host name"));
    }

    private static FakeMxServer server(FakeMxServer.Builder builder) {
        FakeMxServer server = builder.start();
        servers.add(server);
        return server;
    }

    private static List<DeferralRecord> deliveredRecords(String domain) throws Exception {
        return james.readMails(DELIVERED, EmbeddedJames.inDomain(domain), DeferralAttributes::read);
    }

    private static List<Bounce> bouncesTo(String recipient) throws Exception {
        return james.readMails(BOUNCED, EmbeddedJames.recipient(recipient), mail -> Optional.of(new Bounce(mail)));
    }

    /** What a test checks of a mail sent to the bounce processor, read before the mail is disposed. */
    private static final class Bounce {
        final Optional<String> deliveryError;
        final Optional<Object> deliveryErrorCode;
        final Optional<DeferralRecord> record;

        Bounce(Mail mail) {
            deliveryError = mail.getAttribute(AttributeName.of("delivery-error"))
                .map(attribute -> attribute.getValue().getValue().toString());
            deliveryErrorCode = mail.getAttribute(AttributeName.of("delivery-error-code"))
                .map(attribute -> attribute.getValue().getValue());
            record = DeferralAttributes.read(mail);
        }
    }
}

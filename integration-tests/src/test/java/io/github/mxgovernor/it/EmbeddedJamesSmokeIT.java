package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.scheduler.Schedulers;

/**
 * Proves the harness with James's stock {@code RemoteDelivery}: two domains on two fake MX servers that share one
 * port number on 127.0.0.2 and 127.0.0.3.
 */
class EmbeddedJamesSmokeIT {
    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedJamesSmokeIT.class);
    private static final String DOMAIN_A = "a.test";
    private static final String DOMAIN_B = "b.test";
    // stock RemoteDelivery ignores deliveryThreads: its concurrency is the size of Reactor's bounded-elastic pool
    private static final int STOCK_MAX_CONCURRENCY = Schedulers.DEFAULT_BOUNDED_ELASTIC_SIZE;
    private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(60);

    private static FakeMxServer mxA;
    private static FakeMxServer mxB;
    private static EmbeddedJames james;

    @BeforeAll
    static void startServers() throws Exception {
        mxA = FakeMxServer.start("127.0.0.2");
        mxB = FakeMxServer.builder("127.0.0.3").port(mxA.port()).start();
        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.stockRemoteDelivery("3*200ms", 3, Map.of()))
            .mx(DOMAIN_A, "mx1.a.test", mxA)
            .mx(DOMAIN_B, "mx1.b.test", mxB)
            .start();
        LOGGER.info("James started in {} ms, SMTP on 127.0.0.1:{}", james.startupTime().toMillis(), james.smtpPort());
    }

    @AfterAll
    static void stopServers() {
        if (james != null) {
            james.close();
        }
        if (mxA != null) {
            mxA.close();
        }
        if (mxB != null) {
            mxB.close();
        }
    }

    @BeforeEach
    void resetMxServers() {
        for (FakeMxServer mx : List.of(mxA, mxB)) {
            mx.replyPolicy(null);
            mx.latency(Duration.ZERO);
            mx.resetStatistics();
        }
    }

    @AfterEach
    void awaitQuietJames() {
        await().atMost(DELIVERY_TIMEOUT).until(this::deliveryFinished);
    }

    private boolean deliveryFinished() throws Exception {
        return james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0 && james.spoolerIdle()
            && mxA.openConnections() == 0 && mxB.openConnections() == 0;
    }

    @Test
    void stockRemoteDeliveryShouldDeliverEveryMailExactlyOnce() throws Exception {
        int count = 200;
        long begin = System.nanoTime();
        List<String> sent = james.sendMails(count, EmbeddedJames.SENDER, i -> List.of(recipient(i)));
        long sentAt = System.nanoTime();
        await().atMost(DELIVERY_TIMEOUT).until(() -> mxA.messageCount() + mxB.messageCount() == count);
        long deliveredAt = System.nanoTime();
        await().atMost(DELIVERY_TIMEOUT).until(this::deliveryFinished);
        LOGGER.info("{} mails: SMTP into James {} ms, delivered to the MX servers after {} ms ({} mails/s overall)",
            count, (sentAt - begin) / 1_000_000, (deliveredAt - begin) / 1_000_000,
            count * 1_000_000_000L / (deliveredAt - begin));

        assertThat(mxA.messageIds()).doesNotHaveDuplicates()
            .containsExactlyInAnyOrderElementsOf(everyOther(sent, 0));
        assertThat(mxB.messageIds()).doesNotHaveDuplicates()
            .containsExactlyInAnyOrderElementsOf(everyOther(sent, 1));
        assertThat(mxA.messages()).allSatisfy(message -> {
            assertThat(message.sender()).isEqualTo(EmbeddedJames.SENDER);
            assertThat(message.recipients()).singleElement().asString().endsWith("@" + DOMAIN_A);
        });
        assertThat(new String(mxB.messages().get(0).content(), StandardCharsets.UTF_8))
            .contains("\r\n.a line that starts with a dot\r\n");
        for (FakeMxServer mx : List.of(mxA, mxB)) {
            // stock RemoteDelivery opens one connection per mail
            assertThat(mx.totalConnections()).isEqualTo(count / 2);
            assertThat(mx.messagesPerClosedConnection()).hasSize(count / 2).containsOnly(1);
            assertThat(mx.peakConnections()).isBetween(1, STOCK_MAX_CONCURRENCY);
            assertThat(mx.commandCount("QUIT")).isEqualTo(count / 2);
        }
    }

    @Test
    void stockRemoteDeliveryShouldDeliverThroughAnMxWithRoundTripLatency() throws Exception {
        int count = 100;
        mxA.latency(Duration.ofMillis(50));
        long begin = System.nanoTime();
        List<String> sent = james.sendMails(count, EmbeddedJames.SENDER, i -> List.of("user" + i + "@" + DOMAIN_A));
        await().atMost(DELIVERY_TIMEOUT).until(() -> mxA.messageCount() == count);
        long elapsed = System.nanoTime() - begin;
        await().atMost(DELIVERY_TIMEOUT).until(() -> mxA.openConnections() == 0);
        LOGGER.info("{} mails through an MX with 50 ms latency in {} ms ({} mails/s, {} reply bursts per mail, "
                + "peak {} connections)",
            count, elapsed / 1_000_000, count * 1_000_000_000L / elapsed, mxA.replyBursts() / count,
            mxA.peakConnections());

        assertThat(mxA.messageIds()).containsExactlyInAnyOrderElementsOf(sent);
        // greeting, EHLO, MAIL, RCPT, DATA, end of data, QUIT: javax.mail waits for each reply
        assertThat(mxA.replyBursts()).isEqualTo(7L * count);
        assertThat(mxA.peakConnections()).isBetween(1, STOCK_MAX_CONCURRENCY);
    }

    @Test
    void permanentRecipientRejectionShouldBounceToTheLocalSender() throws Exception {
        String rejected = "nobody@" + DOMAIN_B;
        String accepted = "somebody@" + DOMAIN_B;
        mxB.replyPolicy(ReplyPolicy.rejectRecipients(ReplyPolicy.NO_SUCH_USER, Set.of(rejected)));
        int inboxBefore = james.inboxMessages(EmbeddedJames.SENDER).size();

        String messageId = james.sendMail(EmbeddedJames.SENDER, accepted, rejected);

        await().atMost(DELIVERY_TIMEOUT)
            .until(() -> james.inboxMessages(EmbeddedJames.SENDER).size() == inboxBefore + 1);
        String dsn = james.inboxMessages(EmbeddedJames.SENDER).get(inboxBefore);
        assertThat(dsn).contains("multipart/report", "report-type=delivery-status", "Action: failed",
            "Final-Recipient: rfc822; " + rejected, "550 5.1.1 no such user");
        assertThat(dsn).doesNotContain("Final-Recipient: rfc822; " + accepted);
        assertThat(mxB.messages()).singleElement().satisfies(message -> {
            assertThat(message.messageId()).contains(messageId);
            assertThat(message.recipients()).containsExactly(accepted);
        });
        assertThat(james.repositorySize(EmbeddedJames.ERROR_REPOSITORY)).isZero();
    }

    @Test
    void temporaryFailureShouldBeRetriedUntilDelivered() throws Exception {
        AtomicInteger endsOfData = new AtomicInteger();
        mxA.replyPolicy(ReplyPolicy.at(SmtpStage.END_OF_DATA, command -> endsOfData.getAndIncrement() == 0,
            ReplyPolicy.SERVER_BUSY));

        String messageId = james.sendMail(EmbeddedJames.SENDER, "retry@" + DOMAIN_A);

        await().atMost(DELIVERY_TIMEOUT).until(() -> mxA.messageCount() == 1);
        assertThat(mxA.messageIds()).containsExactly(messageId);
        assertThat(mxA.totalConnections()).isEqualTo(2);
        assertThat(mxA.commandCount("DATA")).isEqualTo(2);
    }

    private static String recipient(int index) {
        return "user" + index + "@" + (index % 2 == 0 ? DOMAIN_A : DOMAIN_B);
    }

    private static List<String> everyOther(List<String> values, int offset) {
        return IntStream.range(0, values.size())
            .filter(i -> i % 2 == offset)
            .mapToObj(values::get)
            .collect(Collectors.toList());
    }
}

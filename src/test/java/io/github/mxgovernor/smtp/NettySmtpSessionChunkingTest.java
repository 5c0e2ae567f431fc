package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettySmtpSessionTest.content;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.greeted;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static io.github.mxgovernor.smtp.NettyFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.tls.TlsMode;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** BDAT (RFC 3030) in pipelined bursts, round trips per mail, lying servers and stalled writes. */
class NettySmtpSessionChunkingTest {
    private static final String MAIL = "MAIL FROM:<sender@example.org>";
    private static final String BODY = "Subject: hi\r\n\r\nbody\r\n";
    private static final String BDAT_BODY = "BDAT " + BODY.length() + " LAST\r\n" + BODY;
    private static final Duration SECOND = Duration.ofSeconds(1);

    private final NettyFixture fixture = new NettyFixture();
    private final FakeClock clock = fixture.clock;
    private ScriptedSmtpServer server;
    private SmtpSession session;

    @AfterEach
    void tearDown() throws Exception {
        try {
            NettyFixture.closeQuietly(session);
            if (server != null) {
                server.close();
            }
        } finally {
            fixture.close();
        }
    }

    @Test
    void sendShouldPipelineMailRcptAndBdatLastWithTheContent() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 2.1.0 ok", "250 2.1.5 ok", "250 2.0.0 queued as 42")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.mailFromReply()).contains(SmtpReply.of(250, "2.1.0 ok"));
        assertThat(result.recipientReplies()).containsEntry("a@mx.test", SmtpReply.of(250, "2.1.5 ok"));
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued as 42"));
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void aReusedOneRecipientBdatMailShouldCostOneRoundTrip() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 ok", "250 ok", "250 first")
            .expectBurstBytes("RSET\r\n" + MAIL + "\r\nRCPT TO:<b@mx.test>\r\n" + BDAT_BODY)
            .reply("250 reset", "250 ok", "250 ok", "250 second")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());
        await(session.send(transaction("a@mx.test")));
        int before = server.roundTrips();

        TransactionResult second = await(session.send(transaction("b@mx.test")));

        assertThat(second.dataReply()).contains(SmtpReply.of(250, "second"));
        assertThat(server.roundTrips() - before).isEqualTo(1);
    }

    @Test
    void aReusedOneRecipientDataMailShouldCostTwoRoundTrips() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes(BODY + ".\r\n").reply("250 first")
            .expectBurst("RSET", MAIL, "RCPT TO:<b@mx.test>", "DATA")
            .reply("250 reset", "250 ok", "250 ok", "354 go ahead")
            .expectBytes(BODY + ".\r\n").reply("250 second")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());
        await(session.send(transaction("a@mx.test")));
        int before = server.roundTrips();

        await(session.send(transaction("b@mx.test")));

        assertThat(server.roundTrips() - before).isEqualTo(2);
    }

    @Test
    void withoutPartialDeliveryBdatShouldFollowTheRecipientReplies() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>")
            .reply("250 ok", "250 ok", "250 ok")
            .expectBurstBytes(BDAT_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org",
            List.of("a@mx.test", "b@mx.test"), content(BODY), false)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void withoutPartialDeliveryARefusedRecipientShouldResetWithoutBdat() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>")
            .reply("250 ok", "550 5.1.1 no such user", "250 ok")
            .expect("RSET").reply("250 reset")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org",
            List.of("a@mx.test", "b@mx.test"), content(BODY), false)));

        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void aRefusedSingleRecipientShouldLeaveTheBdatReplyOut() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 ok", "550 5.1.1 no such user", "554 5.5.1 no valid recipients")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.recipientReplies()).containsEntry("a@mx.test", SmtpReply.of(550, "5.1.1 no such user"));
        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void contentLargerThanTheBufferShouldGoInPipelinedChunksReadOnceMore() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\nBDAT 8\r\nSubject:BDAT 8\r\n hi\r\n\r\nbBDAT 5 LAST\r\n"
                + "ody\r\n")
            .reply("250 ok", "250 ok", "250 2.0.0 chunk 1", "250 2.0.0 chunk 2", "250 2.0.0 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory(8));
        AtomicInteger reads = new AtomicInteger();
        MessageContent counted = out -> {
            reads.incrementAndGet();
            content(BODY).writeTo(out);
        };

        TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org", List.of("a@mx.test"),
            counted, true)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
        assertThat(reads).hasValue(2);
    }

    @Test
    void aSmallMessageShouldBeReadOnce() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING", "SIZE 1000", "8BITMIME")
            .expectBurstBytes(MAIL + " SIZE=21\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 ok", "250 ok", "250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());
        AtomicInteger reads = new AtomicInteger();
        MessageContent counted = out -> {
            reads.incrementAndGet();
            content(BODY).writeTo(out);
        };

        await(session.send(new SmtpTransaction("sender@example.org", List.of("a@mx.test"), counted, true)));

        assertThat(reads).hasValue(1);
    }

    @Test
    void theFirstRefusedChunkShouldBeTheContentReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\nBDAT 8\r\nSubject:BDAT 8\r\n hi\r\n\r\nbBDAT 5 LAST\r\n"
                + "ody\r\n")
            .reply("250 ok", "250 ok", "552 5.3.4 too much", "503 5.5.1 no transaction", "503 5.5.1 no transaction")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory(8));

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.dataReply()).contains(SmtpReply.of(552, "5.3.4 too much"));
        assertThat(session.isReusable()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"451 4.3.0 try later", "554 5.7.1 spam"})
    void aBdatRefusalShouldBeTheContentReply(String refusal) throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 ok", "250 ok", refusal)
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.dataReply().map(SmtpReply::toString)).contains(refusal);
        assertThat(session.isReusable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"RSET", "MAIL", "RCPT", "CONTENT"})
    void serviceClosingAnywhereInABdatBurstShouldEndTheSessionAt(Stage stage) throws Exception {
        server = ScriptedSmtpServer.start(failingInSecondBurst(stage,
            lines -> lines + "421 4.3.2 shutting down\r\n", false));
        session = open(factory());
        await(session.send(transaction("a@mx.test")));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(stage);
        assertThat(failure.kind()).isEqualTo(Kind.REFUSED_BY_SERVER);
        assertThat(failure.reply()).contains(SmtpReply.of(421, "4.3.2 shutting down"));
        assertThat(session.isReusable()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"RSET", "MAIL", "RCPT", "CONTENT"})
    void droppedConnectionAnywhereInABdatBurstShouldEndTheSessionAt(Stage stage) throws Exception {
        server = ScriptedSmtpServer.start(failingInSecondBurst(stage, lines -> lines, true));
        session = open(factory());
        await(session.send(transaction("a@mx.test")));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(stage);
        assertThat(failure.kind()).isEqualTo(Kind.CONNECTION_LOST);
        assertThat(failure).hasMessageContaining("connection lost awaiting the reply to");
    }

    @Test
    void burstRepliesSplitAcrossSlowWritesShouldBeReassembled() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .sendInParts("250 o", "k\r\n25", "0-first line\r\n250 2.1.5 ok\r", "\n250 2.0.0 que", "ued\r\n")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open(factory());

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.recipientReplies().get("a@mx.test").lines()).containsExactly("first line", "2.1.5 ok");
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
    }

    @Test
    void bdatRefusedAsAnUnknownCommandShouldEndTheSessionAndLaterSessionsShouldUseData() throws Exception {
        server = ScriptedSmtpServer.start(
            greeted("PIPELINING", "CHUNKING")
                .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
                .reply("250 ok", "250 ok", "500 5.5.1 command unrecognized").expectClosed(),
            greeted("PIPELINING", "CHUNKING")
                .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
                .expectBytes(BODY + ".\r\n").reply("250 queued")
                .expect("QUIT").reply("221 bye").expectClosed());
        NettySmtpSessionFactory factory = factory();
        session = open(factory);

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);
        session = open(factory);
        TransactionResult retried = await(session.send(transaction("a@mx.test")));

        assertThat(failure.stage()).isEqualTo(Stage.CONTENT);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith(
            "server offers CHUNKING but refused BDAT as a command: 500 5.5.1 command unrecognized");
        assertThat(retried.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void aServerThatAnswersOnlyTheStartOfABurstShouldTimeOutAndLaterSessionsShouldNotPipeline() throws Exception {
        server = ScriptedSmtpServer.start(
            greeted("PIPELINING").expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").reply("250 ok")
                .discardUntilClosed(),
            greeted("PIPELINING")
                .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
                .expect("DATA").reply("354 go ahead").expectBytes(BODY + ".\r\n").reply("250 queued")
                .expect("QUIT").reply("221 bye").expectClosed());
        NettySmtpSessionFactory factory = factory();
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, Duration.ofMillis(250), SECOND)));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);
        session = open(factory);
        TransactionResult retried = await(session.send(transaction("a@mx.test")));

        assertThat(failure.stage()).isEqualTo(Stage.RCPT);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(retried.dataReply()).contains(SmtpReply.of(250, "queued"));
        assertThat(session.extensions()).contains("PIPELINING");
    }

    @Test
    void aServerShouldBeTrustedAgainAnHourAfterItBrokeAnExtension() throws Exception {
        PeerQuirks quirks = new PeerQuirks(clock);
        SmtpEndpoint endpoint = new SmtpEndpoint("mx.test", InetAddress.getLoopbackAddress(), 25);
        quirks.recordBroken(endpoint, PeerQuirks.Extension.CHUNKING);

        boolean distrustedAtFirst = quirks.distrusts(endpoint, PeerQuirks.Extension.CHUNKING);
        boolean pipeliningDistrusted = quirks.distrusts(endpoint, PeerQuirks.Extension.PIPELINING);
        clock.advance(PeerQuirks.MEMORY.plusSeconds(1));

        assertThat(distrustedAtFirst).isTrue();
        assertThat(pipeliningDistrusted).isFalse();
        assertThat(quirks.distrusts(endpoint, PeerQuirks.Extension.CHUNKING)).isFalse();
    }

    @Test
    void aServerThatStopsReadingShouldNotStallTheSessionLongerThanTheDataTimeout() throws Exception {
        CountDownLatch released = new CountDownLatch(1);
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .stopReadingUntil(released).discardUntilClosed());
        // a generous command timeout: only the content's stall is under test, and a loaded machine may be slow to reply
        session = await(factory().open(server.endpoint(), settings(TlsMode.DISABLED, Duration.ofSeconds(10),
            Duration.ofMillis(300))));
        byte[] line = ("x".repeat(1022) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        // far more than loopback socket buffers hold, and more than the session buffers, so it streams
        MessageContent huge = out -> {
            for (int i = 0; i < 64 * 1024; i++) {
                out.write(line);
            }
        };

        SmtpSessionException failure;
        try {
            failure = catchThrowableOfType(() -> await(session.send(new SmtpTransaction("sender@example.org",
                List.of("a@mx.test"), huge, true))), SmtpSessionException.class);
        } finally {
            released.countDown();
        }

        assertThat(failure.stage()).isEqualTo(Stage.CONTENT);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessage(server.endpoint()
            + ": could not send the content: the server took nothing for 300 ms");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void aServerThatReadsJustFastEnoughShouldNotHoldATransactionPastItsOverallTimeout() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .drainSlowlyUntilClosed(64 * 1024, 20));
        Duration overall = Duration.ofMillis(1500);
        session = await(factory().open(server.endpoint(), settings(TlsMode.DISABLED, SECOND, Duration.ofSeconds(10))
            .withTransactionTimeout(overall)));
        byte[] line = ("x".repeat(1022) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        // 64 MiB at about 3 MiB/s: every write goes through within the data timeout, the whole would take 20 s
        MessageContent huge = out -> {
            for (int i = 0; i < 64 * 1024; i++) {
                out.write(line);
            }
        };
        long start = System.nanoTime();

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(new SmtpTransaction(
            "sender@example.org", List.of("a@mx.test"), huge, true))), SmtpSessionException.class);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(overall.multipliedBy(4));
        assertThat(failure.stage()).isEqualTo(Stage.CONTENT);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessageStartingWith(server.endpoint() + ": the transaction took more than 1500 ms in"
            + " all (");
        assertThat(session.isReusable()).isFalse();
    }

    /**
     * A pipelining, chunking server that carries one transaction, then answers the second burst (RSET, MAIL,
     * RCPT, BDAT) in good order up to {@code stage}, where it sends what {@code failure} makes of the replies so
     * far and then waits for the client to close, or drops the connection.
     */
    private static Script failingInSecondBurst(Stage stage, UnaryOperator<String> failure, boolean thenDrop) {
        String ok = "250 ok\r\n";
        String before;
        switch (stage) {
            case RSET:
                before = "";
                break;
            case MAIL:
                before = ok;
                break;
            case RCPT:
                before = ok + ok;
                break;
            default:
                before = ok + ok + ok;
                break;
        }
        Script script = greeted("PIPELINING", "CHUNKING")
            .expectBurstBytes(MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY)
            .reply("250 ok", "250 ok", "250 queued")
            .expectBurstBytes("RSET\r\n" + MAIL + "\r\nRCPT TO:<a@mx.test>\r\n" + BDAT_BODY);
        String sent = failure.apply(before);
        if (!sent.isEmpty()) {
            script.sendRaw(sent);
        }
        return thenDrop ? script.drop() : script.expectClosed();
    }

    private NettySmtpSessionFactory factory() throws Exception {
        return factory(NettySmtpSessionFactory.CONTENT_BUFFER_BYTES);
    }

    private NettySmtpSessionFactory factory(int bufferBytes) throws Exception {
        return fixture.withBuffer(bufferBytes);
    }

    private SmtpSession open(NettySmtpSessionFactory factory) throws Exception {
        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));
        return session;
    }
}

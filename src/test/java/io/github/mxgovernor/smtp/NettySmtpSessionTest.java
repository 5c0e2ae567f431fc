package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettyFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class NettySmtpSessionTest {
    private static final String GREETING = "220 mx.test ESMTP ready";
    private static final String EHLO = "EHLO client.test";
    private static final String SENDER = "sender@example.org";
    private static final String MAIL = "MAIL FROM:<" + SENDER + ">";
    private static final String BODY = "Subject: hi\r\n\r\nbody\r\n";
    private static final String WIRE_BODY = BODY + ".\r\n";
    private static final Duration SECOND = Duration.ofSeconds(1);

    private final NettyFixture fixture = new NettyFixture();
    private final NettySmtpSessionFactory factory = fixture.jdkTrust();
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
    void openShouldReadGreetingAndUpperCaseExtensions() throws Exception {
        server = ScriptedSmtpServer.start(greeted("pipelining", "SIZE 35882577", "8bitmime", "ENHANCEDSTATUSCODES")
            .expect("QUIT").reply("221 2.0.0 bye").expectClosed());

        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));

        assertThat(session.extensions()).containsExactlyInAnyOrder("PIPELINING", "SIZE", "8BITMIME",
            "ENHANCEDSTATUSCODES");
        assertThat(session.endpoint()).isEqualTo(server.endpoint());
        assertThat(session.tls()).isEmpty();
        assertThat(session.isReusable()).isTrue();
        assertThat(session.transactionCount()).isZero();
    }

    @Test
    void closeShouldSayQuitOnceAndNeverThrow() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").reply("221 2.0.0 bye").expectClosed());
        session = open();

        CompletableFuture<Void> closed = session.close();
        session.close();
        await(closed);

        assertThat(session.isReusable()).isFalse();
        assertThatThrownBy(() -> await(session.send(transaction("a@mx.test"))))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("session is closed");
    }

    @Test
    void closeShouldNotWaitForeverForTheQuitReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, Duration.ofMillis(250), SECOND)));
        long start = System.nanoTime();

        CompletableFuture<Void> closed = session.close();
        long returnedAfter = System.nanoTime() - start;
        await(closed);

        assertThat(Duration.ofNanos(returnedAfter)).isLessThan(Duration.ofMillis(100));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(240), SECOND);
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void sendShouldPipelineMailRcptAndDataInOneWrite() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "DATA")
            .reply("250 2.1.0 ok", "250 2.1.5 ok a", "250 2.1.5 ok b", "354 go ahead")
            .expectBytes(WIRE_BODY)
            .reply("250 2.0.0 queued as 42")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test")));

        assertThat(result.mailFromReply()).contains(SmtpReply.of(250, "2.1.0 ok"));
        assertThat(result.recipientReplies()).containsExactly(
            entry("a@mx.test", 250, "2.1.5 ok a"), entry("b@mx.test", 250, "2.1.5 ok b"));
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued as 42"));
        assertThat(session.transactionCount()).isEqualTo(1);
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void sendWithoutPipeliningShouldWaitForEachReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("RCPT TO:<b@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test")));

        assertThat(result.recipientReplies()).containsOnlyKeys("a@mx.test", "b@mx.test");
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void secondTransactionShouldPipelineRsetWithMail() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA")
            .reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 first")
            .expectBurst("RSET", MAIL, "RCPT TO:<b@mx.test>", "DATA")
            .reply("250 reset", "250 ok", "250 ok", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 second")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(transaction("a@mx.test")));
        TransactionResult second = await(session.send(transaction("b@mx.test")));

        assertThat(second.dataReply()).contains(SmtpReply.of(250, "second"));
        assertThat(session.transactionCount()).isEqualTo(2);
    }

    @Test
    void secondTransactionWithoutPipeliningShouldResetAndWait() throws Exception {
        server = ScriptedSmtpServer.start(playTransaction(greeted())
            .expect("RSET").reply("250 reset")
            .expect(MAIL).reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 second")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(transaction("a@mx.test")));
        TransactionResult second = await(session.send(transaction("a@mx.test")));

        assertThat(second.dataReply()).contains(SmtpReply.of(250, "second"));
    }

    @Test
    void refusedRsetShouldEndTheSession() throws Exception {
        server = ScriptedSmtpServer.start(playTransaction(greeted())
            .expect("RSET").reply("502 5.5.1 no").expectClosed());
        session = open();
        await(session.send(transaction("a@mx.test")));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.RSET);
        assertThat(failure.kind()).isEqualTo(Kind.REFUSED_BY_SERVER);
        assertThat(failure.reply()).contains(SmtpReply.of(502, "5.5.1 no"));
        assertThat(failure).hasMessageContaining("RSET refused: 502 5.5.1 no");
        assertThat(session.isReusable()).isFalse();
        assertThat(session.transactionCount()).isEqualTo(2);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 1000})
    void contentShouldBeDotStuffedWithCrlfLineEndings(int chunkSize) throws Exception {
        String content = ".leading\n..two\n.\nbare LF\nbare CR\rmixed\r\nend";
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes("..leading\r\n...two\r\n..\r\nbare LF\r\nbare CR\r\nmixed\r\nend\r\n.\r\n")
            .reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"),
            chunked(content, chunkSize), true)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void eightBitContentShouldDeclareBody8BitMimeWhenOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("8BITMIME")
            .expect(MAIL + " BODY=8BITMIME").reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes("Subject: caf\u00e9\r\n\r\nbody\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), content("Subject: caf\u00e9\n\nbody\n"),
            true)));
    }

    @Test
    void sevenBitContentShouldNotDeclareABody() throws Exception {
        server = ScriptedSmtpServer.start(playTransaction(greeted("8BITMIME"))
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(transaction("a@mx.test")));
    }

    @Test
    void eightBitContentShouldBeRefusedLocallyWhen8BitMimeIsNotOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING").expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"),
            content("caf\u00e9\r\n"), true)));

        assertThat(result.localRefusal()).contains(new LocalRefusal(LocalRefusal.Reason.EIGHT_BIT_NOT_SUPPORTED,
            "the message has 8-bit data and mx.test does not offer 8BITMIME"));
        assertThat(result.mailFromReply()).isEmpty();
        assertThat(result.recipientReplies()).isEmpty();
        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
        assertThat(session.transactionCount()).isZero();
    }

    @Test
    void nullSenderShouldBeSentAsEmptyPathWithSizeAndBody() throws Exception {
        server = ScriptedSmtpServer.start(greeted("8BITMIME", "SIZE 1000000")
            .expect("MAIL FROM:<> BODY=8BITMIME SIZE=7").reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes("\u00e9\r\nab\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(new SmtpTransaction("", List.of("a@mx.test"), content("\u00e9\nab"), true)));
    }

    @Test
    void duplicateRecipientsShouldBeSentOnce() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "DATA")
            .reply("250 ok", "250 ok", "250 ok", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test", "a@mx.test")));

        assertThat(result.recipientReplies()).containsOnlyKeys("a@mx.test", "b@mx.test");
    }

    @Test
    void partialDeliveryShouldSendTheContentForTheAcceptedRecipients() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "RCPT TO:<c@mx.test>", "DATA")
            .reply("250 ok", "250 2.1.5 ok", "550 5.1.1 no such user", "450 4.2.1 try later", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test", "c@mx.test")));

        assertThat(result.recipientReplies()).containsExactly(entry("a@mx.test", 250, "2.1.5 ok"),
            entry("b@mx.test", 550, "5.1.1 no such user"), entry("c@mx.test", 450, "4.2.1 try later"));
        assertThat(result.recipientReplies().get("b@mx.test").enhancedCode())
            .contains(new EnhancedStatusCode(5, 1, 1));
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void withoutPartialDeliveryARefusedRecipientShouldResetInsteadOfSendingData() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>")
            .reply("250 ok", "250 ok", "550 5.1.1 no such user")
            .expect("RSET").reply("250 reset")
            // the session is clean after that RSET: the next transaction starts with MAIL
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA")
            .reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult refused = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test", "b@mx.test"),
            content(BODY), false)));
        TransactionResult next = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), content(BODY),
            false)));

        assertThat(refused.recipientReplies()).containsExactly(entry("a@mx.test", 250, "ok"),
            entry("b@mx.test", 550, "5.1.1 no such user"));
        assertThat(refused.dataReply()).isEmpty();
        assertThat(next.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void withoutPartialDeliveryEveryRecipientAcceptedShouldSendDataAfterTheReplies() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>")
            .reply("250 ok", "250 ok", "250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test", "b@mx.test"),
            content(BODY), false)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void withoutPartialDeliveryASingleRecipientShouldStillPipelineData() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA")
            .reply("250 ok", "550 5.1.1 no such user", "554 5.5.1 no valid recipients")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), content(BODY),
            false)));

        assertThat(result.recipientReplies()).containsExactly(entry("a@mx.test", 550, "5.1.1 no such user"));
        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void everyRecipientRefusedButDataAcceptedShouldSendOnlyTheFinalDot() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "DATA")
            .reply("250 ok", "550 5.1.1 no", "550 5.1.1 no", "354 go ahead anyway")
            .expectBytes(".\r\n").reply("554 5.5.1 no valid recipients")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test")));

        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void everyRecipientRefusedWithoutPipeliningShouldResetWithoutData() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("451 4.3.0 later")
            .expect("RCPT TO:<b@mx.test>").reply("550 5.1.1 no")
            .expect("RSET").reply("250 reset")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test")));

        assertThat(result.recipientReplies()).containsExactly(entry("a@mx.test", 451, "4.3.0 later"),
            entry("b@mx.test", 550, "5.1.1 no"));
        assertThat(result.dataReply()).isEmpty();
    }

    @Test
    void refusedMailWithPipeliningShouldKeepEachRecipientsActualReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "DATA")
            .reply("550 5.7.1 sender refused", "503 5.5.1 MAIL first", "503 5.5.1 MAIL first",
                "503 5.5.1 MAIL first")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test", "b@mx.test")));

        assertThat(result.mailFromReply()).contains(SmtpReply.of(550, "5.7.1 sender refused"));
        assertThat(result.recipientReplies()).containsExactly(entry("a@mx.test", 503, "5.5.1 MAIL first"),
            entry("b@mx.test", 503, "5.5.1 MAIL first"));
        assertThat(result.dataReply()).isEmpty();
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void refusedMailWithoutPipeliningShouldSendNoRecipient() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("451 4.3.0 try later")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.mailFromReply()).contains(SmtpReply.of(451, "4.3.0 try later"));
        assertThat(result.recipientReplies()).isEmpty();
        assertThat(result.dataReply()).isEmpty();
    }

    @Test
    void refusedDataCommandShouldBeTheDataReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("554 5.7.0 not now")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.dataReply()).contains(SmtpReply.of(554, "5.7.0 not now"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"451 4.7.1 greylisted", "554 5.7.1 looks like spam"})
    void finalReplyShouldBeReturned(String finalReply) throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes(WIRE_BODY).reply(finalReply)
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        assertThat(result.dataReply().map(SmtpReply::toString)).contains(finalReply);
        assertThat(session.isReusable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"GREETING", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "CONTENT",
        "RSET"})
    void serviceClosingReplyShouldEndTheSessionAt(Stage stage) throws Exception {
        server = ScriptedSmtpServer.start(failingAt(stage,
            script -> script.reply("421 4.3.2 shutting down").expectClosed()));

        SmtpSessionException failure = failureWhileDeliveringTwice();

        assertThat(failure.stage()).isEqualTo(stage);
        assertThat(failure.kind()).isEqualTo(Kind.REFUSED_BY_SERVER);
        assertThat(failure.reply()).contains(SmtpReply.of(421, "4.3.2 shutting down"));
        assertThat(failure).hasMessage(server.endpoint()
            + ": server is closing the connection: 421 4.3.2 shutting down");
        assertThat(session == null || !session.isReusable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"GREETING", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "CONTENT",
        "RSET"})
    void droppedConnectionShouldEndTheSessionAt(Stage stage) throws Exception {
        server = ScriptedSmtpServer.start(failingAt(stage, Script::drop));

        SmtpSessionException failure = failureWhileDeliveringTwice();

        assertThat(failure.stage()).isEqualTo(stage);
        // before the greeting, a closed connection is a refused one
        assertThat(failure.kind()).isEqualTo(stage == Stage.GREETING ? Kind.CONNECTION_REFUSED : Kind.CONNECTION_LOST);
        assertThat(failure.reply()).isEmpty();
        assertThat(failure).hasMessageContaining("connection lost awaiting the reply to");
        assertThat(session == null || !session.isReusable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"GREETING", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "CONTENT",
        "RSET"})
    void garbageShouldBeAProtocolErrorAt(Stage stage) throws Exception {
        server = ScriptedSmtpServer.start(failingAt(stage, script -> script.sendRaw("hello?\r\n").expectClosed()));

        SmtpSessionException failure = failureWhileDeliveringTwice();

        assertThat(failure.stage()).isEqualTo(stage);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageContaining("malformed reply to").hasMessageEndingWith(
            "not an SMTP reply line: \"hello?\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"250-mx.test\r\n251 odd\r\n", "250*mx.test\r\n", "2x0 mx.test\r\n", "25\r\n",
        "199 too low\r\n"})
    void malformedEhloReplyShouldBeAProtocolError(String raw) throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO).sendRaw(raw).expectClosed());

        SmtpSessionException failure = catchThrowableOfType(this::open, SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.EHLO);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageStartingWith(server.endpoint() + ": malformed reply to EHLO: ");
    }

    @Test
    void unexpectedReplyClassShouldBeAProtocolError() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect(MAIL).reply("354 what?").expectClosed());
        session = open();

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.MAIL);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("unexpected reply to MAIL: 354 what?");
    }

    @Test
    void replySplitAcrossWritesShouldBeReassembled() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO)
            .sendInParts("25", "0-mx.test\r\n250-PIPE", "LINING\r", "\n250 8BITMIME\r\n")
            .expect("QUIT").reply("221 bye").expectClosed());

        session = open();

        assertThat(session.extensions()).containsExactlyInAnyOrder("PIPELINING", "8BITMIME");
    }

    @Test
    void commandTimeoutShouldCoverTheWholeReply() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO)
            .sendRaw("250-mx.test\r\n").expectClosed());
        long start = System.nanoTime();

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, Duration.ofMillis(250), SECOND))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.EHLO);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessage(server.endpoint() + ": no reply to EHLO within 250 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(240), SECOND);
    }

    @Test
    void dataTimeoutShouldApplyToTheFinalReply() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes(WIRE_BODY).expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, SECOND, Duration.ofMillis(250))));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.CONTENT);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessage(server.endpoint() + ": no reply to end of data within 250 ms");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void refusedGreetingShouldSayQuit() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply("554 5.7.1 no service for you")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(this::open, SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.GREETING);
        assertThat(failure.kind()).isEqualTo(Kind.REFUSED_BY_SERVER);
        assertThat(failure.reply()).contains(SmtpReply.of(554, "5.7.1 no service for you"));
        assertThat(failure).hasMessage(server.endpoint()
            + ": server refused the session: 554 5.7.1 no service for you");
    }

    @Test
    void refusedEhloShouldFallBackToHelo() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING)
            .expect(EHLO).reply("502 5.5.2 what is EHLO")
            .expect("HELO client.test").reply("250 mx.test")
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead").expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());

        session = open();
        await(session.send(transaction("a@mx.test")));

        assertThat(session.extensions()).isEmpty();
    }

    @Test
    void refusedEhloAndHeloShouldEndTheSession() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING)
            .expect(EHLO).reply("550 5.7.1 go away")
            .expect("HELO client.test").reply("550 5.7.1 still no")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(this::open, SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.EHLO);
        assertThat(failure.kind()).isEqualTo(Kind.REFUSED_BY_SERVER);
        assertThat(failure.reply()).contains(SmtpReply.of(550, "5.7.1 still no"));
        assertThat(failure).hasMessageEndingWith("EHLO and HELO refused: 550 5.7.1 still no");
    }

    @Test
    void transientEhloRefusalShouldNotFallBackToHelo() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING)
            .expect(EHLO).reply("450 4.7.1 slow down")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(this::open, SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.EHLO);
        assertThat(failure.reply()).contains(SmtpReply.of(450, "4.7.1 slow down"));
        assertThat(failure).hasMessageEndingWith("EHLO refused: 450 4.7.1 slow down");
    }

    @Test
    void requiredTlsNotOfferedShouldFailBeforeAnyMail() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING").expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(server.endpoint(), settings(TlsMode.REQUIRED))), SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure.reply()).isEmpty();
        assertThat(failure).hasMessage(server.endpoint()
            + ": STARTTLS not offered, but TLS mode REQUIRED requires it");
    }

    @Test
    void requiredTlsRefusedShouldFail() throws Exception {
        server = ScriptedSmtpServer.start(greeted("STARTTLS")
            .expect("STARTTLS").reply("454 4.7.0 TLS not available")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(server.endpoint(), settings(TlsMode.VERIFY))), SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure.reply()).contains(SmtpReply.of(454, "4.7.0 TLS not available"));
        assertThat(failure).hasMessageEndingWith(
            "STARTTLS refused, but TLS mode VERIFY requires it: 454 4.7.0 TLS not available");
    }

    @Test
    void opportunisticTlsRefusedShouldGoOnInPlaintext() throws Exception {
        server = ScriptedSmtpServer.start(greeted("STARTTLS", "PIPELINING")
            .expect("STARTTLS").reply("454 4.7.0 TLS not available")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes(WIRE_BODY).reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));

        await(session.send(transaction("a@mx.test")));

        assertThat(session.tls()).isEmpty();
        assertThat(session.extensions()).contains("STARTTLS", "PIPELINING");
    }

    @Test
    void disabledTlsShouldIgnoreTheOffer() throws Exception {
        server = ScriptedSmtpServer.start(greeted("STARTTLS").expect("QUIT").reply("221 bye").expectClosed());

        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        assertThat(session.tls()).isEmpty();
    }

    @Test
    void dataAfterTheStartTlsReplyShouldBeAProtocolError() throws Exception {
        server = ScriptedSmtpServer.start(greeted("STARTTLS")
            .expect("STARTTLS").reply("220 ready", "250 injected").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC))), SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("server sent data after its STARTTLS reply");
    }

    @Test
    void addressWithALineBreakShouldBeRefusedBeforeAnythingIsSent() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        assertThatThrownBy(() -> await(session.send(transaction("a@mx.test>\r\nRCPT TO:<b@mx.test"))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("recipient address contains a control character (0xd at index 10): "
                + "a@mx.test>??RCPT TO:<b@mx.test");
        assertThat(session.isReusable()).isTrue();
        assertThat(session.transactionCount()).isZero();
    }

    @Test
    void sendAfterAFailureShouldBeRefused() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect(MAIL).reply("421 4.3.2 bye").expectClosed());
        session = open();
        catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))), SmtpSessionException.class);

        assertThatThrownBy(() -> await(session.send(transaction("a@mx.test"))))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage(server.endpoint() + ": session failed earlier and cannot carry a transaction");
    }

    @Test
    void failingContentShouldCloseTheConnectionWithoutTheFinalDot() throws Exception {
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectClosed());
        // larger than the buffer, so the content is read a second time while it is sent, and fails then
        session = await(fixture.withBuffer(8).open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));
        AtomicInteger reads = new AtomicInteger();
        MessageContent failing = out -> {
            out.write("partial\r\n".getBytes(StandardCharsets.US_ASCII));
            if (reads.incrementAndGet() > 1) {
                throw new IOException("message store gone");
            }
        };

        assertThatThrownBy(() -> await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), failing, true))))
            .isInstanceOf(UncheckedIOException.class)
            .hasMessage(server.endpoint() + ": could not read the message content")
            .hasRootCauseMessage("message store gone");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void failingContentWhileSizingShouldLeaveTheSessionUsable() throws Exception {
        server = ScriptedSmtpServer.start(greeted("SIZE").expect("QUIT").reply("221 bye").expectClosed());
        session = open();
        MessageContent failing = out -> {
            throw new IOException("message store gone");
        };

        assertThatThrownBy(() -> await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), failing, true))))
            .isInstanceOf(UncheckedIOException.class)
            .hasMessage(server.endpoint() + ": could not read the message content");
        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void refusedConnectionShouldBeReported() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closedPort = probe.getLocalPort();
        }
        SmtpEndpoint endpoint = new SmtpEndpoint("mx.test", InetAddress.getByName("127.0.0.1"), closedPort);

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(endpoint, settings(TlsMode.OPPORTUNISTIC))), SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.CONNECT);
        assertThat(failure.kind()).isEqualTo(Kind.CONNECTION_REFUSED);
        assertThat(failure).hasMessageStartingWith(endpoint + ": could not connect: ");
    }

    @Test
    void bindAddressShouldBeTheConnectionsSource() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").reply("221 bye").expectClosed());
        InetAddress source = InetAddress.getByName("127.0.0.2");

        session = await(factory.open(server.endpoint(), new SessionSettings("client.test", Optional.of(source), SECOND,
            SECOND, SECOND, TlsMode.OPPORTUNISTIC)));
        await(session.close());

        assertThat(server.clientAddress()).isEqualTo(source);
    }

    private SmtpSession open() throws Exception {
        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));
        return session;
    }

    /** Opens a session and sends two transactions, returning what ended it. */
    private SmtpSessionException failureWhileDeliveringTwice() {
        SmtpSessionException failure = catchThrowableOfType(() -> {
            open();
            await(session.send(transaction("a@mx.test")));
            await(session.send(transaction("a@mx.test")));
        }, SmtpSessionException.class);
        assertThat(failure).as("session failure").isNotNull();
        return failure;
    }

    /**
     * A plaintext, non-pipelining script that plays normally up to {@code stage} and then lets {@code failure}
     * answer the command of that stage (at RSET: the second transaction's reset).
     */
    private static Script failingAt(Stage stage, Consumer<Script> failure) {
        Script script = Script.create();
        if (stage == Stage.GREETING) {
            failure.accept(script);
            return script;
        }
        script.reply(GREETING).expect(EHLO);
        if (stage == Stage.EHLO) {
            failure.accept(script);
            return script;
        }
        if (stage == Stage.STARTTLS) {
            script.reply(ehloReply("STARTTLS")).expect("STARTTLS");
            failure.accept(script);
            return script;
        }
        script.reply(ehloReply());
        if (stage == Stage.RSET) {
            playTransaction(script).expect("RSET");
            failure.accept(script);
            return script;
        }
        script.expect(MAIL);
        if (stage == Stage.MAIL) {
            failure.accept(script);
            return script;
        }
        script.reply("250 ok").expect("RCPT TO:<a@mx.test>");
        if (stage == Stage.RCPT) {
            failure.accept(script);
            return script;
        }
        script.reply("250 ok").expect("DATA");
        if (stage == Stage.DATA) {
            failure.accept(script);
            return script;
        }
        script.reply("354 go ahead").expectBytes(WIRE_BODY);
        failure.accept(script);
        return script;
    }

    /** One plain transaction to a@mx.test, without pipelining, delivered. */
    static Script playTransaction(Script script) {
        return script.expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead").expectBytes(WIRE_BODY).reply("250 queued");
    }

    static Script greeted(String... extensions) {
        return Script.create().reply(GREETING).expect(EHLO).reply(ehloReply(extensions));
    }

    static String[] ehloReply(String... extensions) {
        String[] lines = new String[extensions.length + 1];
        lines[0] = (extensions.length == 0 ? "250 " : "250-") + "mx.test greets client.test";
        for (int i = 0; i < extensions.length; i++) {
            lines[i + 1] = (i == extensions.length - 1 ? "250 " : "250-") + extensions[i];
        }
        return lines;
    }

    static SessionSettings settings(TlsMode mode) {
        return settings(mode, SECOND, SECOND);
    }

    static SessionSettings settings(TlsMode mode, Duration commandTimeout, Duration dataTimeout) {
        return new SessionSettings("client.test", Optional.empty(), SECOND, commandTimeout, dataTimeout, mode);
    }

    static SmtpTransaction transaction(String... recipients) {
        return new SmtpTransaction(SENDER, List.of(recipients), content(BODY), true);
    }

    /** The text's characters as bytes, one each (ISO-8859-1), so tests can write 8-bit content. */
    static MessageContent content(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        return out -> out.write(bytes);
    }

    private static MessageContent chunked(String text, int chunkSize) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        return out -> {
            for (int offset = 0; offset < bytes.length; offset += chunkSize) {
                int length = Math.min(chunkSize, bytes.length - offset);
                if (length == 1) {
                    out.write(bytes[offset]);
                } else {
                    out.write(bytes, offset, length);
                }
            }
        };
    }

    static Map.Entry<String, SmtpReply> entry(String recipient, int code, String text) {
        return Map.entry(recipient, SmtpReply.of(code, text));
    }
}

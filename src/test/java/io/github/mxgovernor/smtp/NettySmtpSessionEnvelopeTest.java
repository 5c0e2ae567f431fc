package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettySmtpSessionTest.content;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.greeted;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static io.github.mxgovernor.smtp.NettyFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.tls.TlsMode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What MAIL FROM and RCPT TO carry (SIZE, BODY, SMTPUTF8, DSN) and what the session refuses to send. */
class NettySmtpSessionEnvelopeTest {
    private static final String SENDER = "sender@example.org";
    private static final String MAIL = "MAIL FROM:<" + SENDER + ">";
    private static final String BODY = "Subject: hi\r\n\r\nbody\r\n";

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
    void aMessageLargerThanTheServersSizeLimitShouldBeRefusedBeforeAnythingIsSent() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "SIZE 20")
            .expectBurst(MAIL + " SIZE=7", "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes("small\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult refused = await(session.send(transaction("a@mx.test")));
        TransactionResult next = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), content("small"),
            true)));

        assertThat(refused.localRefusal()).contains(new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE,
            "the message is 21 bytes, more than the 20 bytes mx.test accepts (SIZE)"));
        assertThat(refused.localRefusal().get().reason().enhancedCode()).isEqualTo(new EnhancedStatusCode(5, 3, 4));
        assertThat(next.dataReply()).contains(SmtpReply.of(250, "queued"));
        assertThat(session.transactionCount()).isEqualTo(1);
    }

    @Test
    void aMessageOfExactlyTheSizeLimitShouldBeSent() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "SIZE 21")
            .expectBurst(MAIL + " SIZE=21", "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes(BODY + ".\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        assertThat(await(session.send(transaction("a@mx.test"))).dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void sizeWithoutALimitShouldOnlyDeclareTheSize() throws Exception {
        server = ScriptedSmtpServer.start(greeted("SIZE")
            .expect(MAIL + " SIZE=21").reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead").expectBytes(BODY + ".\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        assertThat(await(session.send(transaction("a@mx.test"))).localRefusal()).isEmpty();
    }

    @Test
    void eightBitContentShouldGoInItsSevenBitFormWhen8BitMimeIsNotOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes("caf=E9\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();
        AtomicInteger conversions = new AtomicInteger();
        MessageContent eightBit = new MessageContent() {
            @Override
            public void writeTo(OutputStream out) throws IOException {
                content("caf\u00e9\n").writeTo(out);
            }

            @Override
            public Optional<MessageContent> sevenBitForm() {
                conversions.incrementAndGet();
                return Optional.of(content("caf=E9\n"));
            }
        };

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), eightBit,
            true)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
        assertThat(conversions).hasValue(1);
    }

    @Test
    void aSevenBitFormThatStillHasEightBitBytesShouldBeRefused() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").reply("221 bye").expectClosed());
        session = open();
        MessageContent eightBitHeader = new MessageContent() {
            @Override
            public void writeTo(OutputStream out) throws IOException {
                content("Subject: caf\u00e9\n\nbody\n").writeTo(out);
            }

            @Override
            public Optional<MessageContent> sevenBitForm() {
                return Optional.of(this);
            }
        };

        TransactionResult result = await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test"), eightBitHeader,
            true)));

        assertThat(result.localRefusal().map(LocalRefusal::toString)).contains("5.6.3 the message has 8-bit data"
            + " that cannot be converted to 7-bit MIME (in its headers) and mx.test does not offer 8BITMIME");
    }

    @Test
    void aNonAsciiAddressShouldBeRefusedWhenSmtpUtf8IsNotOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("8BITMIME").expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        TransactionResult result = await(session.send(transaction("j\u00fcrgen@mx.test")));

        assertThat(result.localRefusal()).contains(new LocalRefusal(LocalRefusal.Reason.UTF8_ADDRESS_NOT_SUPPORTED,
            "an envelope address has non-ASCII characters and mx.test does not offer SMTPUTF8"));
        assertThat(result.localRefusal().get().reason().enhancedCode()).isEqualTo(new EnhancedStatusCode(5, 6, 7));
    }

    @Test
    void aNonAsciiAddressShouldGoAsUtf8WithTheSmtpUtf8Parameter() throws Exception {
        String recipient = utf8AsLatin1("RCPT TO:<j\u00fcrgen@mx.test>");
        server = ScriptedSmtpServer.start(greeted("8BITMIME", "SMTPUTF8")
            .expect(MAIL + " SMTPUTF8").reply("250 ok").expect(recipient).reply("250 ok")
            .expect("DATA").reply("354 go ahead").expectBytes(BODY + ".\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        assertThat(await(session.send(transaction("j\u00fcrgen@mx.test"))).dataReply())
            .contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void dsnParametersShouldBeSentXtextEncodedWhenDsnIsOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "DSN")
            .expectBurst(MAIL + " RET=HDRS ENVID=id+2B1+3Dx+20y",
                "RCPT TO:<a@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bext@example.org",
                "RCPT TO:<b@mx.test> NOTIFY=NEVER",
                "RCPT TO:<c@mx.test>",
                "DATA")
            .reply("250 ok", "250 ok", "250 ok", "250 ok", "354 go ahead")
            .expectBytes(BODY + ".\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test", "b@mx.test", "c@mx.test"), content(BODY),
            true, dsn())));
    }

    @Test
    void dsnParametersShouldBeLeftOutWhenDsnIsNotOffered() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "RCPT TO:<b@mx.test>", "RCPT TO:<c@mx.test>", "DATA")
            .reply("250 ok", "250 ok", "250 ok", "250 ok", "354 go ahead")
            .expectBytes(BODY + ".\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = open();

        await(session.send(new SmtpTransaction(SENDER, List.of("a@mx.test", "b@mx.test", "c@mx.test"), content(BODY),
            true, dsn())));
    }

    @Test
    void dsnForAnAddressOutsideTheTransactionShouldBeRefused() {
        DsnRequest request = DsnRequest.builder()
            .recipient("z@mx.test", new DsnRequest.Recipient(Set.of(DsnRequest.Notify.DELAY), Optional.empty()))
            .build();

        assertThatThrownBy(() -> new SmtpTransaction(SENDER, List.of("a@mx.test"), content(BODY), true, request))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("DSN parameters for z@mx.test, which is not a recipient of the transaction [a@mx.test]");
    }

    @Test
    void notifyNeverShouldNotBeCombined() {
        assertThatThrownBy(() -> new DsnRequest.Recipient(EnumSet.of(DsnRequest.Notify.NEVER,
            DsnRequest.Notify.FAILURE), Optional.empty()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("NOTIFY=NEVER cannot be combined with other values, was [NEVER, FAILURE]");
    }

    @Test
    void originalRecipientShouldHaveNoControlCharacter() {
        assertThatThrownBy(() -> new DsnRequest.Recipient(Set.of(), Optional.of("a@b\r\nRSET")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("ORCPT contains a control character (0xd at index 3)");
    }

    @Test
    void envelopeIdShouldBePrintableAsciiOfAtMostAHundredCharacters() {
        assertThatThrownBy(() -> DsnRequest.builder().envelopeId("x".repeat(101)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("ENVID must be 1..100 characters, was 101");
        assertThatThrownBy(() -> DsnRequest.builder().envelopeId("caf\u00e9"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("ENVID must be printable ASCII, has 0xe9 at index 3");
    }

    @Test
    void xtextShouldEncodePlusEqualsSpaceControlsAndUtf8Bytes() {
        assertThat(DsnRequest.xtext("a+b=c d\u00e9~!")).isEqualTo("a+2Bb+3Dc+20d+C3+A9~!");
    }

    @Test
    void aLocalRefusalNeedsAMessage() {
        assertThatThrownBy(() -> new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE, " "))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a local refusal needs a message");
    }

    private static DsnRequest dsn() {
        return DsnRequest.builder()
            .ret(DsnRequest.Ret.HDRS)
            .envelopeId("id+1=x y")
            .recipient("a@mx.test", new DsnRequest.Recipient(EnumSet.of(DsnRequest.Notify.FAILURE,
                DsnRequest.Notify.SUCCESS), Optional.of("a+ext@example.org")))
            .recipient("b@mx.test", new DsnRequest.Recipient(Set.of(DsnRequest.Notify.NEVER), Optional.empty()))
            .build();
    }

    private static String utf8AsLatin1(String text) {
        return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    private SmtpSession open() throws Exception {
        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));
        return session;
    }
}

package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettyFixture.await;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.ehloReply;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.greeted;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Servers that drip, never answer, never stop talking or stop reading: every one costs the client at most the
 * deadline that applies, never a thread, and never more memory than the reply limits.
 */
class NettySmtpSessionHostileTest {
    private static final String MAIL = "MAIL FROM:<sender@example.org>";
    private static final Duration SECOND = Duration.ofSeconds(1);

    private final NettyFixture fixture = new NettyFixture();
    private final NettySmtpSessionFactory factory = fixture.jdkTrust();
    private ScriptedSmtpServer server;
    private SmtpSession session;

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (session != null) {
                session.abort();
            }
            if (server != null) {
                server.close();
            }
        } finally {
            fixture.close();
        }
    }

    @Test
    void aTlsHandshakeDrippedByteByByteShouldFailTheOpeningAtTheOpenTimeout() throws Exception {
        // a 16 KiB handshake record, one byte every 500 ms: 2.3 hours, each byte well within the command timeout
        server = ScriptedSmtpServer.start(greeted("STARTTLS").expect("STARTTLS").reply("220 2.0.0 ready")
            .readSome().dripUntilClosed(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00}, 500));
        long start = System.nanoTime();

        SmtpSessionException failure = catchThrowableOfType(() -> await(factory.open(server.endpoint(),
            settings(TlsMode.REQUIRED).withOpenTimeout(Duration.ofMillis(1500)))), SmtpSessionException.class);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(1400),
            Duration.ofMillis(2500));
        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessage(server.endpoint() + ": the session was not open within 1500 ms (still at"
            + " STARTTLS)");
    }

    @Test
    void aGreetingDrippedLineByLineShouldFailTheOpeningAtTheOpenTimeout() throws Exception {
        // each line well within the command timeout, and fewer than the reply's line limit
        server = ScriptedSmtpServer.start(Script.create().sendInParts("220-a\r\n", "220-b\r\n", "220-c\r\n",
            "220-d\r\n").dripUntilClosed("220-e".getBytes(StandardCharsets.US_ASCII), 100));

        SmtpSessionException failure = catchThrowableOfType(() -> await(factory.open(server.endpoint(),
            settings(TlsMode.DISABLED, Duration.ofSeconds(5), SECOND).withOpenTimeout(Duration.ofMillis(600)))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.GREETING);
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessageEndingWith("the session was not open within 600 ms (still at GREETING)");
    }

    @Test
    void aGreetingThatNeverEndsShouldBeAProtocolErrorAfterAHundredLines() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().floodUntilClosed("220-still greeting you\r\n"));

        SmtpSessionException failure = catchThrowableOfType(() -> await(factory.open(server.endpoint(),
            settings(TlsMode.DISABLED))), SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.GREETING);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessage(server.endpoint() + ": malformed reply to greeting: reply has more than 100"
            + " lines");
    }

    @Test
    void anEndlessMultiLineReplyShouldBeAProtocolError() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect(MAIL).floodUntilClosed("250-still thinking\r\n"));
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.MAIL);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("malformed reply to MAIL: reply has more than 100 lines");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void aReplyLineOf64KibShouldBeAProtocolErrorOnceItPassesTheLineLimit() throws Exception {
        // the decoder's bound on what it holds is shown by ReplyDecoderTest; here, the session ends at once
        server = ScriptedSmtpServer.start(Script.create().reply("220 mx.test ready").expect("EHLO client.test")
            .sendRaw("250-").floodUntilClosed("x".repeat(1024)));
        long start = System.nanoTime();

        SmtpSessionException failure = catchThrowableOfType(() -> await(factory.open(server.endpoint(),
            settings(TlsMode.DISABLED))), SmtpSessionException.class);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(SECOND);
        assertThat(failure.stage()).isEqualTo(Stage.EHLO);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("malformed reply to EHLO: reply line longer than 2048 bytes");
    }

    @Test
    void aServerThatStopsReadingAPipelinedBdatBurstShouldNotStallTheSessionLongerThanTheDataTimeout()
        throws Exception {
        CountDownLatch released = new CountDownLatch(1);
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING").stopReadingUntil(released)
            .discardUntilClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, SECOND, Duration.ofMillis(300))));
        long start = System.nanoTime();

        SmtpSessionException failure;
        try {
            failure = catchThrowableOfType(() -> await(session.send(new SmtpTransaction("sender@example.org",
                List.of("a@mx.test"), hugeContent(new AtomicLong()), true))), SmtpSessionException.class);
        } finally {
            released.countDown();
        }

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(failure).hasMessageEndingWith("the server took nothing for 300 ms");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void afterAbortDuringATransactionTheServerShouldReceiveNoFurtherByte() throws Exception {
        CountDownLatch burstReceived = new CountDownLatch(1);
        CountDownLatch aborted = new CountDownLatch(1);
        // the replies that would have sent the content come only once abort() returned
        server = ScriptedSmtpServer.start(greeted("PIPELINING")
            .expectBurst(MAIL, "RCPT TO:<a@mx.test>", "DATA").signal(burstReceived)
            .stopReadingUntil(aborted)
            .sendRaw("250 ok\r\n250 ok\r\n354 go ahead\r\n").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));
        CompletableFuture<TransactionResult> sending = session.send(transaction("a@mx.test"));
        assertThat(burstReceived.await(5, TimeUnit.SECONDS)).isTrue();

        session.abort();
        aborted.countDown();

        SmtpSessionException failure = catchThrowableOfType(() -> await(sending), SmtpSessionException.class);
        assertThat(failure.stage()).isEqualTo(Stage.MAIL);
        assertThat(failure.kind()).isEqualTo(Kind.CONNECTION_LOST);
        assertThat(failure).hasMessageEndingWith("connection lost awaiting the reply to MAIL: the session was aborted");
        server.close();
        assertThat(server.received()).doesNotContain("Subject");
    }

    @Test
    void abortWhileTheContentStreamsShouldStopReadingIt() throws Exception {
        CountDownLatch released = new CountDownLatch(1);
        server = ScriptedSmtpServer.start(greeted()
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .stopReadingUntil(released).discardUntilClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED, SECOND, Duration.ofSeconds(30))));
        AtomicLong written = new AtomicLong();
        CompletableFuture<TransactionResult> sending = session.send(new SmtpTransaction("sender@example.org",
            List.of("a@mx.test"), hugeContent(written), true));
        // the second reading (the first one sized it) is under way and held back by the server
        Awaitility.await().atMost(Duration.ofSeconds(5))
            .until(() -> written.get() > 64L * 1024 * 1024 + ContentStream.MAX_IN_FLIGHT);

        session.abort();

        try {
            SmtpSessionException failure = catchThrowableOfType(() -> await(sending), SmtpSessionException.class);
            assertThat(failure.kind()).isEqualTo(Kind.CONNECTION_LOST);
            assertThat(failure).hasMessageContaining("the session was aborted");
            assertThat(written.get()).as("bytes read from the content").isLessThan(2L * 64 * 1024 * 1024);
        } finally {
            released.countDown();
        }
    }

    @Test
    void twoHundredSessionsClosingAtOnceAgainstAServerThatNeverAnswersQuitShouldBlockNoThread() throws Exception {
        try (LoopbackSmtpServer silent = LoopbackSmtpServer.neverAnsweringQuit("PIPELINING")) {
            List<CompletableFuture<SmtpSession>> opening = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                opening.add(factory.open(silent.endpoint(), settings(TlsMode.DISABLED, Duration.ofMillis(500),
                    SECOND)));
            }
            List<SmtpSession> sessions = new ArrayList<>();
            for (CompletableFuture<SmtpSession> open : opening) {
                sessions.add(await(open));
            }
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
            long start = System.nanoTime();

            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (SmtpSession open : sessions) {
                closing.add(open.close());
            }
            Duration returned = Duration.ofNanos(System.nanoTime() - start);
            int threadsWhileClosing = ManagementFactory.getThreadMXBean().getThreadCount();
            CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.SECONDS);
            Duration closed = Duration.ofNanos(System.nanoTime() - start);

            assertThat(returned).as("200 close() calls").isLessThan(Duration.ofMillis(200));
            assertThat(threadsWhileClosing).isLessThanOrEqualTo(threadsBefore);
            // QUIT waits min(commandTimeout, 5 s), 500 ms here, then each socket is closed
            assertThat(closed).isBetween(Duration.ofMillis(450), Duration.ofSeconds(3));
            assertThat(silent.quitsReceived()).isEqualTo(200);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> silent.openConnections() == 0);
        }
    }

    @Test
    void aReplyNobodyAskedForShouldEndAnIdleSession() throws Exception {
        server = ScriptedSmtpServer.start(greeted().sendRaw("250 surprise\r\n").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !session.isReusable());

        IllegalStateException refused = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            IllegalStateException.class);
        assertThat(refused).hasMessageEndingWith("session failed earlier and cannot carry a transaction");
    }

    @Test
    void anIdleSessionTheServerClosesWith421ShouldNoLongerBeReusable() throws Exception {
        server = ScriptedSmtpServer.start(greeted().sendRaw("421 4.4.2 mx.test idle for too long\r\n").drop());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !session.isReusable());
    }

    @Test
    void aDataCommandAnswered250ShouldBeAProtocolError() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>")
            .reply("250 ok").expect("DATA").reply("250 sure").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.DATA);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("unexpected reply to DATA: 250 sure");
    }

    @Test
    void aBdatAnswered354ShouldBeAProtocolError() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply("220 mx.test ready").expect("EHLO client.test")
            .reply(ehloReply("PIPELINING", "CHUNKING")).readSome()
            .reply("250 ok", "250 ok", "354 what?").expectClosed());
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        SmtpSessionException failure = catchThrowableOfType(() -> await(session.send(transaction("a@mx.test"))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.CONTENT);
        assertThat(failure.kind()).isEqualTo(Kind.PROTOCOL_ERROR);
        assertThat(failure).hasMessageEndingWith("unexpected reply to BDAT LAST: 354 what?");
    }

    /** 64 MiB of 1 KiB lines, counting the bytes it wrote over every reading. */
    private static MessageContent hugeContent(AtomicLong written) {
        byte[] line = ("x".repeat(1022) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        return out -> {
            for (int i = 0; i < 64 * 1024; i++) {
                out.write(line);
                written.addAndGet(line.length);
            }
        };
    }
}

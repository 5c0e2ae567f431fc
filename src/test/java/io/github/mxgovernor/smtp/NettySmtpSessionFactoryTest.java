package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettyFixture.await;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.ehloReply;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.greeted;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsTrust;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The factory's threads and life, the content on its executor, and what the ported tests do not reach. */
class NettySmtpSessionFactoryTest {
    private static final String MAIL = "MAIL FROM:<sender@example.org>";

    private final NettyFixture fixture = new NettyFixture();
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
    void ioThreadsShouldBeAtLeastOne() {
        assertThatThrownBy(() -> new NettySmtpSessionFactory(TlsTrust.jdkDefault().trustManager(),
            fixture.contentExecutor(), 0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("ioThreads must be at least 1, was 0");
    }

    @Test
    void ioThreadsShouldBeNamedDaemonsAndTheContentShouldBeReadOnTheContentExecutor() throws Exception {
        server = ScriptedSmtpServer.start(NettySmtpSessionTest.playTransaction(greeted())
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.DISABLED)));
        List<String> readers = new CopyOnWriteArrayList<>();
        MessageContent watched = out -> {
            readers.add(Thread.currentThread().getName());
            out.write("Subject: hi\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        };
        String[] completedOn = new String[1];

        await(session.send(new SmtpTransaction("sender@example.org", List.of("a@mx.test"), watched, true))
            .whenComplete((result, failure) -> completedOn[0] = Thread.currentThread().getName()));

        assertThat(readers).isNotEmpty().allSatisfy(name -> assertThat(name).startsWith("test-smtp-content-"));
        assertThat(completedOn[0]).startsWith("mx-governor-smtp-io-");
        assertThat(Thread.getAllStackTraces().keySet()).filteredOn(thread -> thread.getName()
            .startsWith("mx-governor-smtp-io-")).isNotEmpty().allSatisfy(thread -> assertThat(thread.isDaemon())
            .isTrue());
    }

    @Test
    void closingTheFactoryShouldEndItsSessionsAndRefuseNewOnes() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expectClosed());
        NettySmtpSessionFactory factory = fixture.jdkTrust();
        session = await(factory.open(server.endpoint(), settings(TlsMode.DISABLED)));

        factory.close();

        assertThat(session.isReusable()).isFalse();
        assertThat(session.close()).isCompleted();
        IllegalStateException refused = catchThrowableOfType(() -> await(factory.open(server.endpoint(),
            settings(TlsMode.DISABLED))), IllegalStateException.class);
        assertThat(refused).hasMessage("the SMTP client is closed");
    }

    @Test
    void aSecondCallWhileATransactionIsUnderWayShouldBeRefused() throws Exception {
        CountDownLatch replied = new CountDownLatch(1);
        server = ScriptedSmtpServer.start(greeted().expect(MAIL).stopReadingUntil(replied).reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("250 ok").expect("DATA").reply("354 go ahead")
            .expectBytes("Subject: hi\r\n\r\nbody\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.DISABLED)));
        CompletableFuture<TransactionResult> first = session.send(transaction("a@mx.test"));

        IllegalStateException refused = catchThrowableOfType(() -> await(session.send(transaction("b@mx.test"))),
            IllegalStateException.class);
        replied.countDown();

        assertThat(refused).hasMessageEndingWith("a transaction or AUTH is already in progress");
        assertThat(await(first).dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void aContentFailingWhileItsBdatChunksGoShouldCloseTheConnectionWithoutTheLastChunk() throws Exception {
        server = ScriptedSmtpServer.start(greeted("PIPELINING", "CHUNKING").discardUntilClosed());
        // larger than the buffer, so the content is read a second time while it is sent, and fails then
        session = await(fixture.withBuffer(8).open(server.endpoint(), settings(TlsMode.DISABLED)));
        AtomicInteger reads = new AtomicInteger();
        MessageContent failing = out -> {
            out.write("partial content\r\n".getBytes(StandardCharsets.US_ASCII));
            if (reads.incrementAndGet() > 1) {
                throw new IOException("message store gone");
            }
            out.write("the rest\r\n".getBytes(StandardCharsets.US_ASCII));
        };

        UncheckedIOException failure = catchThrowableOfType(() -> await(session.send(new SmtpTransaction(
            "sender@example.org", List.of("a@mx.test"), failing, true))), UncheckedIOException.class);

        assertThat(failure).hasMessage(server.endpoint() + ": could not read the message content")
            .hasRootCauseMessage("message store gone");
        assertThat(session.isReusable()).isFalse();
        server.close();
        assertThat(server.received()).doesNotContain("LAST").doesNotContain("the rest");
    }

    @Test
    void aSevenBitConversionThatFailsShouldLeaveTheSessionUsable() throws Exception {
        server = ScriptedSmtpServer.start(greeted().expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.DISABLED)));
        MessageContent unconvertible = new MessageContent() {
            @Override
            public void writeTo(OutputStream out) throws IOException {
                out.write("caf\u00e9\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }

            @Override
            public Optional<MessageContent> sevenBitForm() throws IOException {
                throw new IOException("no MIME parser today");
            }
        };

        UncheckedIOException failure = catchThrowableOfType(() -> await(session.send(new SmtpTransaction(
            "sender@example.org", List.of("a@mx.test"), unconvertible, true))), UncheckedIOException.class);

        assertThat(failure).hasMessage(server.endpoint() + ": could not convert the message to 7-bit MIME");
        assertThat(session.isReusable()).isTrue();
        assertThat(session.transactionCount()).isZero();
    }

    @Test
    void aLargeMessageShouldStreamOverTls() throws Exception {
        TestCertificate certificate = TestCertificate.mxTest();
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), Script.create()
            .reply("220 mx.test ready").expect("EHLO client.test").reply(ehloReply("STARTTLS"))
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect("EHLO client.test").reply(ehloReply("8BITMIME"))
            .expect(MAIL).reply("250 ok").expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead").readUntil("\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.withBuffer(64 * 1024).open(server.endpoint(), settings(TlsMode.REQUIRED)));
        byte[] line = (".".repeat(100) + "\n").getBytes(StandardCharsets.US_ASCII);
        int lines = 3 * 1024 * 1024 / line.length;
        MessageContent large = out -> {
            for (int i = 0; i < lines; i++) {
                out.write(line);
            }
        };

        TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org",
            List.of("a@mx.test"), large, true)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
        assertThat(session.tls()).isPresent();
        // each line doubled its leading dot and got a CR
        assertThat(server.received()).contains("\r\n.." + ".".repeat(99) + "\r\n.\r\n");
    }

    @Test
    void aResumedTlsSessionShouldKeepTheCertificateCheckOfItsFirstHandshake() throws Exception {
        TestCertificate certificate = TestCertificate.mxTest();
        Script tlsAndQuit = Script.create().reply("220 mx.test ready").expect("EHLO client.test")
            .reply(ehloReply("STARTTLS")).expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect("EHLO client.test").reply(ehloReply("8BITMIME"))
            .expect("QUIT").reply("221 bye").expectClosed();
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), tlsAndQuit, tlsAndQuit);
        AtomicInteger fullHandshakes = new AtomicInteger();
        NettySmtpSessionFactory factory = fixture.keep(new NettySmtpSessionFactory(
            countingChains(TlsTrust.jdkDefault().trustManager(), fullHandshakes), fixture.contentExecutor(), 1));

        SmtpSession first = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));
        NettyFixture.closeQuietly(first);
        session = await(factory.open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));

        assertThat(fullHandshakes).as("the second session resumed the first's TLS session").hasValue(1);
        assertThat(first.tls().orElseThrow().certificateCheck().problem()).contains(TlsProblem.UNTRUSTED_CHAIN);
        assertThat(session.tls().orElseThrow().certificateCheck())
            .isEqualTo(first.tls().orElseThrow().certificateCheck());
    }

    /** {@code trust}, counting the chains it is asked to check (one per full handshake). */
    private static X509ExtendedTrustManager countingChains(X509ExtendedTrustManager trust, AtomicInteger checks) {
        return new X509ExtendedTrustManager() {
            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                checks.incrementAndGet();
                trust.checkServerTrusted(chain, authType);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                trust.checkServerTrusted(chain, authType, socket);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                trust.checkServerTrusted(chain, authType, engine);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                trust.checkClientTrusted(chain, authType);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                trust.checkClientTrusted(chain, authType, socket);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                trust.checkClientTrusted(chain, authType, engine);
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return trust.getAcceptedIssuers();
            }
        };
    }

    @Test
    void aRecipientListOfThousandsShouldBeReadWithoutDeepening() throws Exception {
        List<String> recipients = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            recipients.add("r" + i + "@mx.test");
        }
        try (LoopbackSmtpServer loopback = LoopbackSmtpServer.start("PIPELINING", "CHUNKING")) {
            session = await(fixture.jdkTrust().open(loopback.endpoint(), settings(TlsMode.DISABLED)));

            TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org", recipients,
                NettySmtpSessionTest.content("Subject: hi\r\n\r\nbody\r\n"), true)));

            assertThat(result.recipientReplies()).hasSize(5000);
            assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
            NettyFixture.closeQuietly(session);
            session = null;
        }
    }

    @Test
    void anOpeningTheCallerCancelsShouldCloseTheConnection() throws Exception {
        CountDownLatch greeted = new CountDownLatch(1);
        server = ScriptedSmtpServer.start(Script.create().signal(greeted).expectClosed());
        CompletableFuture<SmtpSession> opening = fixture.jdkTrust().open(server.endpoint(),
            settings(TlsMode.DISABLED, Duration.ofSeconds(5), Duration.ofSeconds(5)));
        assertThat(greeted.await(5, TimeUnit.SECONDS)).isTrue();

        opening.cancel(false);

        server.close();
        assertThat(server.received()).isEmpty();
    }

    @Test
    void aListenerWhoseBacklogIsFullShouldTimeOutTheConnect() throws Exception {
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            // never accepted: once its queue is full, the kernel drops the SYNs of later connections
            List<Socket> queued = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket socket = new Socket();
                    queued.add(socket);
                    try {
                        socket.connect(full.getLocalSocketAddress(), 200);
                    } catch (IOException dropped) {
                        break;
                    }
                }
                SmtpEndpoint endpoint = new SmtpEndpoint("mx.test", full.getInetAddress(), full.getLocalPort());
                SessionSettings settings = new SessionSettings("client.test", Optional.empty(), Duration.ofMillis(300),
                    Duration.ofSeconds(1), Duration.ofSeconds(1), TlsMode.DISABLED);

                SmtpSessionException failure = catchThrowableOfType(() -> await(fixture.jdkTrust().open(endpoint,
                    settings)), SmtpSessionException.class);

                assertThat(failure.stage()).isEqualTo(Stage.CONNECT);
                assertThat(failure.kind()).isEqualTo(Kind.TIMEOUT);
                assertThat(failure).hasMessage(endpoint + ": no connection within 300 ms");
            } finally {
                for (Socket socket : queued) {
                    socket.close();
                }
            }
        }
    }
}

package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.testing.TestPki;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import javax.net.ssl.SSLEngine;

import org.junit.jupiter.api.Test;

class FakeMxServerIT {
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @Test
    void messageShouldBeStoredDotUnstuffedWithItsEnvelopeAndMessageId() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2"); RawClient client = new RawClient(server)) {
            assertThat(client.readReply()).startsWith("220 ");
            assertThat(client.command("EHLO client.test")).startsWith("250-").contains("250-PIPELINING");
            assertThat(client.command("MAIL FROM:<from@client.test> SIZE=100")).startsWith("250 ");
            assertThat(client.command("RCPT TO:<to@mx.test>")).startsWith("250 ");
            assertThat(client.command("DATA")).startsWith("354 ");
            client.send("Subject: hello\r\nMessage-ID:\r\n <id-1@client.test>\r\n\r\n..starts with a dot\r\n.\r\n");
            assertThat(client.readReply()).startsWith("250 ");
            assertThat(client.command("QUIT")).startsWith("221 ");

            assertThat(server.messages()).singleElement().satisfies(message -> {
                assertThat(message.sender()).isEqualTo("from@client.test");
                assertThat(message.recipients()).containsExactly("to@mx.test");
                assertThat(new String(message.content(), StandardCharsets.UTF_8))
                    .isEqualTo("Subject: hello\r\nMessage-ID:\r\n <id-1@client.test>\r\n\r\n.starts with a dot\r\n");
                assertThat(message.size()).isEqualTo(message.content().length);
                assertThat(message.messageId()).contains("<id-1@client.test>");
                assertThat(message.connectionNumber()).isEqualTo(1);
            });
            // the connection stops counting as open before the 221 is written
            assertThat(server.openConnections()).isZero();
            assertThat(server.messagesPerClosedConnection()).containsExactly(1);
            assertThat(server.messageCount()).isEqualTo(1);
            assertThat(server.commandCount("rcpt")).isEqualTo(1);
        }
    }

    @Test
    void pipelinedCommandsShouldBeAnsweredInOrderInOneBurst() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2"); RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");

            client.send("MAIL FROM:<>\r\nRCPT TO:<a@mx.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");

            assertThat(List.of(client.readReply(), client.readReply(), client.readReply(), client.readReply()))
                .extracting(reply -> reply.substring(0, 3))
                .containsExactly("250", "250", "250", "354");
            client.send("Subject: one\r\n\r\nbody\r\n.\r\n"
                + "MAIL FROM:<x@client.test>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
            assertThat(List.of(client.readReply(), client.readReply(), client.readReply(), client.readReply()))
                .extracting(reply -> reply.substring(0, 3))
                .containsExactly("250", "250", "250", "354");
            client.send("Subject: two\r\n\r\nbody\r\n.\r\nQUIT\r\n");
            assertThat(client.readReply()).startsWith("250 ");
            assertThat(client.readReply()).startsWith("221 ");

            // greeting, EHLO, then one burst per client write
            assertThat(server.replyBursts()).isEqualTo(5);
            assertThat(server.messages()).extracting(ReceivedMessage::sender).containsExactly("", "x@client.test");
            assertThat(server.messages().get(0).recipients()).containsExactly("a@mx.test", "b@mx.test");
            assertThat(server.messagesPerClosedConnection()).containsExactly(2);
        }
    }

    @Test
    void latencyShouldDelayEachBurstOnce() throws Exception {
        Duration latency = Duration.ofMillis(300);
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").latency(latency).start();
             RawClient client = new RawClient(server)) {
            long begin = System.nanoTime();
            client.readReply();
            client.command("EHLO client.test");
            client.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) {
                client.readReply();
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - begin);

            assertThat(elapsed).isBetween(latency.multipliedBy(3), latency.multipliedBy(5));
        }
    }

    @Test
    void bdatChunksShouldBeStoredByteForByteAndAnsweredInTheBurstThatCarriedThem() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").chunking(true).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            assertThat(client.command("EHLO client.test")).contains("250-CHUNKING");
            // a lone dot and a bare LF are content under BDAT, never an end of data
            String first = "Subject: chunked\r\nMessage-ID: <id-bdat@client.test>\r\n\r\n.\r\n";
            String second = "bare\nLF and no final CRLF";
            client.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nBDAT " + first.length() + "\r\n"
                + first);
            assertThat(List.of(client.readReply(), client.readReply(), client.readReply()))
                .containsExactly("250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 " + first.length() + " octets received");
            client.send("BDAT " + second.length() + " LAST\r\n" + second + "RSET\r\n");
            assertThat(client.readReply()).startsWith("250 2.0.0 Ok: queued");
            assertThat(client.readReply()).startsWith("250 ");

            assertThat(server.messages()).singleElement().satisfies(message -> {
                assertThat(new String(message.content(), StandardCharsets.UTF_8)).isEqualTo(first + second);
                assertThat(message.messageId()).contains("<id-bdat@client.test>");
            });
            assertThat(server.commandCount("BDAT")).isEqualTo(2);
            // greeting, EHLO, then one burst per client write
            assertThat(server.replyBursts()).isEqualTo(4);
        }
    }

    @Test
    void aPipelinedBdatLastTransactionShouldCostOneBurstEvenWhenTheChunkArrivesInPieces() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").chunking(true).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");
            String content = "Subject: big\r\n\r\n" + "x".repeat(300_000) + "\r\n";
            String commands = "RSET\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nBDAT " + content.length()
                + " LAST\r\n";
            client.send(commands + content.substring(0, 1000));
            Thread.sleep(100); // the server has read the commands and part of the chunk: it must not answer yet
            client.send(content.substring(1000));

            assertThat(List.of(client.readReply(), client.readReply(), client.readReply(), client.readReply()))
                .extracting(reply -> reply.substring(0, 3))
                .containsExactly("250", "250", "250", "250");
            assertThat(server.replyBursts()).isEqualTo(3);
            assertThat(server.messages()).singleElement()
                .satisfies(message -> assertThat(message.size()).isEqualTo(content.length()));
        }
    }

    @Test
    void bdatOutsideATransactionShouldConsumeTheChunkAndRefuseIt() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").chunking(true).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");

            client.send("BDAT 5 LAST\r\nhello");
            assertThat(client.readReply()).startsWith("503 ");
            client.send("MAIL FROM:<a@client.test>\r\nBDAT 3 LAST\r\nabc");
            assertThat(client.readReply()).startsWith("250 ");
            assertThat(client.readReply()).startsWith("554 ");
            assertThat(client.command("NOOP")).startsWith("250 ");
            assertThat(server.messageCount()).isZero();
        }
    }

    @Test
    void aBdatSizeThatCannotBeReadShouldCloseTheConnectionAfterA501() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").chunking(true).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");

            assertThat(client.command("BDAT many LAST")).startsWith("501 ");
            assertThat(client.readLine()).isNull();
        }
    }

    @Test
    void bdatShouldBeRefusedAndChunkingNotAdvertisedByDefault() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2"); RawClient client = new RawClient(server)) {
            client.readReply();
            assertThat(client.command("EHLO client.test")).doesNotContain("CHUNKING");
            assertThat(client.command("BDAT 0 LAST")).startsWith("502 ");
        }
    }

    @Test
    void aReplyPolicyShouldAnswerTheLastChunkAsTheEndOfData() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").chunking(true)
            .replyPolicy(ReplyPolicy.at(SmtpStage.END_OF_DATA, ReplyPolicy.TSS04_DEFERRED)).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");

            client.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nBDAT 4 LAST\r\nbody");
            client.readReply();
            client.readReply();
            assertThat(client.readReply()).startsWith("421 4.7.0 [TSS04]");
            assertThat(server.messageCount()).isZero();
        }
    }

    @Test
    void ehloShouldNotAdvertisePipeliningWhenDisabled() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").pipelining(false).hostName("mx.fake.test").start();
             RawClient client = new RawClient(server)) {
            assertThat(client.readReply()).startsWith("220 mx.fake.test ");
            assertThat(client.command("EHLO client.test")).startsWith("250-mx.fake.test").doesNotContain("PIPELINING");
            assertThat(client.command("HELO client.test")).isEqualTo("250 mx.fake.test");
        }
    }

    @Test
    void commandsOutOfSequenceShouldBeRefused() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2"); RawClient client = new RawClient(server)) {
            client.readReply();
            assertThat(client.command("MAIL FROM:<a@client.test>")).startsWith("503 ");
            client.command("EHLO client.test");
            assertThat(client.command("RCPT TO:<b@mx.test>")).startsWith("503 ");
            assertThat(client.command("MAIL FROM:a@client.test")).startsWith("501 ");
            assertThat(client.command("MAIL FROM:<a@client.test>")).startsWith("250 ");
            assertThat(client.command("DATA")).startsWith("554 ");
            assertThat(client.command("RSET")).startsWith("250 ");
            assertThat(client.command("RCPT TO:<b@mx.test>")).startsWith("503 ");
            assertThat(client.command("NOOP")).startsWith("250 ");
            assertThat(client.command("VRFY b")).startsWith("500 ");
        }
    }

    @Test
    void replyPolicyShouldRejectChosenRecipientsAndAcceptTheOthers() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2")
                .replyPolicy(ReplyPolicy.rejectRecipients(ReplyPolicy.NO_SUCH_USER, Set.of("Bad@mx.test")))
                .start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");
            client.command("MAIL FROM:<a@client.test>");
            assertThat(client.command("RCPT TO:<bad@mx.test>")).isEqualTo(ReplyPolicy.NO_SUCH_USER);
            assertThat(client.command("RCPT TO:<good@mx.test>")).startsWith("250 ");
            client.command("DATA");
            client.send("Subject: x\r\n\r\n.\r\n");
            assertThat(client.readReply()).startsWith("250 ");

            assertThat(server.messages()).singleElement()
                .satisfies(message -> assertThat(message.recipients()).containsExactly("good@mx.test"));
        }
    }

    @Test
    void a421ReplyShouldCloseTheConnectionWithoutAcceptingTheMessage() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2"); RawClient client = new RawClient(server)) {
            server.replyPolicy(ReplyPolicy.at(SmtpStage.END_OF_DATA, ReplyPolicy.TSS04_DEFERRED));
            client.readReply();
            client.command("EHLO client.test");
            client.command("MAIL FROM:<a@client.test>");
            client.command("RCPT TO:<b@mx.test>");
            client.command("DATA");
            client.send("Subject: x\r\n\r\n.\r\n");

            assertThat(client.readReply()).isEqualTo(ReplyPolicy.TSS04_DEFERRED);
            assertThat(client.readReply()).isNull();
            assertThat(server.messageCount()).isZero();
            assertThat(server.openConnections()).isZero();
            assertThat(server.messagesPerClosedConnection()).containsExactly(0);
        }
    }

    @Test
    void connectionCountersShouldBeExact() throws Exception {
        try (FakeMxServer server = FakeMxServer.start("127.0.0.2")) {
            List<RawClient> clients = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                RawClient client = new RawClient(server);
                client.readReply();
                clients.add(client);
            }
            assertThat(server.openConnections()).isEqualTo(3);

            clients.get(0).command("QUIT");
            assertThat(server.openConnections()).isEqualTo(2);
            RawClient fourth = new RawClient(server);
            fourth.readReply();
            clients.add(fourth);
            assertThat(server.openConnections()).isEqualTo(3);
            assertThat(server.peakConnections()).isEqualTo(3);
            assertThat(server.totalConnections()).isEqualTo(4);

            for (RawClient client : clients) {
                client.close();
            }
            await().atMost(AWAIT).until(() -> server.openConnections() == 0);
            assertThat(server.messagesPerClosedConnection()).containsExactly(0, 0, 0, 0);

            server.resetStatistics();
            assertThat(server.peakConnections()).isZero();
            assertThat(server.totalConnections()).isZero();
            assertThat(server.messagesPerClosedConnection()).isEmpty();
        }
    }

    @Test
    void hangShouldAcceptButNeverAnswer() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.HANG).start();
             RawClient client = new RawClient(server, Duration.ofMillis(300))) {
            client.send("EHLO client.test\r\n");

            assertThatThrownBy(client::readReply).isInstanceOf(SocketTimeoutException.class);
            assertThat(server.openConnections()).isEqualTo(1);
            assertThat(server.replyBursts()).isZero();
        }
    }

    @Test
    void closeMidDataShouldDropTheConnectionAndAcceptNothing() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.CLOSE_MID_DATA).start();
             RawClient client = new RawClient(server)) {
            client.readReply();
            client.command("EHLO client.test");
            client.command("MAIL FROM:<a@client.test>");
            client.command("RCPT TO:<b@mx.test>");
            assertThat(client.command("DATA")).startsWith("354 ");
            client.send("Subject: part of the content\r\n");

            assertThat(client.readReplyOrReset()).isNull();
            await().atMost(AWAIT).until(() -> server.openConnections() == 0);
            assertThat(server.messageCount()).isZero();
        }
    }

    @Test
    void garbageShouldAnswerWithBytesThatAreNoSmtpReply() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.GARBAGE).start();
             RawClient client = new RawClient(server)) {
            assertThat(client.readLine()).doesNotMatch("[2-5][0-9][0-9][ -].*");
        }
    }

    @Test
    void anEndlessGreetingShouldSendContinuationLinesAndNeverALastOne() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.ENDLESS_GREETING).start();
             RawClient client = new RawClient(server)) {
            for (int i = 0; i < 5; i++) {
                assertThat(client.readLine()).startsWith("220-");
            }
            assertThat(server.openConnections()).isEqualTo(1);
        }
    }

    @Test
    void anEndlessEhloReplyShouldSendContinuationLinesAndNeverALastOne() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.ENDLESS_EHLO_REPLY).start();
             RawClient client = new RawClient(server)) {
            assertThat(client.readReply()).startsWith("220 ");
            client.send("EHLO client.test\r\n");
            for (int i = 0; i < 1000; i++) {
                assertThat(client.readLine()).startsWith("250-");
            }
        }
    }

    @Test
    void aDrippedHandshakeShouldSendTheServersTlsRecordsAboutTenBytesASecond() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.DRIP_TLS_HANDSHAKE)
                .tls(TestPki.authority().issue("mx.drip.test").serverContext()).start();
             RawClient client = new RawClient(server, Duration.ofMillis(300))) {
            client.readReply();
            assertThat(client.command("EHLO client.test")).contains("250-STARTTLS");
            assertThat(client.command("STARTTLS")).startsWith("220 ");
            SSLEngine engine = TestPki.authority().clientContext().createSSLEngine("mx.drip.test", server.port());
            engine.setUseClientMode(true);
            ByteBuffer hello = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(ByteBuffer.allocate(0), hello);
            client.socket.getOutputStream().write(hello.array(), 0, hello.position());

            ByteArrayOutputStream received = new ByteArrayOutputStream();
            long end = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < end) {
                try {
                    received.write(client.socket.getInputStream().read());
                } catch (SocketTimeoutException e) {
                    // nothing this time
                }
            }

            assertThat(received.size()).isBetween(5, 15);
            assertThat(received.toByteArray()[0]).as("a TLS handshake record").isEqualTo((byte) 22);
            assertThat(server.tlsHandshakes()).isZero();
            assertThat(server.openConnections()).isEqualTo(1);
        }
    }

    @Test
    void aSilentQuitShouldLeaveTheConnectionOpenUntilTheClientCloses() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").behaviour(MxBehaviour.SILENT_QUIT).start()) {
            try (RawClient client = new RawClient(server, Duration.ofMillis(300))) {
                client.readReply();
                client.command("EHLO client.test");
                client.send("QUIT\r\n");

                assertThatThrownBy(client::readReply).isInstanceOf(SocketTimeoutException.class);
                assertThat(server.openAfterQuit()).isEqualTo(1);
            }
            await().atMost(AWAIT).until(() -> server.openConnections() == 0 && server.openAfterQuit() == 0);
        }
    }

    @Test
    void authShouldBeOfferedOnlyWhenAskedAndEveryAuthCommandKept() throws Exception {
        try (FakeMxServer server = FakeMxServer.builder("127.0.0.2").auth(true).start();
             FakeMxServer plain = FakeMxServer.start("127.0.0.3");
             RawClient client = new RawClient(server);
             RawClient toPlain = new RawClient(plain)) {
            client.readReply();
            toPlain.readReply();
            assertThat(client.command("EHLO client.test")).contains("250-AUTH PLAIN");
            assertThat(toPlain.command("EHLO client.test")).doesNotContain("AUTH");

            assertThat(client.command("AUTH PLAIN AHVzZXIAc2VjcmV0")).startsWith("235 ");
            assertThat(toPlain.command("AUTH PLAIN AHVzZXIAc2VjcmV0")).startsWith("502 ");
            assertThat(server.authCommands()).containsExactly("AUTH PLAIN AHVzZXIAc2VjcmV0");
            assertThat(plain.authCommands()).isEmpty();
        }
    }

    @Test
    void serversOnTwoLoopbackAddressesShouldShareOnePortNumber() throws Exception {
        try (FakeMxServer first = FakeMxServer.builder("127.0.0.2").hostName("first.test").start();
             FakeMxServer second = FakeMxServer.builder("127.0.0.3").port(first.port()).hostName("second.test").start();
             RawClient toFirst = new RawClient(first);
             RawClient toSecond = new RawClient(second)) {
            assertThat(second.port()).isEqualTo(first.port());
            assertThat(toFirst.readReply()).startsWith("220 first.test ");
            assertThat(toSecond.readReply()).startsWith("220 second.test ");
        }
    }

    @Test
    void closeShouldStopAcceptingAndDropOpenConnections() throws Exception {
        FakeMxServer server = FakeMxServer.start("127.0.0.2");
        try (RawClient client = new RawClient(server)) {
            client.readReply();

            server.close();

            assertThat(client.readReplyOrReset()).isNull();
            assertThat(server.openConnections()).isZero();
            assertThatThrownBy(() -> new RawClient(server)).isInstanceOf(ConnectException.class);
        }
    }

    @Test
    void builderShouldRejectAnAddressThatIsNotALoopbackLiteral() {
        assertThatThrownBy(() -> FakeMxServer.builder("10.1.2.3"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("address must be a literal loopback address, got '10.1.2.3'");
        assertThatThrownBy(() -> FakeMxServer.builder("localhost"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("address must be a literal loopback address, got 'localhost'");
    }

    @Test
    void builderShouldRejectBadSettings() {
        FakeMxServer.Builder builder = FakeMxServer.builder("127.0.0.2");

        assertThatThrownBy(() -> builder.port(65536))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("port must be in 0..65535, got 65536");
        assertThatThrownBy(() -> builder.latency(Duration.ofMillis(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("latency must not be negative, got PT-0.001S");
        assertThatThrownBy(() -> builder.backlog(0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("backlog must be positive, got 0");
    }

    /** A line-oriented SMTP client that sends exactly what the test writes. */
    private static final class RawClient implements AutoCloseable {
        final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawClient(FakeMxServer server) throws IOException {
            this(server, AWAIT);
        }

        RawClient(FakeMxServer server, Duration readTimeout) throws IOException {
            socket = new Socket(server.address(), server.port());
            socket.setSoTimeout((int) readTimeout.toMillis());
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        void send(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        String command(String line) throws IOException {
            send(line + "\r\n");
            return readReply();
        }

        /** A whole (possibly multi-line) reply with lines joined by CRLF, or null at end of stream. */
        String readReply() throws IOException {
            StringBuilder reply = new StringBuilder();
            while (true) {
                String line = readLine();
                if (line == null) {
                    return reply.length() == 0 ? null : reply.toString();
                }
                reply.append(line);
                if (line.length() < 4 || line.charAt(3) != '-') {
                    return reply.toString();
                }
                reply.append("\r\n");
            }
        }

        /** Like {@link #readReply()}, with a connection reset read as the end of the stream. */
        String readReplyOrReset() throws IOException {
            try {
                return readReply();
            } catch (SocketTimeoutException e) {
                throw e;
            } catch (IOException e) {
                return null;
            }
        }

        String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
                }
                line.write(b);
            }
            return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}

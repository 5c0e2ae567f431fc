package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettyFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.TlsMode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Any message, written in any pieces, reaches a server byte for byte as its CRLF-normalised form through the Netty
 * session, by DATA dot-stuffing and by BDAT framing, whole or in chunks, small or spanning many of the pieces the
 * content goes to the channel in, on sessions reused from try to try.
 */
class NettyFramingProperties {
    private static final int SMALL_BUFFER = 16;

    private static DecodingSmtpServer server;
    private static NettyFixture fixture;
    private static final Map<String, SmtpSession> SESSIONS = new ConcurrentHashMap<>();

    @BeforeContainer
    static void startServer() throws IOException {
        server = new DecodingSmtpServer();
        fixture = new NettyFixture();
    }

    @AfterContainer
    static void stopServer() throws Exception {
        for (SmtpSession session : SESSIONS.values()) {
            NettyFixture.closeQuietly(session);
        }
        SESSIONS.clear();
        fixture.close();
        server.close();
    }

    @Property(tries = 200)
    void anyMessageShouldSurviveDataDotStuffing(@ForAll("messages") byte[] message,
                                                @ForAll("pieces") List<Integer> pieces,
                                                @ForAll boolean smallBuffer) throws Exception {
        assertDelivered("data.test", smallBuffer, message, pieces);
    }

    @Property(tries = 200)
    void anyMessageShouldSurviveBdatFraming(@ForAll("messages") byte[] message,
                                            @ForAll("pieces") List<Integer> pieces,
                                            @ForAll boolean smallBuffer) throws Exception {
        assertDelivered("chunking.test", smallBuffer, message, pieces);
    }

    /** Messages of up to 80 KiB span several channel pieces; with the small buffer, thousands of BDAT chunks. */
    @Property(tries = 20)
    void largeMessagesShouldSurviveBothFramings(@ForAll("messages") byte[] pattern,
                                                @ForAll @IntRange(min = 1, max = 80) int kibibytes,
                                                @ForAll boolean chunking, @ForAll boolean smallBuffer)
        throws Exception {
        byte[] message = new byte[kibibytes * 1024];
        for (int i = 0; i < message.length; i++) {
            message[i] = pattern.length == 0 ? (byte) '.' : pattern[i % pattern.length];
        }
        assertDelivered(chunking ? "chunking.test" : "data.test", smallBuffer, message, List.of(4096, 1, 999));
    }

    @Provide
    Arbitrary<byte[]> messages() {
        Arbitrary<Byte> framing = Arbitraries.of((byte) '.', (byte) '\r', (byte) '\n', (byte) 'a', (byte) ' ',
            (byte) 0xe9, (byte) 0);
        return Arbitraries.frequencyOf(Tuple.of(6, framing), Tuple.of(1, Arbitraries.bytes()))
            .list().ofMaxSize(300)
            .map(NettyFramingProperties::toArray);
    }

    @Provide
    Arbitrary<List<Integer>> pieces() {
        return Arbitraries.integers().between(1, 40).list().ofMinSize(1).ofMaxSize(20);
    }

    private static void assertDelivered(String heloName, boolean smallBuffer, byte[] message, List<Integer> pieces)
        throws Exception {
        SmtpSession session = session(heloName, smallBuffer);
        TransactionResult result = await(session.send(new SmtpTransaction("sender@example.org",
            List.of("a@mx.test"), inPieces(message, pieces), true)));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
        assertThat(server.nextMessage()).isEqualTo(normalised(message));
    }

    private static SmtpSession session(String heloName, boolean smallBuffer) throws Exception {
        String key = heloName + smallBuffer;
        SmtpSession session = SESSIONS.get(key);
        if (session == null) {
            NettySmtpSessionFactory factory = fixture.withBuffer(smallBuffer ? SMALL_BUFFER
                : NettySmtpSessionFactory.CONTENT_BUFFER_BYTES);
            Duration timeout = Duration.ofSeconds(5);
            session = await(factory.open(server.endpoint(), new SessionSettings(heloName, Optional.empty(), timeout,
                timeout, timeout, TlsMode.DISABLED)));
            SESSIONS.put(key, session);
        }
        return session;
    }

    /** Writes the message in pieces of the given sizes, in turn, a piece of one as a single-byte write. */
    private static MessageContent inPieces(byte[] message, List<Integer> pieces) {
        return out -> {
            int offset = 0;
            for (int i = 0; offset < message.length; i++) {
                int length = Math.min(pieces.get(i % pieces.size()), message.length - offset);
                if (length == 1) {
                    out.write(message[offset]);
                } else {
                    out.write(message, offset, length);
                }
                offset += length;
            }
        };
    }

    /** The test's own statement of the wire form: CRLF, CR alone and LF alone each end a line; the last line ends. */
    private static byte[] normalised(byte[] message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineOpen = false;
        for (int i = 0; i < message.length; i++) {
            byte b = message[i];
            if (b == '\r' || b == '\n') {
                out.write('\r');
                out.write('\n');
                lineOpen = false;
                if (b == '\r' && i + 1 < message.length && message[i + 1] == '\n') {
                    i++;
                }
            } else {
                out.write(b);
                lineOpen = true;
            }
        }
        if (lineOpen) {
            out.write('\r');
            out.write('\n');
        }
        return out.toByteArray();
    }

    private static byte[] toArray(List<Byte> bytes) {
        byte[] array = new byte[bytes.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = bytes.get(i);
        }
        return array;
    }
}

package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.TlsMode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.ssl.SSLContext;

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
 * Any message, written in any pieces, reaches a server byte for byte as its CRLF-normalised form, through DATA
 * dot-stuffing and through BDAT framing, whole or in chunks, on sessions reused from try to try.
 */
class FramingProperties {
    private static final int SMALL_BUFFER = 16;

    private static DecodingSmtpServer server;
    private static final Map<String, BlockingSmtpSession> SESSIONS = new ConcurrentHashMap<>();

    @BeforeContainer
    static void startServer() throws IOException {
        server = new DecodingSmtpServer();
    }

    @AfterContainer
    static void stopServer() throws IOException {
        SESSIONS.values().forEach(BlockingSmtpSession::close);
        SESSIONS.clear();
        server.close();
    }

    @Property(tries = 300)
    void anyMessageShouldSurviveDataDotStuffing(@ForAll("messages") byte[] message,
                                                @ForAll("pieces") List<Integer> pieces,
                                                @ForAll boolean smallBuffer) throws Exception {
        assertDelivered("data.test", smallBuffer, message, pieces);
    }

    @Property(tries = 300)
    void anyMessageShouldSurviveBdatFraming(@ForAll("messages") byte[] message,
                                            @ForAll("pieces") List<Integer> pieces,
                                            @ForAll boolean smallBuffer) throws Exception {
        assertDelivered("chunking.test", smallBuffer, message, pieces);
    }

    @Property(tries = 500)
    void dotStuffingShouldBeUndoneByAServer(@ForAll("messages") byte[] message,
                                            @ForAll("pieces") List<Integer> pieces) throws IOException {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        DotStuffingOutputStream stuffing = new DotStuffingOutputStream(wire);
        inPieces(message, pieces).writeTo(stuffing);
        stuffing.finish();

        assertThat(unstuff(wire.toByteArray())).isEqualTo(normalised(message));
    }

    @Property(tries = 500)
    void chunksShouldBeFullExceptTheLastAndAddUpToTheMessage(@ForAll("messages") byte[] message,
                                                             @ForAll("pieces") List<Integer> pieces,
                                                             @ForAll @IntRange(min = 1, max = 64) int limit)
        throws IOException {
        ContentBuffer buffer = new ContentBuffer(limit, limit);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        List<Boolean> lastFlags = new ArrayList<>();
        buffer.startChunking((bytes, length, last) -> {
            assertThat(last || length == limit).as("a chunk before the last is full").isTrue();
            joined.write(bytes, 0, length);
            lastFlags.add(last);
        });
        inPieces(message, pieces).writeTo(buffer);
        buffer.finish();

        assertThat(joined.toByteArray()).isEqualTo(normalised(message));
        assertThat(lastFlags.indexOf(true)).isEqualTo(lastFlags.size() - 1);
        assertThat(buffer.size()).isEqualTo(normalised(message).length);
    }

    /** Bytes biased towards what framing cares about: dots, CR, LF, 8-bit, and line-start positions. */
    @Provide
    Arbitrary<byte[]> messages() {
        Arbitrary<Byte> framing = Arbitraries.of((byte) '.', (byte) '\r', (byte) '\n', (byte) 'a', (byte) ' ',
            (byte) 0xe9, (byte) 0);
        return Arbitraries.frequencyOf(Tuple.of(6, framing), Tuple.of(1, Arbitraries.bytes()))
            .list().ofMaxSize(300)
            .map(FramingProperties::toArray);
    }

    @Provide
    Arbitrary<List<Integer>> pieces() {
        return Arbitraries.integers().between(1, 40).list().ofMinSize(1).ofMaxSize(20);
    }

    private static void assertDelivered(String heloName, boolean smallBuffer, byte[] message, List<Integer> pieces)
        throws Exception {
        BlockingSmtpSession session = session(heloName, smallBuffer);
        TransactionResult result = session.send(new SmtpTransaction("sender@example.org", List.of("a@mx.test"),
            inPieces(message, pieces), true));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "2.0.0 queued"));
        assertThat(server.nextMessage()).isEqualTo(normalised(message));
    }

    private static BlockingSmtpSession session(String heloName, boolean smallBuffer) throws Exception {
        String key = heloName + smallBuffer;
        BlockingSmtpSession session = SESSIONS.get(key);
        if (session == null) {
            SocketSmtpSessionFactory factory = new SocketSmtpSessionFactory(SSLContext.getDefault(),
                Clock.systemUTC(), smallBuffer ? SMALL_BUFFER : SocketSmtpSessionFactory.CONTENT_BUFFER_BYTES);
            Duration timeout = Duration.ofSeconds(5);
            session = factory.open(server.endpoint(), new SessionSettings(heloName, Optional.empty(), timeout,
                timeout, timeout, TlsMode.DISABLED));
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

    /** What a server makes of DATA: lines up to the lone dot, one leading dot removed; nothing may follow. */
    private static byte[] unstuff(byte[] wire) {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        int start = 0;
        while (true) {
            int end = start;
            while (!(wire[end] == '\r' && wire[end + 1] == '\n')) {
                assertThat(wire[end]).as("bare CR or LF on the wire").isNotIn((byte) '\r', (byte) '\n');
                end++;
            }
            if (end - start == 1 && wire[start] == '.') {
                assertThat(end + 2).as("bytes after the final dot").isEqualTo(wire.length);
                return message.toByteArray();
            }
            int from = wire[start] == '.' ? start + 1 : start;
            message.write(wire, from, end - from);
            message.write('\r');
            message.write('\n');
            start = end + 2;
        }
    }

    private static byte[] toArray(List<Byte> bytes) {
        byte[] array = new byte[bytes.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = bytes.get(i);
        }
        return array;
    }
}

package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DotStuffingOutputStreamTest {

    static Stream<Arguments> framings() {
        Stream<String[]> cases = Stream.of(
            new String[] {"", ".\r\n"},
            new String[] {"a", "a\r\n.\r\n"},
            new String[] {"a\r\n", "a\r\n.\r\n"},
            new String[] {"a\n", "a\r\n.\r\n"},
            new String[] {"a\r", "a\r\n.\r\n"},
            new String[] {".", "..\r\n.\r\n"},
            new String[] {".\r\n", "..\r\n.\r\n"},
            new String[] {"..x\n.y", "...x\r\n..y\r\n.\r\n"},
            new String[] {"a.b\n", "a.b\r\n.\r\n"},
            new String[] {"\r\r\n\n", "\r\n\r\n\r\n.\r\n"},
            new String[] {"a\r.b", "a\r\n..b\r\n.\r\n"},
            new String[] {"x\n\n.\n", "x\r\n\r\n..\r\n.\r\n"});
        return cases.flatMap(pair -> IntStream.of(1, 2, 3, Integer.MAX_VALUE)
            .mapToObj(chunk -> Arguments.of(pair[0], pair[1], chunk)));
    }

    @ParameterizedTest(name = "\"{0}\" in chunks of {2}")
    @MethodSource("framings")
    void contentShouldBeFramedForData(String content, String wire, int chunkSize) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DotStuffingOutputStream stuffing = new DotStuffingOutputStream(out);
        byte[] bytes = content.getBytes(StandardCharsets.ISO_8859_1);

        int offset = 0;
        while (offset < bytes.length) {
            int length = Math.min(chunkSize, bytes.length - offset);
            if (chunkSize == 1) {
                stuffing.write(bytes[offset]);
            } else {
                stuffing.write(bytes, offset, length);
            }
            offset += length;
        }
        stuffing.finish();

        assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo(wire);
    }

    @Test
    void flushAndCloseShouldNotReachTheConnection() throws IOException {
        RecordingStream out = new RecordingStream();
        DotStuffingOutputStream stuffing = new DotStuffingOutputStream(out);

        stuffing.write('a');
        stuffing.flush();
        stuffing.close();

        assertThat(out.flushes).isZero();
        assertThat(out.closed).isFalse();
    }

    @Test
    void writeFailureShouldBeRememberedAsATransportFailure() throws IOException {
        IOException broken = new IOException("broken pipe");
        DotStuffingOutputStream stuffing = new DotStuffingOutputStream(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw broken;
            }
        });
        assertThat(stuffing.transportFailure()).isNull();

        assertThatThrownBy(() -> stuffing.write(new byte[] {'a', '\n'}, 0, 2)).isSameAs(broken);
        assertThat(stuffing.transportFailure()).isSameAs(broken);
    }

    private static final class RecordingStream extends ByteArrayOutputStream {
        private int flushes;
        private boolean closed;

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}

package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.ReplyReader.MalformedReplyException;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ReplyReaderTest {
    private static final int TIMEOUT = 1000;

    private final List<Integer> timeoutsSet = new ArrayList<>();

    @Test
    void readShouldReassembleAMultiLineReplyArrivingByteByByte() throws Exception {
        ReplyReader reader = reader(oneByteAtATime("250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"));

        SmtpReply reply = reader.read(TIMEOUT);

        assertThat(reply.code()).isEqualTo(250);
        assertThat(reply.lines()).containsExactly("mx.test", "PIPELINING", "SIZE 1000");
        assertThat(reader.hasUnreadBytes()).isFalse();
        assertThat(timeoutsSet).hasSizeGreaterThan(40).allSatisfy(millis -> assertThat(millis).isBetween(1, TIMEOUT));
    }

    @Test
    void readShouldReturnConsecutiveRepliesFromOneRead() throws Exception {
        ReplyReader reader = reader(new ByteArrayInputStream(ascii("250 ok\r\n550 5.1.1 no\r\n354 go\r\n")));

        assertThat(reader.read(TIMEOUT)).isEqualTo(SmtpReply.of(250, "ok"));
        assertThat(reader.hasUnreadBytes()).isTrue();
        assertThat(reader.read(TIMEOUT).enhancedCode()).contains(new EnhancedStatusCode(5, 1, 1));
        assertThat(reader.read(TIMEOUT)).isEqualTo(SmtpReply.of(354, "go"));
        assertThat(reader.hasUnreadBytes()).isFalse();
    }

    @Test
    void readShouldAcceptBareLfAndCodeOnlyLines() throws Exception {
        ReplyReader reader = reader(new ByteArrayInputStream(ascii("250-\n250\n")));

        assertThat(reader.read(TIMEOUT).lines()).containsExactly("", "");
    }

    @Test
    void readShouldDecodeUtf8Text() throws Exception {
        ReplyReader reader = reader(new ByteArrayInputStream("550 bo\u00eete pleine\r\n".getBytes(StandardCharsets.UTF_8)));

        assertThat(reader.read(TIMEOUT).text()).isEqualTo("bo\u00eete pleine");
    }

    @Test
    void readShouldReportEndOfStreamInTheMiddleOfAReply() {
        ReplyReader reader = reader(new ByteArrayInputStream(ascii("250-mx.test\r\n250 PIPE")));

        assertThatThrownBy(() -> reader.read(TIMEOUT))
            .isInstanceOf(EOFException.class)
            .hasMessage("connection closed by the server");
    }

    @Test
    void readShouldRejectACodeChangeWithinOneReply() {
        assertMalformed("250-mx.test\r\n550 no\r\n", "reply code changed from 250 to 550 within one reply: \"550 no\"");
    }

    @Test
    void readShouldRejectABadSeparator() {
        assertMalformed("250_ok\r\n", "no space or hyphen after the reply code: \"250_ok\"");
    }

    @Test
    void readShouldRejectALineThatIsNoReply() {
        assertMalformed("HTTP/1.1 400 Bad Request\r\n", "not an SMTP reply line: \"HTTP/1.1 400 Bad Request\"");
    }

    @Test
    void readShouldRejectACodeOutsideTwoToFiveHundreds() {
        assertMalformed("600 odd\r\n", "not an SMTP reply line: \"600 odd\"");
    }

    @Test
    void readShouldEscapeControlBytesInTheErrorMessage() {
        assertMalformed("\u0000\u00ff1\r\n", "not an SMTP reply line: \"\\x00\\xff1\"");
    }

    @Test
    void readShouldRejectAnOverlongLine() {
        assertMalformed("250 " + "x".repeat(ReplyReader.MAX_LINE_BYTES) + "\r\n",
            "reply line longer than 8192 bytes");
    }

    @Test
    void readShouldAcceptALineAtTheLengthCap() throws Exception {
        String text = "x".repeat(ReplyReader.MAX_LINE_BYTES - 5);
        ReplyReader reader = reader(new ByteArrayInputStream(ascii("250 " + text + "\r\n")));

        assertThat(reader.read(TIMEOUT).text()).isEqualTo(text);
    }

    @Test
    void readShouldRejectTooManyLines() {
        assertMalformed("250-x\r\n".repeat(ReplyReader.MAX_LINES) + "250 x\r\n", "reply has more than 256 lines");
    }

    @Test
    void readShouldAcceptTheLastLineAtTheLineCap() throws Exception {
        ReplyReader reader = reader(new ByteArrayInputStream(
            ascii("250-x\r\n".repeat(ReplyReader.MAX_LINES - 1) + "250 x\r\n")));

        assertThat(reader.read(TIMEOUT).lines()).hasSize(ReplyReader.MAX_LINES);
    }

    private void assertMalformed(String raw, String message) {
        ReplyReader reader = reader(new ByteArrayInputStream(raw.getBytes(StandardCharsets.ISO_8859_1)));

        assertThatThrownBy(() -> reader.read(TIMEOUT))
            .isInstanceOf(MalformedReplyException.class)
            .hasMessage(message);
    }

    private ReplyReader reader(InputStream in) {
        return new ReplyReader(in, timeoutsSet::add);
    }

    private static InputStream oneByteAtATime(String text) {
        return new ByteArrayInputStream(ascii(text)) {
            @Override
            public synchronized int read(byte[] bytes, int offset, int length) {
                return super.read(bytes, offset, Math.min(1, length));
            }
        };
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}

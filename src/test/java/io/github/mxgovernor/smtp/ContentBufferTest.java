package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ContentBufferTest {

    static Stream<Arguments> normalised() {
        return Stream.of(
            Arguments.of("", ""),
            Arguments.of("a", "a\r\n"),
            Arguments.of("a\r\n", "a\r\n"),
            Arguments.of("a\n", "a\r\n"),
            Arguments.of("a\r", "a\r\n"),
            Arguments.of("a\nb", "a\r\nb\r\n"),
            Arguments.of("\r\r\n\n", "\r\n\r\n\r\n"),
            Arguments.of(".\n", ".\r\n"));
    }

    static Stream<Arguments> eightBit() {
        return Stream.of(
            Arguments.of("plain ascii\n", false),
            Arguments.of("caf\u00e9", true),
            Arguments.of("\u007f", false),
            Arguments.of("\u0080", true));
    }

    @ParameterizedTest
    @MethodSource("normalised")
    void scanShouldHoldCrlfLinesAndCountThem(String content, String expected) throws IOException {
        for (boolean bulk : new boolean[] {true, false}) {
            ContentBuffer buffer = scan(content, 1024, bulk);

            assertThat(held(buffer)).isEqualTo(expected);
            assertThat(buffer.size()).isEqualTo(expected.length());
            assertThat(buffer.isHeldWhole()).isTrue();
            assertThat(buffer.hasEightBitBytes()).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("eightBit")
    void eightBitBytesShouldBeNoticed(String content, boolean eightBit) throws IOException {
        assertThat(scan(content, 1024, true).hasEightBitBytes()).isEqualTo(eightBit);
        assertThat(scan(content, 1024, false).hasEightBitBytes()).isEqualTo(eightBit);
    }

    @Test
    void contentLargerThanTheLimitShouldOnlyBeCounted() throws IOException {
        ContentBuffer buffer = scan("0123456789\nabcdef\u00e9", 8, true);

        assertThat(buffer.isHeldWhole()).isFalse();
        assertThat(buffer.size()).isEqualTo(21);
        assertThat(buffer.hasEightBitBytes()).isTrue();
    }

    @Test
    void contentOfExactlyTheLimitShouldBeHeldWhole() throws IOException {
        ContentBuffer buffer = scan("012345\n", 8, true);

        assertThat(buffer.isHeldWhole()).isTrue();
        assertThat(held(buffer)).isEqualTo("012345\r\n");
    }

    @Test
    void chunkingShouldHandOverFullBuffersAndTheRestAsLast() throws IOException {
        ContentBuffer buffer = new ContentBuffer(4, 4);
        List<String> chunks = new ArrayList<>();
        buffer.startChunking((bytes, length, last) -> chunks.add(
            new String(bytes, 0, length, StandardCharsets.ISO_8859_1) + (last ? "|LAST" : "")));

        write(buffer, "abc\ndefgh", true);
        buffer.finish();

        assertThat(chunks).containsExactly("abc\r", "\ndef", "gh\r\n|LAST");
    }

    @Test
    void chunkingContentOfAWholeNumberOfChunksShouldMarkTheLastFullChunkLast() throws IOException {
        ContentBuffer buffer = new ContentBuffer(4, 4);
        List<String> chunks = new ArrayList<>();
        buffer.startChunking((bytes, length, last) -> chunks.add(
            new String(bytes, 0, length, StandardCharsets.ISO_8859_1) + (last ? "|LAST" : "")));

        write(buffer, "abcdef\r\n", false);
        buffer.finish();

        assertThat(chunks).containsExactly("abcd", "ef\r\n|LAST");
    }

    @Test
    void releaseShouldDropOnlyABufferLargerThanTheRetainedSize() throws IOException {
        ContentBuffer buffer = new ContentBuffer(64 * 1024, 16 * 1024);
        buffer.startScan();
        write(buffer, "x".repeat(20_000), true);
        buffer.finish();
        assertThat(buffer.bytes().length).isGreaterThan(16 * 1024);

        buffer.release();

        assertThat(buffer.bytes()).isEmpty();
        assertThat(buffer.length()).isZero();
    }

    @Test
    void aBufferShouldBeReusableForTheNextMessage() throws IOException {
        ContentBuffer buffer = scan("first message, longer\n", 1024, true);
        buffer.release();

        buffer.startScan();
        write(buffer, "second", true);
        buffer.finish();

        assertThat(held(buffer)).isEqualTo("second\r\n");
        assertThat(buffer.size()).isEqualTo(8);
    }

    @Test
    void limitShouldBePositive() {
        assertThatThrownBy(() -> new ContentBuffer(0, 0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("content buffer limit must be positive, was 0");
    }

    private static ContentBuffer scan(String content, int limit, boolean bulk) throws IOException {
        ContentBuffer buffer = new ContentBuffer(limit, limit);
        buffer.startScan();
        write(buffer, content, bulk);
        buffer.finish();
        return buffer;
    }

    private static void write(ContentBuffer buffer, String content, boolean bulk) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.ISO_8859_1);
        if (bulk) {
            buffer.write(bytes, 0, bytes.length);
        } else {
            for (byte b : bytes) {
                buffer.write(b);
            }
        }
    }

    private static String held(ContentBuffer buffer) {
        return new String(buffer.bytes(), 0, buffer.length(), StandardCharsets.ISO_8859_1);
    }
}

package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ContentScanTest {

    static Stream<Arguments> sizes() {
        return Stream.of(
            Arguments.of("", 0),
            Arguments.of("a", 3),
            Arguments.of("a\r\n", 3),
            Arguments.of("a\n", 3),
            Arguments.of("a\r", 3),
            Arguments.of("a\nb", 6),
            Arguments.of("\r\r\n\n", 6),
            Arguments.of(".\n", 3));
    }

    static Stream<Arguments> eightBit() {
        return Stream.of(
            Arguments.of("plain ascii\n", false),
            Arguments.of("caf\u00e9", true),
            Arguments.of("\u007f", false),
            Arguments.of("\u0080", true));
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void sizeShouldCountCrlfLineEndingsAndAFinalLineEnd(String content, long size) {
        ContentScan scan = scan(content);

        assertThat(scan.normalisedSize()).isEqualTo(size);
        assertThat(scan.hasEightBitBytes()).isFalse();
    }

    @ParameterizedTest
    @MethodSource("eightBit")
    void eightBitBytesShouldBeNoticed(String content, boolean eightBit) {
        assertThat(scan(content).hasEightBitBytes()).isEqualTo(eightBit);
    }

    private static ContentScan scan(String content) {
        ContentScan scan = new ContentScan();
        byte[] bytes = content.getBytes(StandardCharsets.ISO_8859_1);
        scan.write(bytes, 0, bytes.length);
        return scan;
    }
}

package io.github.mxgovernor.tls.dane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TlsaRecordTest {
    private static final String SHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    @Test
    void parseShouldReadThePresentationFormAndPrintItBack() {
        TlsaRecord record = TlsaRecord.parse(" 3 1 1 " + SHA256.substring(0, 32) + " " + SHA256.substring(32) + " ");

        assertThat(record.usage()).isEqualTo(3);
        assertThat(record.selector()).isEqualTo(1);
        assertThat(record.matchingType()).isEqualTo(1);
        assertThat(record.data()).hasSize(32);
        assertThat(record).hasToString("3 1 1 " + SHA256.toUpperCase());
        assertThat(TlsaRecord.parse(record.toString())).isEqualTo(record).hasSameHashCodeAs(record);
    }

    @Test
    void dataShouldBeACopy() {
        TlsaRecord record = TlsaRecord.parse("3 1 0 0102");

        record.data()[0] = 9;

        assertThat(record.data()).containsExactly(1, 2);
    }

    @ParameterizedTest
    @CsvSource({
        "3 1 1, true",
        "3 0 2, true",
        "2 0 1, true",
        "2 1 0, true",
        "0 0 1, false",
        "1 1 1, false",
        "4 1 1, false",
        "3 2 1, false",
        "3 1 3, false"})
    void usableShouldAcceptOnlyDaneUsagesWithKnownSelectorsAndMatchingTypes(String fields, boolean usable) {
        String data = fields.endsWith(" 2") ? SHA256 + SHA256 : SHA256;

        assertThat(TlsaRecord.parse(fields + " " + data).usable()).isEqualTo(usable);
    }

    @Test
    void usableShouldRefuseADigestOfTheWrongLength() {
        assertThat(TlsaRecord.parse("3 1 1 " + SHA256.substring(2)).usable()).isFalse();
        assertThat(TlsaRecord.parse("3 1 2 " + SHA256).usable()).isFalse();
    }

    @Test
    void constructorShouldRefuseAFieldOutsideAnOctet() {
        assertThatThrownBy(() -> new TlsaRecord(256, 1, 1, new byte[32]))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA usage must be 0..255, was 256");
        assertThatThrownBy(() -> new TlsaRecord(3, -1, 1, new byte[32]))
            .hasMessage("TLSA selector must be 0..255, was -1");
        assertThatThrownBy(() -> new TlsaRecord(3, 1, 300, new byte[32]))
            .hasMessage("TLSA matchingType must be 0..255, was 300");
    }

    @Test
    void constructorShouldRefuseEmptyData() {
        assertThatThrownBy(() -> new TlsaRecord(3, 1, 1, new byte[0]))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA certificate association data must not be empty");
    }

    @Test
    void parseShouldRefuseMissingFields() {
        assertThatThrownBy(() -> TlsaRecord.parse("3 1 1"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA record '3 1 1' must be 'usage selector matchingType hexdata'");
    }

    @Test
    void parseShouldRefuseAFieldThatIsNotANumber() {
        assertThatThrownBy(() -> TlsaRecord.parse("3 x 1 00"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA record '3 x 1 00': selector must be a number 0..255, was 'x'");
    }

    @Test
    void parseShouldRefuseANumberOutsideAnOctet() {
        assertThatThrownBy(() -> TlsaRecord.parse("3 1 999 00"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA record '3 1 999 00': TLSA matchingType must be 0..255, was 999");
    }

    @Test
    void parseShouldRefuseDataThatIsNotHexadecimal() {
        assertThatThrownBy(() -> TlsaRecord.parse("3 1 1 00zz"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA record '3 1 1 00zz': 'zz' is not hexadecimal");
        assertThatThrownBy(() -> TlsaRecord.parse("3 1 1 012"))
            .hasMessage("TLSA record '3 1 1 012': the data must be an even number of hexadecimal digits");
    }
}

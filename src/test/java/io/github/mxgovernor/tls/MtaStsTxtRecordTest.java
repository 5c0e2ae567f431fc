package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MtaStsTxtRecordTest {

    @Test
    void selectShouldReadTheIdOfTheOneStsRecord() throws Exception {
        assertThat(MtaStsTxtRecord.select(List.of("v=spf1 -all", "v=STSv1; id=20190429T010101;")))
            .hasValueSatisfying(record -> assertThat(record.id()).isEqualTo("20190429T010101"));
    }

    @Test
    void selectShouldAcceptExtensionsSpacesAndNoFinalSemicolon() throws Exception {
        assertThat(MtaStsTxtRecord.select(List.of("v=STSv1 ;\tid=abc123 ; ext_1=va:lue")))
            .hasValueSatisfying(record -> assertThat(record.id()).isEqualTo("abc123"));
    }

    @Test
    void selectShouldJoinTheQuotedStringsOfAPresentationFormRecord() throws Exception {
        assertThat(MtaStsTxtRecord.select(List.of("\"v=STSv1; \" \"id=\\0491a;\"")))
            .hasValueSatisfying(record -> assertThat(record.id()).isEqualTo("11a"));
    }

    @Test
    void selectShouldFindNoPolicyWithoutAnStsRecord() throws Exception {
        assertThat(MtaStsTxtRecord.select(List.of())).isEmpty();
        assertThat(MtaStsTxtRecord.select(List.of("v=spf1 -all", "\"google-site-verification=x\""))).isEmpty();
    }

    @Test
    void selectShouldRefuseTwoStsRecords() {
        assertThatThrownBy(() -> MtaStsTxtRecord.select(List.of("v=STSv1; id=1;", "v=STSv1; id=2;")))
            .isInstanceOf(MtaStsException.class)
            .hasMessage("2 TXT records begin with v=STSv1; exactly one is allowed");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "v=STSv1 | TXT record has no id: 'v=STSv1'",
        "v=STSv1; | TXT record has no id: 'v=STSv1;'",
        "v=STSv10; id=1; | TXT record must begin with 'v=STSv1;', was 'v=STSv10; id=1;'",
        "v=STSv1; id=; | TXT record id must be 1 to 32 letters or digits, was ''",
        "v=STSv1; id=2019-04-29; | TXT record id must be 1 to 32 letters or digits, was '2019-04-29'",
        "v=STSv1; id=123456789012345678901234567890123;"
            + " | TXT record id must be 1 to 32 letters or digits, was '123456789012345678901234567890123'",
        "v=STSv1; id=1; id=2; | TXT record has two ids: 'v=STSv1; id=1; id=2;'",
        "v=STSv1;; id=1; | TXT record has an empty field: 'v=STSv1;; id=1;'",
        "v=STSv1; id=1; report to=me | TXT record field is not 'name=value': 'report to=me'",
        "v=STSv1; id=1; novalue | TXT record field is not 'name=value': 'novalue'",
    })
    void selectShouldRefuseAMalformedRecordSayingWhy(String record, String message) {
        assertThatThrownBy(() -> MtaStsTxtRecord.select(List.of(record)))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(message);
    }

    @Test
    void unquoteShouldLeaveAnUnterminatedStringAsItIs() {
        assertThat(MtaStsTxtRecord.unquote("\"v=STSv1; id=1")).isEqualTo("\"v=STSv1; id=1");
    }
}

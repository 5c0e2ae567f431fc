package io.github.mxgovernor.tls.dane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.tls.dane.TlsaResult.Status;

import java.util.List;

import org.junit.jupiter.api.Test;

class TlsaResultTest {
    private static final TlsaRecord DANE_EE = TlsaRecord.parse("3 1 1 " + "ab".repeat(32));

    @Test
    void secureShouldKeepRecordsAndNormalizedReferenceNames() {
        TlsaResult result = TlsaResult.secure(List.of(DANE_EE), List.of("MX.Example.", "mx.example"), "found");

        assertThat(result.status()).isEqualTo(Status.SECURE);
        assertThat(result.records()).containsExactly(DANE_EE);
        assertThat(result.referenceNames()).containsExactly("mx.example");
        assertThat(result.detail()).isEqualTo("found");
        assertThat(result).hasToString("SECURE [" + DANE_EE + "]: found");
    }

    @Test
    void statusShouldSayWhetherTlsIsRequiredAndWhetherTheMailDefers() {
        assertThat(Status.SECURE.requiresTls()).isTrue();
        assertThat(Status.UNUSABLE.requiresTls()).isTrue();
        assertThat(Status.INSECURE.requiresTls()).isFalse();
        assertThat(Status.BOGUS.defersDelivery()).isTrue();
        assertThat(Status.FAILED.defersDelivery()).isTrue();
        assertThat(Status.SECURE.defersDelivery()).isFalse();
        assertThat(Status.INSECURE.defersDelivery()).isFalse();
    }

    @Test
    void otherResultsShouldHaveNoRecordsOrNames() {
        assertThat(List.of(TlsaResult.unusable("u"), TlsaResult.insecure("i"), TlsaResult.bogus("b"),
            TlsaResult.failed("f")))
            .extracting(TlsaResult::status)
            .containsExactly(Status.UNUSABLE, Status.INSECURE, Status.BOGUS, Status.FAILED);
        assertThat(TlsaResult.bogus("bad signature").records()).isEmpty();
        assertThat(TlsaResult.failed("timeout").referenceNames()).isEmpty();
    }

    @Test
    void secureShouldRefuseNoRecords() {
        assertThatThrownBy(() -> TlsaResult.secure(List.of(), List.of("mx.example"), "found"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a SECURE TLSA result needs at least one usable record");
    }

    @Test
    void secureShouldRefuseAnUnusableRecord() {
        TlsaRecord pkixEe = TlsaRecord.parse("1 1 1 " + "ab".repeat(32));

        assertThatThrownBy(() -> TlsaResult.secure(List.of(DANE_EE, pkixEe), List.of("mx.example"), "found"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("TLSA record " + pkixEe + " is not usable for DANE in SMTP (usage must be DANE-TA(2) or"
                + " DANE-EE(3) with a known selector and matching type)");
    }

    @Test
    void secureShouldRefuseNoReferenceNameAndAnEmptyOne() {
        assertThatThrownBy(() -> TlsaResult.secure(List.of(DANE_EE), List.of(), "found"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a SECURE TLSA result needs at least one reference name");
        assertThatThrownBy(() -> TlsaResult.secure(List.of(DANE_EE), List.of("."), "found"))
            .hasMessage("host name must not be empty, was '.'");
    }

    @Test
    void resultsShouldRefuseABlankDetail() {
        assertThatThrownBy(() -> TlsaResult.bogus(" "))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a TLSA result's detail must not be blank");
    }
}

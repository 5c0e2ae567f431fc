package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class EhloCapabilitiesTest {
    @Test
    void keywordsShouldBeUpperCasedAndTheGreetingLineLeftOut() {
        EhloCapabilities capabilities = EhloCapabilities.parse(List.of("mx.test greets you", "pipelining",
            "Size 1000", "8bitmime"));

        assertThat(capabilities.extensions()).containsExactlyInAnyOrder("PIPELINING", "SIZE", "8BITMIME");
        assertThat(capabilities.offers("PIPELINING")).isTrue();
        assertThat(capabilities.sizeLimit()).isEqualTo(1000);
    }

    @Test
    void aSizeWithoutALimitOrAMalformedOneShouldSetNone() {
        assertThat(EhloCapabilities.parse(List.of("mx", "SIZE")).sizeLimit()).isZero();
        assertThat(EhloCapabilities.parse(List.of("mx", "SIZE 10MB")).sizeLimit()).isZero();
        assertThat(EhloCapabilities.parse(List.of("mx", "SIZE 1234567890123456789")).sizeLimit()).isZero();
        assertThat(EhloCapabilities.parse(List.of("mx", "SIZE 10MB")).offers(EhloCapabilities.SIZE)).isTrue();
    }

    @Test
    void authMechanismsShouldBeReadFromBothSpellings() {
        EhloCapabilities capabilities = EhloCapabilities.parse(List.of("mx", "AUTH=login", "AUTH cram-md5  xoauth2"));

        assertThat(capabilities.offersAuth("LOGIN")).isTrue();
        assertThat(capabilities.offersAuth("PLAIN")).isFalse();
        assertThat(capabilities.authMechanismsOffered()).isEqualTo("CRAM-MD5 LOGIN XOAUTH2");
        assertThat(EhloCapabilities.NONE.authMechanismsOffered()).isEqualTo("none");
    }

    @Test
    void aServerGreetedWithHeloShouldOfferNothing() {
        assertThat(EhloCapabilities.NONE.extensions()).isEmpty();
        assertThat(EhloCapabilities.NONE.sizeLimit()).isZero();
    }
}

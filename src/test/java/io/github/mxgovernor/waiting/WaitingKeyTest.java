package io.github.mxgovernor.waiting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralReason;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class WaitingKeyTest {
    private static final Instant DUE = Instant.parse("2026-05-01T12:00:00.123Z");

    @ParameterizedTest
    @EnumSource(DeferralReason.class)
    void aKeyShouldCarryWhatTheIndexNeedsForEveryReason(DeferralReason reason) {
        WaitingKey key = WaitingKey.of(42, DUE, reason, "mta5.am0.yahoodns.net");

        WaitingKey read = WaitingKey.parse(key.asString()).orElseThrow();

        assertThat(read.isComplete()).isTrue();
        assertThat(read.reason()).contains(reason);
        assertThat(read.destination()).contains("mta5.am0.yahoodns.net");
        assertThat(read.dueMillis()).isEqualTo(DUE.toEpochMilli());
        assertThat(read.identity()).isEqualTo(42);
        assertThat(read).isEqualTo(key);
    }

    @ParameterizedTest
    @ValueSource(strings = {"shared:google", "yahoo-com/mta5.am0.yahoodns.net", "gmail-smtp-in.l.google.com",
        "x~y", "bücher.example", "UPPER.Case_rule"})
    void destinationsWithAnyCharacterShouldComeBackAsTheyWere(String destination) {
        WaitingKey key = WaitingKey.of(-7, DUE, DeferralReason.SUSPENDED, destination);

        assertThat(key.asString()).matches("[A-Za-z0-9._~-]+");
        assertThat(WaitingKey.parse(key.asString()).flatMap(WaitingKey::destination)).contains(destination);
        assertThat(WaitingKey.parse(key.asString()).orElseThrow().identity()).isEqualTo(-7);
    }

    @Test
    void aDestinationTooLongForAFileNameShouldBeLeftOutOfTheKey() {
        String longHost = "a".repeat(60) + ".b" + "c".repeat(40) + ".example";

        WaitingKey key = WaitingKey.of(1, DUE, DeferralReason.RATE_LIMITED, longHost);

        assertThat(key.asString()).hasSizeLessThanOrEqualTo(WaitingKey.MAX_LENGTH);
        WaitingKey read = WaitingKey.parse(key.asString()).orElseThrow();
        assertThat(read.isComplete()).isFalse();
        assertThat(read.destination()).isEmpty();
        assertThat(read.dueMillis()).isEqualTo(DUE.toEpochMilli());
    }

    @Test
    void aKeyShouldFitAFileRepositoryFileName() {
        String host = "h".repeat(200);
        for (int length = 1; length < host.length(); length += 7) {
            WaitingKey key = WaitingKey.of(Long.MIN_VALUE, Instant.parse("9999-12-31T23:59:59Z"),
                DeferralReason.CONNECTION_QUOTA_REACHED, host.substring(0, length));
            // James's file repository: the key in hexadecimal plus ".FileObjectStore" or ".FileStreamStore"
            assertThat(2 * key.asString().length() + ".FileStreamStore".length()).isLessThanOrEqualTo(255);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Mail1700000000000-abc", "mxgw-", "mxgw-zz-s-0123456789abcdef", "mxgw-1-q-123-host",
        "mxgw-1-?-0123456789abcdef-host", "mxgw-1-s-0123456789abcdeg-host", "mxgw-1-s-0123456789abcdef-",
        "mxgw-1-s-0123456789abcdef-bad~z", "mxgw-1-x-0123456789abcdef-host", "mxgw--1-s-0123456789abcdef-h"})
    void anythingElseShouldNotParse(String key) {
        assertThat(WaitingKey.parse(key)).isEmpty();
    }

    @Test
    void theIdentityShouldNotDependOnTheOrderOfRecipientsAndShouldDifferBetweenEntries() {
        long identity = WaitingKey.identity("entry-1", List.of("a@x.test", "b@y.test"));

        assertThat(WaitingKey.identity("entry-1", List.of("b@y.test", "a@x.test"))).isEqualTo(identity);
        assertThat(WaitingKey.identity("entry-2", List.of("a@x.test", "b@y.test"))).isNotEqualTo(identity);
        assertThat(WaitingKey.identity("entry-1", List.of("a@x.test"))).isNotEqualTo(identity);
        // the same in every JVM (SHA-256 of "entry-1", a zero byte, "a@x.test"): a key written before a restart is
        // recognised after it
        assertThat(WaitingKey.identity("entry-1", List.of("a@x.test"))).isEqualTo(0x2efa7c558ee1300fL);
    }

    @Test
    void aDueTimeBefore1970ShouldBeRefused() {
        assertThatThrownBy(() -> WaitingKey.of(1, Instant.parse("1969-12-31T23:59:59Z"), DeferralReason.SUSPENDED,
            "h")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1969");
    }
}

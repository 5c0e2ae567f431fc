package io.github.mxgovernor.deferral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

class DeferralRecordTest {
    private static final Instant T0 = Instant.parse("2024-05-01T10:00:00Z");

    private static DeferralEvent event(int minutes, DeferralReason reason) {
        return DeferralEvent.builder(T0.plus(Duration.ofMinutes(minutes)), reason)
            .destination("mx1.example.com")
            .rule("gmail")
            .build();
    }

    private static Optional<Instant> in(int minutes) {
        return Optional.of(T0.plus(Duration.ofMinutes(minutes)));
    }

    @Test
    void firstShouldRecordALocalDeferral() {
        DeferralEvent event = event(0, DeferralReason.RATE_LIMITED);

        DeferralRecord record = DeferralRecord.first(event, in(5));

        assertThat(record.status()).isEqualTo(DeferralRecord.Status.DEFERRED);
        assertThat(record.reason()).isEqualTo(DeferralReason.RATE_LIMITED);
        assertThat(record.latest().message()).isEqualTo("Messages queued (message rate reached)");
        assertThat(record.latest().destination()).isEqualTo("mx1.example.com");
        assertThat(record.latest().rule()).isEqualTo("gmail");
        assertThat(record.localDeferrals()).isEqualTo(1);
        assertThat(record.failedAttempts()).isZero();
        assertThat(record.dnsFailures()).isZero();
        assertThat(record.firstDeferredAt()).isEqualTo(T0);
        assertThat(record.updatedAt()).isEqualTo(T0);
        assertThat(record.nextAttemptAt()).isEqualTo(in(5));
        assertThat(record.history()).containsExactly(event);
    }

    @Test
    void firstShouldCountAServerFailureAsAFailedAttempt() {
        DeferralEvent event = DeferralEvent.builder(T0, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .destination("mx1.example.com")
            .rule("gmail")
            .serverReply(SmtpReply.of(421, "4.7.28 unusual rate"))
            .build();

        DeferralRecord record = DeferralRecord.first(event, Optional.empty());

        assertThat(record.failedAttempts()).isEqualTo(1);
        assertThat(record.localDeferrals()).isZero();
        assertThat(record.latest().smtpCode()).contains(421);
        assertThat(record.latest().enhancedCode()).contains("4.7.28");
        assertThat(record.latest().reply()).contains("421 4.7.28 unusual rate");
        assertThat(record.nextAttemptAt()).isEmpty();
    }

    @Test
    void firstShouldCountADnsFailureAsAFailedAttemptAndADnsFailure() {
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.DNS_TEMPORARY_FAILURE), in(5));

        assertThat(record.failedAttempts()).isEqualTo(1);
        assertThat(record.dnsFailures()).isEqualTo(1);
        assertThat(record.localDeferrals()).isZero();
    }

    @Test
    void deferredAgainShouldAddUpCountsAndTakeTheLatestEvent() {
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.CONNECTION_QUOTA_REACHED), in(1))
            .deferredAgain(event(1, DeferralReason.DNS_TEMPORARY_FAILURE), in(10))
            .deferredAgain(event(10, DeferralReason.CONNECTION_FAILED), in(30))
            .deferredAgain(event(30, DeferralReason.SUSPENDED), in(60));

        assertThat(record.localDeferrals()).isEqualTo(2);
        assertThat(record.failedAttempts()).isEqualTo(2);
        assertThat(record.dnsFailures()).isEqualTo(1);
        assertThat(record.reason()).isEqualTo(DeferralReason.SUSPENDED);
        assertThat(record.firstDeferredAt()).isEqualTo(T0);
        assertThat(record.updatedAt()).isEqualTo(T0.plus(Duration.ofMinutes(30)));
        assertThat(record.nextAttemptAt()).isEqualTo(in(60));
        assertThat(record.history()).extracting(DeferralEvent::reason).containsExactly(
            DeferralReason.CONNECTION_QUOTA_REACHED, DeferralReason.DNS_TEMPORARY_FAILURE,
            DeferralReason.CONNECTION_FAILED, DeferralReason.SUSPENDED);
    }

    @Test
    void deferredAgainShouldReplaceTheReplyOfAnEarlierDeferral() {
        DeferralEvent withReply = DeferralEvent.builder(T0, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .destination("mx1.example.com")
            .rule("gmail")
            .serverReply(SmtpReply.of(451, "4.3.0 try later"))
            .build();

        DeferralRecord record = DeferralRecord.first(withReply, in(1))
            .deferredAgain(event(1, DeferralReason.RATE_LIMITED), in(2));

        assertThat(record.latest().smtpCode()).isEmpty();
        assertThat(record.latest().enhancedCode()).isEmpty();
        assertThat(record.latest().reply()).isEmpty();
    }

    @Test
    void historyShouldKeepTheNewestTenDeferrals() {
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.RATE_LIMITED), in(1));
        for (int minute = 1; minute < 15; minute++) {
            record = record.deferredAgain(event(minute, DeferralReason.RATE_LIMITED), in(minute + 1));
        }

        assertThat(record.localDeferrals()).isEqualTo(15);
        assertThat(record.history()).hasSize(DeferralRecord.MAX_HISTORY);
        assertThat(record.history()).extracting(DeferralEvent::at).containsExactlyElementsOf(
            IntStream.range(5, 15).mapToObj(minute -> T0.plus(Duration.ofMinutes(minute)))
                .collect(Collectors.toList()));
    }

    @Test
    void deliveredShouldKeepCountsAndHistoryAndClearTheNextAttempt() {
        DeferralRecord deferred = DeferralRecord.first(event(0, DeferralReason.CONNECTION_FAILED), in(10));

        DeferralRecord delivered = deferred.delivered(T0.plus(Duration.ofMinutes(12)));

        assertThat(delivered.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
        assertThat(delivered.updatedAt()).isEqualTo(T0.plus(Duration.ofMinutes(12)));
        assertThat(delivered.nextAttemptAt()).isEmpty();
        assertThat(delivered.reason()).isEqualTo(DeferralReason.CONNECTION_FAILED);
        assertThat(delivered.failedAttempts()).isEqualTo(1);
        assertThat(delivered.history()).isEqualTo(deferred.history());
    }

    @Test
    void bouncedShouldSayWhyAndKeepTheLastDeferral() {
        DeferralRecord deferred = DeferralRecord.first(event(0, DeferralReason.RATE_LIMITED), in(10));

        DeferralRecord bounced = deferred.bounced(T0.plus(Duration.ofMinutes(11)), "Recipient refused",
            Optional.of(SmtpReply.of(550, "5.1.1 no such user")));

        assertThat(bounced.status()).isEqualTo(DeferralRecord.Status.BOUNCED);
        assertThat(bounced.latest().message()).isEqualTo("Recipient refused");
        assertThat(bounced.latest().smtpCode()).contains(550);
        assertThat(bounced.latest().enhancedCode()).contains("5.1.1");
        assertThat(bounced.latest().reply()).contains("550 5.1.1 no such user");
        assertThat(bounced.reason()).isEqualTo(DeferralReason.RATE_LIMITED);
        assertThat(bounced.latest().destination()).isEqualTo("mx1.example.com");
        assertThat(bounced.localDeferrals()).isEqualTo(1);
        assertThat(bounced.nextAttemptAt()).isEmpty();
        assertThat(bounced.updatedAt()).isEqualTo(T0.plus(Duration.ofMinutes(11)));
        assertThat(bounced.history()).isEqualTo(deferred.history());
    }

    @Test
    void bouncedWithoutAReplyShouldClearTheReplyFields() {
        DeferralEvent withReply = DeferralEvent.builder(T0, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .destination("mx1.example.com")
            .rule("gmail")
            .serverReply(SmtpReply.of(451, "4.3.0 try later"))
            .build();

        DeferralRecord bounced = DeferralRecord.first(withReply, in(10))
            .bounced(T0.plus(Duration.ofDays(5)), "Too many retries", Optional.empty());

        assertThat(bounced.latest().smtpCode()).isEmpty();
        assertThat(bounced.latest().enhancedCode()).isEmpty();
        assertThat(bounced.latest().reply()).isEmpty();
        assertThat(bounced.failedAttempts()).isEqualTo(1);
    }

    @Test
    void deferredAgainAfterABounceShouldDeferOnceMore() {
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.CONNECTION_FAILED), in(10))
            .bounced(T0.plus(Duration.ofMinutes(10)), "Too many retries", Optional.empty())
            .deferredAgain(event(20, DeferralReason.RATE_LIMITED), in(30));

        assertThat(record.status()).isEqualTo(DeferralRecord.Status.DEFERRED);
        assertThat(record.latest().message()).isEqualTo("Messages queued (message rate reached)");
    }

    @Test
    void bouncedShouldRejectABlankMessage() {
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.RATE_LIMITED), in(10));

        assertThatThrownBy(() -> record.bounced(T0, " ", Optional.empty()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("message is required");
    }

    private static DeferralRecord.Builder complete() {
        return DeferralRecord.builder()
            .status(DeferralRecord.Status.DEFERRED)
            .latest(event(0, DeferralReason.RATE_LIMITED))
            .firstDeferredAt(T0);
    }

    @Test
    void builderShouldDefaultCountsAndOptionalValues() {
        DeferralRecord record = complete().build();

        assertThat(record.localDeferrals()).isZero();
        assertThat(record.failedAttempts()).isZero();
        assertThat(record.dnsFailures()).isZero();
        assertThat(record.nextAttemptAt()).isEmpty();
        assertThat(record.history()).isEmpty();
        assertThat(record.updatedAt()).isEqualTo(T0);
    }

    @Test
    void builderShouldRejectAMissingStatus() {
        DeferralRecord.Builder builder = DeferralRecord.builder()
            .latest(event(0, DeferralReason.RATE_LIMITED)).firstDeferredAt(T0);

        assertThatThrownBy(builder::build)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("status is required");
    }

    @Test
    void builderShouldRejectAMissingLatestDeferral() {
        DeferralRecord.Builder builder = DeferralRecord.builder()
            .status(DeferralRecord.Status.DEFERRED).firstDeferredAt(T0);

        assertThatThrownBy(builder::build)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("latest is required");
    }

    @Test
    void builderShouldRejectAMissingFirstDeferral() {
        DeferralRecord.Builder builder = DeferralRecord.builder()
            .status(DeferralRecord.Status.DEFERRED).latest(event(0, DeferralReason.RATE_LIMITED));

        assertThatThrownBy(builder::build)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("firstDeferredAt is required");
    }

    @Test
    void builderShouldRejectNegativeCounts() {
        assertThatThrownBy(() -> complete().failedAttempts(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("failedAttempts must be 0 or more, was -1");
        assertThatThrownBy(() -> complete().localDeferrals(-2))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("localDeferrals must be 0 or more, was -2");
        assertThatThrownBy(() -> complete().dnsFailures(-3))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("dnsFailures must be 0 or more, was -3");
    }

    @Test
    void builderShouldKeepTheNewestHistoryEntries() {
        List<DeferralEvent> events = IntStream.range(0, 12)
            .mapToObj(minute -> event(minute, DeferralReason.RATE_LIMITED))
            .collect(Collectors.toList());

        DeferralRecord record = complete().history(events).build();

        assertThat(record.history()).containsExactlyElementsOf(events.subList(2, 12));
    }

    @Test
    void theLatestDeferralShouldBeTheNewestHistoryEntryUntilTheMailEnds() {
        DeferralEvent second = event(5, DeferralReason.SUSPENDED);
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.RATE_LIMITED), in(5))
            .deferredAgain(second, in(10));

        assertThat(record.latest()).isEqualTo(second).isEqualTo(record.history().get(1));
        assertThat(record.delivered(T0.plus(Duration.ofMinutes(11))).latest())
            .isEqualTo(second.at(T0.plus(Duration.ofMinutes(11))));
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DeferralAttemptsAtLeastTest {
    private static final Instant T0 = Instant.parse("2024-05-01T10:00:00Z");

    private static DeferralAttemptsAtLeast matcher(String condition) throws MessagingException {
        DeferralAttemptsAtLeast matcher = new DeferralAttemptsAtLeast();
        matcher.init(FakeMatcherConfig.builder().matcherName("DeferralAttemptsAtLeast").condition(condition).build());
        return matcher;
    }

    private static DeferralEvent event(int minute, DeferralReason reason) {
        return DeferralEvent.builder(T0.plus(Duration.ofMinutes(minute)), reason)
            .destination("mx1.example.com").rule("default").build();
    }

    /** A mail with 3 failed attempts and 2 local deferrals. */
    private static FakeMail mail() throws Exception {
        FakeMail mail = FakeMail.builder().name("mail-1").recipients("alice@example.com").build();
        DeferralRecord record = DeferralRecord.first(event(0, DeferralReason.CONNECTION_FAILED), Optional.empty())
            .deferredAgain(event(1, DeferralReason.RATE_LIMITED), Optional.empty())
            .deferredAgain(event(2, DeferralReason.SMTP_TEMPORARY_FAILURE), Optional.empty())
            .deferredAgain(event(3, DeferralReason.SUSPENDED), Optional.empty())
            .deferredAgain(event(4, DeferralReason.DNS_TEMPORARY_FAILURE), Optional.empty());
        DeferralAttributes.write(mail, record);
        return mail;
    }

    @Test
    void matchShouldReturnTheRecipientsWhenFailedAttemptsReachTheThreshold() throws Exception {
        assertThat(matcher("3").match(mail())).containsExactly(new MailAddress("alice@example.com"));
    }

    @Test
    void matchShouldReturnNothingBelowTheThreshold() throws Exception {
        assertThat(matcher("4").match(mail())).isEmpty();
    }

    @Test
    void localPrefixShouldCountLocalDeferrals() throws Exception {
        assertThat(matcher("local:2").match(mail())).hasSize(1);
        assertThat(matcher("local:3").match(mail())).isEmpty();
    }

    @Test
    void matchShouldReturnNothingWithoutARecord() throws Exception {
        FakeMail mail = FakeMail.builder().name("mail-1").recipients("alice@example.com").build();

        assertThat(matcher("1").match(mail)).isEmpty();
    }

    @Test
    void conditionShouldAllowSurroundingSpaces() throws Exception {
        assertThat(matcher(" local: 2 ").match(mail())).hasSize(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0", "local:0", "-1", "three", "remote:3", "local:", "3 attempts", "1234567890"})
    void initShouldRejectABadCondition(String condition) {
        assertThatThrownBy(() -> matcher(condition))
            .isInstanceOf(MessagingException.class)
            .hasMessage("DeferralAttemptsAtLeast: condition '" + condition.trim()
                + "' should be N or local:N with N 1 or more, for example DeferralAttemptsAtLeast=3");
    }

    @Test
    void initShouldRejectAMissingCondition() {
        assertThatThrownBy(() -> matcher(null))
            .isInstanceOf(MessagingException.class)
            .hasMessage("DeferralAttemptsAtLeast: condition '' should be N or local:N with N 1 or more, "
                + "for example DeferralAttemptsAtLeast=3");
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;

import java.time.Instant;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.Test;

class HasDeferralReasonTest {

    private static HasDeferralReason matcher(String condition) throws MessagingException {
        HasDeferralReason matcher = new HasDeferralReason();
        matcher.init(FakeMatcherConfig.builder().matcherName("HasDeferralReason").condition(condition).build());
        return matcher;
    }

    private static FakeMail mailDeferredFor(DeferralReason reason) throws Exception {
        FakeMail mail = FakeMail.builder().name("mail-1").recipients("alice@example.com", "bob@example.org").build();
        DeferralAttributes.write(mail, DeferralRecord.first(
            DeferralEvent.builder(Instant.parse("2024-05-01T10:00:00Z"), reason)
                .destination("mx1.example.com").rule("default").build(),
            Optional.empty()));
        return mail;
    }

    @Test
    void matchShouldReturnEveryRecipientWhenTheReasonIsListed() throws Exception {
        FakeMail mail = mailDeferredFor(DeferralReason.RATE_LIMITED);

        assertThat(matcher("CONNECTION_QUOTA_REACHED,RATE_LIMITED").match(mail))
            .containsExactly(new MailAddress("alice@example.com"), new MailAddress("bob@example.org"));
    }

    @Test
    void matchShouldReturnNothingWhenTheReasonIsNotListed() throws Exception {
        assertThat(matcher("CONNECTION_QUOTA_REACHED, RATE_LIMITED")
            .match(mailDeferredFor(DeferralReason.TLS_POLICY_FAILURE))).isEmpty();
    }

    @Test
    void matchShouldReturnNothingWithoutARecord() throws Exception {
        FakeMail mail = FakeMail.builder().name("mail-1").recipients("alice@example.com").build();

        assertThat(matcher("RATE_LIMITED").match(mail)).isEmpty();
    }

    @Test
    void matchShouldReturnNothingForAMalformedRecord() throws Exception {
        FakeMail mail = FakeMail.builder().name("mail-1").recipients("alice@example.com").build();
        mail.setAttribute(new Attribute(DeferralAttributes.DEFERRAL, AttributeValue.of("RATE_LIMITED")));

        assertThat(matcher("RATE_LIMITED").match(mail)).isEmpty();
    }

    @Test
    void conditionShouldIgnoreCaseAndSpaces() throws Exception {
        assertThat(matcher(" tls_policy_failure ").match(mailDeferredFor(DeferralReason.TLS_POLICY_FAILURE)))
            .hasSize(2);
    }

    @Test
    void initShouldRejectAnUnknownReason() {
        assertThatThrownBy(() -> matcher("RATE_LIMITED,GREYLISTED"))
            .isInstanceOf(MessagingException.class)
            .hasMessage("HasDeferralReason: unknown deferral reason 'GREYLISTED' in condition "
                + "'RATE_LIMITED,GREYLISTED'; known reasons: CONNECTION_QUOTA_REACHED, RATE_LIMITED,"
                + " DYNAMIC_FLOW_CONTROL, SUSPENDED, SMTP_TEMPORARY_FAILURE, CONNECTION_FAILED,"
                + " DNS_TEMPORARY_FAILURE, TLS_POLICY_FAILURE");
    }

    @Test
    void initShouldRejectAnEmptyEntry() {
        assertThatThrownBy(() -> matcher("RATE_LIMITED,"))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("HasDeferralReason: unknown deferral reason '' in condition 'RATE_LIMITED,'");
    }

    @Test
    void initShouldRejectAMissingCondition() {
        assertThatThrownBy(() -> matcher(null))
            .isInstanceOf(MessagingException.class)
            .hasMessage("HasDeferralReason needs a condition: one or more deferral reasons, comma-separated, "
                + "for example HasDeferralReason=RATE_LIMITED");
    }
}

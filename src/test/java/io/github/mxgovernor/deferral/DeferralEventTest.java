package io.github.mxgovernor.deferral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class DeferralEventTest {
    private static final Instant AT = Instant.parse("2024-05-01T10:00:00Z");

    private static DeferralEvent.Builder builder() {
        return DeferralEvent.builder(AT, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .destination("mx1.example.com")
            .rule("default");
    }

    @Test
    void messageShouldDefaultToTheReasonsMessage() {
        DeferralEvent event = builder().build();

        assertThat(event.message()).isEqualTo("Temporary failure reported by the remote server");
        assertThat(event.smtpCode()).isEmpty();
        assertThat(event.enhancedCode()).isEmpty();
        assertThat(event.reply()).isEmpty();
    }

    @Test
    void serverReplyShouldSetCodeEnhancedCodeAndFullText() {
        DeferralEvent event = builder()
            .serverReply(new SmtpReply(421, List.of("4.7.28 Our system has detected an unusual rate", "of mail")))
            .build();

        assertThat(event.smtpCode()).contains(421);
        assertThat(event.enhancedCode()).contains("4.7.28");
        assertThat(event.reply()).contains("421 4.7.28 Our system has detected an unusual rate of mail");
    }

    @Test
    void serverReplyWithoutEnhancedCodeShouldLeaveItEmpty() {
        DeferralEvent event = builder().serverReply(SmtpReply.of(450, "mailbox busy")).build();

        assertThat(event.smtpCode()).contains(450);
        assertThat(event.enhancedCode()).isEmpty();
    }

    @Test
    void replyShouldBeCutAtTheMaximumLength() {
        DeferralEvent event = builder().reply(Optional.of("x".repeat(1500))).build();

        assertThat(event.reply()).hasValueSatisfying(reply -> assertThat(reply).hasSize(1000));
    }

    @Test
    void replyShouldNotBeCutInsideASurrogatePair() {
        String text = "x".repeat(999) + "\uD83D\uDE00" + "tail";

        DeferralEvent event = builder().reply(Optional.of(text)).build();

        assertThat(event.reply()).contains("x".repeat(999));
    }

    @Test
    void messageShouldBeCutAtTheMaximumLength() {
        assertThat(builder().message("m".repeat(1001)).build().message()).hasSize(1000);
    }

    @Test
    void buildShouldRejectAMissingDestination() {
        DeferralEvent.Builder builder = DeferralEvent.builder(AT, DeferralReason.RATE_LIMITED).rule("default");

        assertThatThrownBy(builder::build)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("destination is required");
    }

    @Test
    void buildShouldRejectAMissingRule() {
        DeferralEvent.Builder builder = DeferralEvent.builder(AT, DeferralReason.RATE_LIMITED)
            .destination("mx1.example.com");

        assertThatThrownBy(builder::build)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("rule is required");
    }

    @Test
    void messageShouldRejectBlankText() {
        assertThatThrownBy(() -> builder().message("  "))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("message is required");
    }

    @Test
    void smtpCodeShouldRejectAValueOutsideTheReplyRange() {
        assertThatThrownBy(() -> builder().smtpCode(Optional.of(600)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("smtpCode must be 200..599, was 600");
    }

    @Test
    void enhancedCodeShouldRejectTextThatIsNotACode() {
        assertThatThrownBy(() -> builder().enhancedCode(Optional.of("4.7")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("enhancedCode must look like 4.7.28, was '4.7'");
    }

    @Test
    void replyShouldRejectBlankText() {
        assertThatThrownBy(() -> builder().reply(Optional.of("")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("reply is required");
    }

    @Test
    void eventsWithTheSameValuesShouldBeEqual() {
        assertThat(builder().serverReply(SmtpReply.of(421, "4.7.0 later")).build())
            .isEqualTo(builder().serverReply(SmtpReply.of(421, "4.7.0 later")).build())
            .isNotEqualTo(builder().build());
    }
}

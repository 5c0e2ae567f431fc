package io.github.mxgovernor.governor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.smtp.SmtpReply;

import java.util.Optional;

import org.junit.jupiter.api.Test;

class RecipientVerdictTest {

    @Test
    void temporaryFailureShouldRejectALocalReason() {
        assertThatThrownBy(() -> RecipientVerdict.temporaryFailure(DeferralReason.RATE_LIMITED, "x",
            Optional.empty(), false))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a verdict's deferral reason must be a failed attempt's, was the local reason RATE_LIMITED");
    }

    @Test
    void permanentFailureShouldRejectABlankExplanation() {
        assertThatThrownBy(() -> RecipientVerdict.permanentFailure(" ", Optional.empty()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("explanation is required");
    }

    @Test
    void permanentFailureShouldHaveNoDeferralReasonAndNotTryTheNextMx() {
        RecipientVerdict verdict = RecipientVerdict.permanentFailure("550 5.1.1 no such user",
            Optional.of(SmtpReply.of(550, "5.1.1 no such user")));

        assertThat(verdict.deferralReason()).isEmpty();
        assertThat(verdict.triesNextMx()).isFalse();
        assertThat(verdict.generatedLocally()).isFalse();
        assertThat(verdict).hasToString("PERMANENT_FAILURE: 550 5.1.1 no such user");
    }

    @Test
    void toStringShouldShowTheReasonAndTheNextMx() {
        RecipientVerdict verdict = RecipientVerdict.temporaryFailure(DeferralReason.CONNECTION_FAILED,
            "connection refused", Optional.empty(), true);

        assertThat(verdict).hasToString("TEMPORARY_FAILURE CONNECTION_FAILED (next MX): connection refused");
    }
}

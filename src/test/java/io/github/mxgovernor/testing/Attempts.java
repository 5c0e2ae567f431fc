package io.github.mxgovernor.testing;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.RecipientVerdict;
import io.github.mxgovernor.smtp.SmtpReply;

import java.util.Map;
import java.util.Optional;

/** Attempt results as the reply classifier would make them, for tests that feed a destination by hand. */
public final class Attempts {
    private Attempts() {
    }

    /** One recipient's attempt that ended with {@code reply}: delivered (2xx), deferred (4xx) or refused (5xx). */
    public static AttemptResult replied(SmtpReply reply) {
        RecipientVerdict verdict;
        FlowSignal signal;
        if (reply.isPositiveCompletion()) {
            verdict = RecipientVerdict.delivered(reply);
            signal = FlowSignal.SUCCEEDED;
        } else if (reply.isPermanentFailure()) {
            verdict = RecipientVerdict.permanentFailure(reply.toString(), Optional.of(reply));
            signal = FlowSignal.REFUSED;
        } else {
            verdict = RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE, reply.toString(),
                Optional.of(reply), false);
            signal = FlowSignal.THROTTLED;
        }
        return new AttemptResult(Map.of("someone@example.com", verdict), signal, Map.of(), Optional.of(reply));
    }
}

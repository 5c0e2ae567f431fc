package io.github.mxgovernor.governor;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.smtp.SmtpReply;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What one attempt against one destination meant, decided once by the reply classifier: a verdict per recipient, the
 * signal flow control counts, the response rule each distinct server reply matched (a rule may ask to reconnect once
 * its threshold is reached: {@link Destination#record} says), and the cause of a failed attempt. One attempt is one
 * transaction, or one session to one MX host that failed before or during it. Immutable.
 */
public final class AttemptResult {
    private final Map<String, RecipientVerdict> verdicts;
    private final FlowSignal signal;
    private final Map<SmtpReply, ResponseRule> ruleMatches;
    private final Optional<SmtpReply> lastReply;

    /**
     * @param verdicts    one per recipient, in the order sent
     * @param ruleMatches each distinct server reply of the attempt that a response rule matched, with the first rule
     *                    that matched it, in the order the replies came
     * @param lastReply   the last server reply of the attempt, if the server said anything
     */
    public AttemptResult(Map<String, RecipientVerdict> verdicts, FlowSignal signal,
                         Map<SmtpReply, ResponseRule> ruleMatches, Optional<SmtpReply> lastReply) {
        if (verdicts.isEmpty()) {
            throw new IllegalArgumentException("an attempt has at least one recipient");
        }
        this.verdicts = Collections.unmodifiableMap(new LinkedHashMap<>(verdicts));
        this.signal = Objects.requireNonNull(signal, "signal");
        this.ruleMatches = ruleMatches.isEmpty() ? Map.of()
            : Collections.unmodifiableMap(new LinkedHashMap<>(ruleMatches));
        this.lastReply = Objects.requireNonNull(lastReply, "lastReply");
    }

    /** The verdict of each recipient, in the order sent. */
    public Map<String, RecipientVerdict> verdicts() {
        return verdicts;
    }

    public FlowSignal signal() {
        return signal;
    }

    /** Server replies a response rule matched, each with the first rule that matched it. */
    public Map<SmtpReply, ResponseRule> ruleMatches() {
        return ruleMatches;
    }

    /** The first response rule one of the attempt's replies matched. */
    public Optional<ResponseRule> matchedRule() {
        return ruleMatches.values().stream().findFirst();
    }

    /** The attempt's last server reply, for operators; empty when the server said nothing (a refused connection). */
    public Optional<SmtpReply> lastReply() {
        return lastReply;
    }

    /**
     * Why the attempt failed, for a {@link FlowSignal#isFailure() failed} attempt: the deferral reason its recipients
     * were given ({@link DeferralReason#SMTP_TEMPORARY_FAILURE} when the server deferred them,
     * {@link DeferralReason#CONNECTION_FAILED}, {@link DeferralReason#TLS_POLICY_FAILURE}); empty otherwise.
     */
    public Optional<DeferralReason> failure() {
        if (!signal.isFailure()) {
            return Optional.empty();
        }
        for (RecipientVerdict verdict : verdicts.values()) {
            if (verdict.deferralReason().isPresent()) {
                return verdict.deferralReason();
            }
        }
        return Optional.empty();
    }

    /**
     * Whether the attempt failed before any transaction (connect, greeting, EHLO, STARTTLS, AUTH), so that the part
     * may go on to its next MX host.
     */
    public boolean triesNextMx() {
        for (RecipientVerdict verdict : verdicts.values()) {
            if (!verdict.triesNextMx()) {
                return false;
            }
        }
        return true;
    }

    /** Whether a recipient was delivered. */
    public boolean delivered() {
        return signal == FlowSignal.SUCCEEDED;
    }

    @Override
    public String toString() {
        return signal + " " + verdicts + (ruleMatches.isEmpty() ? "" : " matching " + ruleMatches.values());
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.RecipientVerdict;
import io.github.mxgovernor.smtp.EnhancedStatusCode;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one place that decides what an attempt means: from what the session saw on the wire (the replies of a
 * transaction, or the failure that ended a session) it makes one {@link AttemptResult}, with a verdict per recipient,
 * the signal flow control counts, and the response rule each distinct server reply matched (each reply is tried
 * against the rules once). Stateless; thread-safe.
 *
 * <p>A server reply means, by RFC 3463 precedence made safe:
 * <ul>
 *   <li>a 2xx reply code: the server took it (mail, recipient, content), whatever its enhanced code says, so that what
 *       was accepted is never sent again;</li>
 *   <li>a 4xx or 5xx reply code: the class of its enhanced status code when it has one of 4 or 5, else the class of
 *       the reply code; an enhanced 2.x.x never makes it a success. 4: temporary; 5: permanent, unless the first
 *       response rule that matches it defers mail ({@code deferMail}), which makes it temporary;</li>
 *   <li>a 3xx where a final reply was due: temporary.</li>
 * </ul>
 * Texts we make up (a recipient held back, a timeout) carry no reply, so no response rule ever sees them.
 */
public final class ReplyClassifier {
    /** Stages of opening a session: a failure there may go on to the next MX host. */
    private static final Set<Stage> OPENING = EnumSet.of(Stage.CONNECT, Stage.GREETING, Stage.EHLO,
        Stage.STARTTLS, Stage.AUTH);
    /** Stages whose reply answers the mail, a recipient or the content itself. */
    private static final Set<Stage> TRANSACTION = EnumSet.of(Stage.MAIL, Stage.RCPT, Stage.DATA, Stage.CONTENT);

    static final String NOT_SENT_WITHOUT_PARTIAL_DELIVERY =
        "not sent: other recipients were refused and sendpartial is off";
    static final String NO_RECIPIENT_REPLY = "no reply to RCPT TO was recorded for this recipient";
    static final String NO_CONTENT_REPLY = "no reply to the message content was recorded";
    static final String LOCALLY_REFUSED = "not sent: ";
    static final String DEFERRED_BY_RESPONSE_RULE = " (a response rule defers this reply instead of bouncing)";

    /**
     * The result of a transaction the session ran, or refused to send. Refused locally (the server's declared limits
     * rule the mail out): every recipient fails permanently, with our own explanation and no reply. MAIL FROM refused:
     * every recipient gets that reply's verdict. RCPT TO refused: the recipient gets its own reply's verdict. Accepted
     * recipients get the verdict of the reply to the content (or to DATA itself); when the content was held back
     * because partial delivery is off and another recipient was refused, they are deferred to be tried again.
     *
     * @param rules the destination's flow-control policy, whose response rules are tried on the server's replies
     */
    public AttemptResult classify(SmtpTransaction transaction, TransactionResult result, FlowControlPolicy rules) {
        Judgement judgement = new Judgement(rules);
        List<String> recipients = transaction.recipients();
        if (result.localRefusal().isPresent()) {
            return judgement.all(recipients, RecipientVerdict.permanentFailure(
                LOCALLY_REFUSED + result.localRefusal().get(), Optional.empty()));
        }
        SmtpReply mailFromReply = result.mailFromReply().orElseThrow();
        if (!accepted(mailFromReply)) {
            return judgement.all(recipients, judgement.verdict(mailFromReply, mailFromReply.toString()));
        }
        judgement.saw(mailFromReply);
        Map<String, SmtpReply> recipientReplies = result.recipientReplies();
        boolean someRefused = false;
        for (String recipient : recipients) {
            SmtpReply reply = recipientReplies.get(recipient);
            someRefused |= reply == null || !accepted(reply);
        }
        boolean heldBack = someRefused && !transaction.partialDelivery();
        Optional<SmtpReply> contentReply = result.dataReply();
        Map<String, RecipientVerdict> verdicts = new LinkedHashMap<>();
        for (String recipient : recipients) {
            SmtpReply reply = recipientReplies.get(recipient);
            RecipientVerdict verdict;
            if (reply == null) {
                verdict = ourOwnDeferral(NO_RECIPIENT_REPLY);
            } else if (!accepted(reply)) {
                verdict = judgement.verdict(reply, reply.toString());
            } else {
                judgement.saw(reply);
                verdict = null;
            }
            verdicts.put(recipient, verdict);
        }
        RecipientVerdict forAccepted = contentReply
            .map(reply -> judgement.verdict(reply, reply.toString()))
            .orElseGet(() -> ourOwnDeferral(heldBack ? NOT_SENT_WITHOUT_PARTIAL_DELIVERY : NO_CONTENT_REPLY));
        verdicts.replaceAll((recipient, verdict) -> verdict == null ? forAccepted : verdict);
        return judgement.result(verdicts);
    }

    /**
     * The result of an attempt a session failure ended, for every one of {@code recipients}. A failure while the
     * session opened (connect, greeting, EHLO, STARTTLS, AUTH) is temporary and may go on to the next MX host:
     * {@link DeferralReason#TLS_POLICY_FAILURE} when TLS could not be had as the policy requires, else
     * {@link DeferralReason#CONNECTION_FAILED}, whatever the server replied (a 421 or 554 greeting). During a
     * transaction, a reply that ended the session (a 421 to MAIL, RCPT, DATA or the content) is judged as any reply at
     * that stage; a failure without such a reply (a timeout, a lost connection, something that is not SMTP) is a
     * {@link DeferralReason#CONNECTION_FAILED}, and one with a reply that does not answer the mail (to RSET, say) an
     * {@link DeferralReason#SMTP_TEMPORARY_FAILURE}.
     */
    public AttemptResult classify(SmtpSessionException failure, List<String> recipients, FlowControlPolicy rules) {
        Judgement judgement = new Judgement(rules);
        Optional<SmtpReply> reply = failure.reply();
        String explanation = explanation(failure);
        boolean opening = OPENING.contains(failure.stage());
        RecipientVerdict verdict;
        if (failure.kind() == Kind.TLS_FAILURE) {
            verdict = RecipientVerdict.temporaryFailure(DeferralReason.TLS_POLICY_FAILURE, explanation, reply, opening);
        } else if (opening) {
            verdict = RecipientVerdict.temporaryFailure(DeferralReason.CONNECTION_FAILED, explanation, reply, true);
        } else if (reply.isPresent() && failure.kind() == Kind.REFUSED_BY_SERVER
            && TRANSACTION.contains(failure.stage())) {
            verdict = judgement.verdict(reply.get(), explanation);
        } else {
            verdict = RecipientVerdict.temporaryFailure(reply.isPresent() ? DeferralReason.SMTP_TEMPORARY_FAILURE
                : DeferralReason.CONNECTION_FAILED, explanation, reply, false);
        }
        reply.ifPresent(judgement::saw);
        FlowSignal signal;
        if (verdict.kind() == RecipientVerdict.Kind.PERMANENT_FAILURE) {
            signal = FlowSignal.REFUSED;
        } else if (failure.kind() != Kind.TLS_FAILURE && reply.map(SmtpReply::isTransientFailure).orElse(false)) {
            signal = FlowSignal.THROTTLED;
        } else {
            signal = FlowSignal.FAILED;
        }
        Map<String, RecipientVerdict> verdicts = new LinkedHashMap<>();
        recipients.forEach(recipient -> verdicts.put(recipient, verdict));
        return new AttemptResult(verdicts, signal, judgement.matches, judgement.last);
    }

    /** A 2xx reply code: taken, whatever the enhanced code says. */
    private static boolean accepted(SmtpReply reply) {
        return reply.isPositiveCompletion();
    }

    /**
     * The class a reply is judged by: 2 for a 2xx reply code; for 4xx and 5xx, the enhanced code's class when it is 4
     * or 5, else the reply code's; else the reply code's.
     */
    static int effectiveClass(SmtpReply reply) {
        int byCode = reply.code() / 100;
        if (byCode != 4 && byCode != 5) {
            return byCode;
        }
        return reply.enhancedCode().map(EnhancedStatusCode::codeClass).filter(enhanced -> enhanced != 2)
            .orElse(byCode);
    }

    private static RecipientVerdict ourOwnDeferral(String explanation) {
        return RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE, explanation,
            Optional.empty(), false);
    }

    private static String explanation(SmtpSessionException failure) {
        String message = failure.getMessage();
        if (message != null && !message.isBlank()) {
            return message;
        }
        return failure.reply().map(SmtpReply::toString)
            .orElse(failure.kind() + " during " + failure.stage());
    }

    /** One attempt's judging: each distinct reply tried against the response rules once, in the order it came. */
    private static final class Judgement {
        private final FlowControlPolicy rules;
        private final Map<SmtpReply, ResponseRule> matches = new LinkedHashMap<>(2);
        private final Map<SmtpReply, Optional<ResponseRule>> tried = new LinkedHashMap<>(2);
        private Optional<SmtpReply> last = Optional.empty();

        Judgement(FlowControlPolicy rules) {
            this.rules = rules;
        }

        /** Notes a server reply: the last one the attempt saw, and the response rule it matches. */
        Optional<ResponseRule> saw(SmtpReply reply) {
            last = Optional.of(reply);
            Optional<ResponseRule> rule = tried.get(reply);
            if (rule == null) {
                rule = rules.match(reply);
                tried.put(reply, rule);
                rule.ifPresent(matched -> matches.put(reply, matched));
            }
            return rule;
        }

        /** What a server reply means for the recipients it answers. */
        RecipientVerdict verdict(SmtpReply reply, String explanation) {
            Optional<ResponseRule> rule = saw(reply);
            switch (effectiveClass(reply)) {
                case 2:
                    return RecipientVerdict.delivered(reply);
                case 5:
                    if (rule.map(ResponseRule::defersMail).orElse(false)) {
                        return RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE,
                            explanation + DEFERRED_BY_RESPONSE_RULE, Optional.of(reply), false);
                    }
                    return RecipientVerdict.permanentFailure(explanation, Optional.of(reply));
                default:
                    // 4xx, and a 3xx where a final reply was due: the server did not take the mail, try again later.
                    return RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE, explanation,
                        Optional.of(reply), false);
            }
        }

        AttemptResult all(List<String> recipients, RecipientVerdict verdict) {
            Map<String, RecipientVerdict> verdicts = new LinkedHashMap<>();
            recipients.forEach(recipient -> verdicts.put(recipient, verdict));
            return result(verdicts);
        }

        /** Delivered if any was; else throttled if the server deferred any; else refused. */
        AttemptResult result(Map<String, RecipientVerdict> verdicts) {
            boolean deferredByServer = false;
            FlowSignal signal = FlowSignal.REFUSED;
            for (RecipientVerdict verdict : verdicts.values()) {
                if (verdict.kind() == RecipientVerdict.Kind.DELIVERED) {
                    signal = FlowSignal.SUCCEEDED;
                    break;
                }
                deferredByServer |= verdict.kind() == RecipientVerdict.Kind.TEMPORARY_FAILURE
                    && !verdict.generatedLocally();
            }
            if (signal != FlowSignal.SUCCEEDED && deferredByServer) {
                signal = FlowSignal.THROTTLED;
            }
            return new AttemptResult(verdicts, signal, matches, last);
        }
    }
}

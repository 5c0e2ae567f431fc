package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The one place that decides what an attempt means for each recipient. A server reply is judged by its
 * RFC 3463 enhanced status code when it has one, else by its reply code: 2xx delivered, 4xx temporary,
 * 5xx permanent unless a response rule of the destination defers it. A session failure is always temporary; when it happened before any transaction the next MX
 * host may be tried. Thread-safe.
 */
public final class ReplyClassifier {
    private static final Set<SmtpSessionException.Stage> BEFORE_TRANSACTION = EnumSet.of(
        SmtpSessionException.Stage.CONNECT, SmtpSessionException.Stage.GREETING,
        SmtpSessionException.Stage.EHLO, SmtpSessionException.Stage.STARTTLS, SmtpSessionException.Stage.AUTH);

    static final String NOT_SENT_WITHOUT_PARTIAL_DELIVERY =
        "not sent: other recipients were refused and sendpartial is off";
    static final String NO_RECIPIENT_REPLY = "no reply to RCPT TO was recorded for this recipient";
    static final String NO_CONTENT_REPLY = "no reply to the message content was recorded";
    static final String LOCALLY_REFUSED = "not sent: ";
    static final String DEFERRED_BY_RESPONSE_RULE = " (a response rule defers this reply instead of bouncing)";

    /**
     * One verdict per recipient of {@code transaction}, in its order. Refused locally (the server's declared
     * limits rule the mail out): every recipient fails permanently, with our own explanation and no reply, so
     * no response rule sees it. MAIL FROM refused: every recipient gets that reply's verdict. RCPT TO refused: the recipient gets its own reply's verdict. Accepted recipients
     * get the verdict of the reply to the content (or to DATA itself); when the content was held back because
     * partial delivery is off and another recipient was refused, they are deferred to be retried.
     */
    public Map<String, RecipientVerdict> classify(SmtpTransaction transaction, TransactionResult result) {
        return classify(transaction, result, reply -> false);
    }

    /**
     * As {@link #classify(SmtpTransaction, TransactionResult)}, except that a permanent server reply for which
     * {@code defersMail} holds (the destination's response rules say so) is a temporary failure: the mail waits
     * and is tried again rather than bounced.
     */
    public Map<String, RecipientVerdict> classify(SmtpTransaction transaction, TransactionResult result,
                                                  Predicate<SmtpReply> defersMail) {
        Map<String, RecipientVerdict> verdicts = new LinkedHashMap<>();
        if (result.localRefusal().isPresent()) {
            RecipientVerdict refused = RecipientVerdict.permanentFailure(
                LOCALLY_REFUSED + result.localRefusal().get(), Optional.empty());
            transaction.recipients().forEach(recipient -> verdicts.put(recipient, refused));
            return Collections.unmodifiableMap(verdicts);
        }
        SmtpReply mailFromReply = result.mailFromReply().orElseThrow();
        if (!isPositive(mailFromReply)) {
            RecipientVerdict refused = verdictFor(mailFromReply, defersMail);
            transaction.recipients().forEach(recipient -> verdicts.put(recipient, refused));
            return Collections.unmodifiableMap(verdicts);
        }
        Map<String, SmtpReply> recipientReplies = result.recipientReplies();
        boolean someRefused = transaction.recipients().stream()
            .anyMatch(recipient -> !recipientReplies.containsKey(recipient)
                || !isPositive(recipientReplies.get(recipient)));
        for (String recipient : transaction.recipients()) {
            verdicts.put(recipient, verdictFor(recipientReplies.get(recipient), result.dataReply(),
                someRefused && !transaction.partialDelivery(), defersMail));
        }
        return Collections.unmodifiableMap(verdicts);
    }

    /**
     * The verdict for every recipient of an attempt that ended in a session failure. Always temporary:
     * {@link DeferralReason#TLS_POLICY_FAILURE} when TLS could not be had, {@link DeferralReason#CONNECTION_FAILED}
     * before any transaction (SMTP AUTH to a gateway included) (and then the next MX host may be tried), and during a transaction
     * {@link DeferralReason#SMTP_TEMPORARY_FAILURE} when the server said why (a 421), else
     * {@link DeferralReason#CONNECTION_FAILED}.
     */
    public RecipientVerdict classify(SmtpSessionException failure) {
        boolean beforeTransaction = BEFORE_TRANSACTION.contains(failure.stage());
        DeferralReason reason;
        if (failure.kind() == SmtpSessionException.Kind.TLS_FAILURE) {
            reason = DeferralReason.TLS_POLICY_FAILURE;
        } else if (beforeTransaction || failure.reply().isEmpty()) {
            reason = DeferralReason.CONNECTION_FAILED;
        } else {
            reason = DeferralReason.SMTP_TEMPORARY_FAILURE;
        }
        return RecipientVerdict.temporaryFailure(reason, explanation(failure), failure.reply(), beforeTransaction);
    }

    private RecipientVerdict verdictFor(SmtpReply recipientReply, Optional<SmtpReply> contentReply,
                                        boolean heldBack, Predicate<SmtpReply> defersMail) {
        if (recipientReply == null) {
            return localTemporaryFailure(NO_RECIPIENT_REPLY);
        }
        if (!isPositive(recipientReply)) {
            return verdictFor(recipientReply, defersMail);
        }
        if (contentReply.isPresent()) {
            return verdictFor(contentReply.get(), defersMail);
        }
        return localTemporaryFailure(heldBack ? NOT_SENT_WITHOUT_PARTIAL_DELIVERY : NO_CONTENT_REPLY);
    }

    /** What a server reply means: the response rules' say on permanent replies is applied here and nowhere else. */
    private RecipientVerdict verdictFor(SmtpReply reply, Predicate<SmtpReply> defersMail) {
        switch (replyClass(reply)) {
            case 2:
                return RecipientVerdict.delivered(reply);
            case 5:
                if (defersMail.test(reply)) {
                    return RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE,
                        reply + DEFERRED_BY_RESPONSE_RULE, Optional.of(reply), false);
                }
                return RecipientVerdict.permanentFailure(reply.toString(), Optional.of(reply));
            default:
                // 4xx, and a 3xx where a final reply was due: the server did not take the mail, try again later.
                return RecipientVerdict.temporaryFailure(DeferralReason.SMTP_TEMPORARY_FAILURE, reply.toString(),
                    Optional.of(reply), false);
        }
    }

    private static boolean isPositive(SmtpReply reply) {
        return replyClass(reply) == 2;
    }

    private static int replyClass(SmtpReply reply) {
        return reply.enhancedCode().map(code -> code.codeClass()).orElse(reply.code() / 100);
    }

    private static RecipientVerdict localTemporaryFailure(String explanation) {
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
}

package io.github.mxgovernor.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How one transaction went: either the server's replies, kept apart per recipient, or a
 * {@link LocalRefusal} when the session did not send the transaction at all. {@link #dataReply()} is empty
 * when the content was never sent (MAIL FROM refused, or no recipient accepted).
 */
public final class TransactionResult {
    private final Optional<SmtpReply> mailFromReply;
    private final Map<String, SmtpReply> recipientReplies;
    private final Optional<SmtpReply> dataReply;
    private final Optional<LocalRefusal> localRefusal;

    /** The server's replies to a transaction that was sent. */
    public TransactionResult(SmtpReply mailFromReply, Map<String, SmtpReply> recipientReplies,
                             Optional<SmtpReply> dataReply) {
        this.mailFromReply = Optional.of(Objects.requireNonNull(mailFromReply, "mailFromReply"));
        this.recipientReplies = Collections.unmodifiableMap(new LinkedHashMap<>(recipientReplies));
        this.dataReply = Objects.requireNonNull(dataReply, "dataReply");
        this.localRefusal = Optional.empty();
    }

    private TransactionResult(LocalRefusal refusal) {
        this.mailFromReply = Optional.empty();
        this.recipientReplies = Map.of();
        this.dataReply = Optional.empty();
        this.localRefusal = Optional.of(refusal);
    }

    /** A transaction the session did not send, for {@code refusal}'s reason. */
    public static TransactionResult refusedLocally(LocalRefusal refusal) {
        return new TransactionResult(Objects.requireNonNull(refusal, "refusal"));
    }

    /** The reply to MAIL FROM; empty exactly when the transaction was {@linkplain #localRefusal() refused locally}. */
    public Optional<SmtpReply> mailFromReply() {
        return mailFromReply;
    }

    /** Reply to each RCPT TO, in the order sent. Empty when MAIL FROM was refused or nothing was sent. */
    public Map<String, SmtpReply> recipientReplies() {
        return recipientReplies;
    }

    /** The final reply after the content (to the end of DATA, or to the last BDAT chunk). */
    public Optional<SmtpReply> dataReply() {
        return dataReply;
    }

    /** Why the session did not send the transaction, when it did not. */
    public Optional<LocalRefusal> localRefusal() {
        return localRefusal;
    }
}

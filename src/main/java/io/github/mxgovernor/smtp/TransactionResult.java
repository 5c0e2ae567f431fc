package io.github.mxgovernor.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The server's replies to one transaction, kept apart per recipient. {@link #dataReply()} is empty when
 * the content was never sent (MAIL FROM refused, or no recipient accepted).
 */
public final class TransactionResult {
    private final SmtpReply mailFromReply;
    private final Map<String, SmtpReply> recipientReplies;
    private final Optional<SmtpReply> dataReply;

    public TransactionResult(SmtpReply mailFromReply, Map<String, SmtpReply> recipientReplies,
                             Optional<SmtpReply> dataReply) {
        this.mailFromReply = Objects.requireNonNull(mailFromReply, "mailFromReply");
        this.recipientReplies = Collections.unmodifiableMap(new LinkedHashMap<>(recipientReplies));
        this.dataReply = Objects.requireNonNull(dataReply, "dataReply");
    }

    public SmtpReply mailFromReply() {
        return mailFromReply;
    }

    /** Reply to each RCPT TO, in the order sent. Empty when MAIL FROM was refused. */
    public Map<String, SmtpReply> recipientReplies() {
        return recipientReplies;
    }

    /** The final reply after the content (to the end of DATA, or to the last BDAT chunk). */
    public Optional<SmtpReply> dataReply() {
        return dataReply;
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.smtp.SmtpReply;

import java.util.Objects;
import java.util.Optional;

/**
 * What one attempt means for one recipient: delivered, failed for now (retry later), or failed for good
 * (bounce). Produced by the reply classifier only. Immutable.
 */
public final class RecipientVerdict {

    /** The three ends of an attempt. */
    public enum Kind { DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE }

    private final Kind kind;
    private final Optional<SmtpReply> reply;
    private final String explanation;
    private final Optional<DeferralReason> deferralReason;
    private final boolean triesNextMx;

    private RecipientVerdict(Kind kind, Optional<SmtpReply> reply, String explanation,
                             Optional<DeferralReason> deferralReason, boolean triesNextMx) {
        this.kind = kind;
        this.reply = Objects.requireNonNull(reply, "reply");
        this.explanation = Objects.requireNonNull(explanation, "explanation");
        if (explanation.isBlank()) {
            throw new IllegalArgumentException("explanation is required");
        }
        this.deferralReason = deferralReason;
        this.triesNextMx = triesNextMx;
    }

    /** The server accepted the message for this recipient. */
    public static RecipientVerdict delivered(SmtpReply reply) {
        return new RecipientVerdict(Kind.DELIVERED, Optional.of(reply), reply.toString(), Optional.empty(), false);
    }

    /**
     * The attempt failed for now; the mail is deferred for {@code reason}.
     *
     * @param reason why it is deferred: a failed attempt's reason, never a {@link DeferralReason#isLocal() local} one
     * @param triesNextMx whether the failure happened before any transaction, so the next MX host may be tried
     */
    public static RecipientVerdict temporaryFailure(DeferralReason reason, String explanation,
                                                    Optional<SmtpReply> reply, boolean triesNextMx) {
        if (reason.isLocal()) {
            throw new IllegalArgumentException(
                "a verdict's deferral reason must be a failed attempt's, was the local reason " + reason);
        }
        return new RecipientVerdict(Kind.TEMPORARY_FAILURE, reply, explanation, Optional.of(reason), triesNextMx);
    }

    /** The attempt failed for good: the recipient bounces. */
    public static RecipientVerdict permanentFailure(String explanation, Optional<SmtpReply> reply) {
        return new RecipientVerdict(Kind.PERMANENT_FAILURE, reply, explanation, Optional.empty(), false);
    }

    public Kind kind() {
        return kind;
    }

    /** The server's reply behind this verdict; empty when the verdict is our own (see {@link #generatedLocally()}). */
    public Optional<SmtpReply> reply() {
        return reply;
    }

    /** One line for operators: the server's reply as sent, or our own description of what failed. */
    public String explanation() {
        return explanation;
    }

    /** Why the recipient is deferred: present exactly when {@link #kind()} is {@link Kind#TEMPORARY_FAILURE}. */
    public Optional<DeferralReason> deferralReason() {
        return deferralReason;
    }

    /**
     * True when no server reply is behind this verdict: the text is ours (a timeout, a refused connection, a
     * recipient held back because sendpartial is off). Response rules never match such verdicts.
     */
    public boolean generatedLocally() {
        return reply.isEmpty();
    }

    /**
     * True when the failure happened before any transaction (connect, greeting, EHLO, STARTTLS), so the
     * delivery may go on with the next MX host in the same attempt.
     */
    public boolean triesNextMx() {
        return triesNextMx;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RecipientVerdict)) {
            return false;
        }
        RecipientVerdict that = (RecipientVerdict) o;
        return kind == that.kind && reply.equals(that.reply) && explanation.equals(that.explanation)
            && deferralReason.equals(that.deferralReason) && triesNextMx == that.triesNextMx;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, reply, explanation, deferralReason, triesNextMx);
    }

    @Override
    public String toString() {
        return kind + deferralReason.map(reason -> " " + reason).orElse("") + (triesNextMx ? " (next MX)" : "")
            + ": " + explanation;
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * How one recipient's part of a mail ended, final: delivered, deferred (with the mail's updated deferral record,
 * which says why and when it comes back) or bounced (refused for good, or out of retries or time). Made by the engine
 * from the one reply classification and the {@link ReturnSchedule}; the edge only carries it out. Immutable.
 */
public final class Outcome {
    /** The three ends of an attempt. */
    public enum Kind { DELIVERED, DEFERRED, BOUNCED }

    private final Kind kind;
    private final String message;
    private final Optional<SmtpReply> reply;
    private final String destination;
    private final String rule;
    private final Optional<DeferralRecord> record;
    private final Optional<TlsReport> tls;

    private Outcome(Kind kind, String message, Optional<SmtpReply> reply, String destination, String rule,
                    Optional<DeferralRecord> record, Optional<TlsReport> tls) {
        this.kind = kind;
        this.message = Objects.requireNonNull(message, "message");
        this.reply = Objects.requireNonNull(reply, "reply");
        this.destination = Objects.requireNonNull(destination, "destination");
        this.rule = Objects.requireNonNull(rule, "rule");
        this.record = Objects.requireNonNull(record, "record");
        this.tls = Objects.requireNonNull(tls, "tls");
    }

    /**
     * @param tls    how the session was protected and which TLS policy applied, when known
     * @param record the mail's record, marked delivered, when it had been deferred before
     */
    public static Outcome delivered(Optional<SmtpReply> reply, String destination, String rule,
                                    Optional<TlsReport> tls, Optional<DeferralRecord> record) {
        return new Outcome(Kind.DELIVERED, "Delivered", reply, destination, rule, record, tls);
    }

    /**
     * Deferred as {@code record}'s latest deferral says, due again at its {@link DeferralRecord#nextAttemptAt()}.
     *
     * @param reply the server's reply behind the deferral, if any
     */
    public static Outcome deferred(DeferralRecord record, Optional<SmtpReply> reply) {
        if (record.status() != DeferralRecord.Status.DEFERRED || record.nextAttemptAt().isEmpty()) {
            throw new IllegalArgumentException("a deferral needs a deferred record with its next attempt, was " + record);
        }
        return new Outcome(Kind.DEFERRED, record.latest().message(), reply, record.latest().destination(),
            record.latest().rule(), Optional.of(record), Optional.empty());
    }

    /** @param record the mail's record, marked bounced, when it had been deferred before (or is by this end) */
    public static Outcome bounced(String message, Optional<SmtpReply> reply, String destination, String rule,
                                  Optional<DeferralRecord> record) {
        return new Outcome(Kind.BOUNCED, message, reply, destination, rule, record, Optional.empty());
    }

    public Kind kind() {
        return kind;
    }

    /** Present for deferrals only. */
    public Optional<DeferralReason> reason() {
        return kind == Kind.DEFERRED ? record.map(DeferralRecord::reason) : Optional.empty();
    }

    /** For operators: "Delivered", why the mail waits, or why it bounced. */
    public String message() {
        return message;
    }

    public Optional<SmtpReply> reply() {
        return reply;
    }

    /** The destination the attempt was counted against; the recipient domain when none was reached (DNS). */
    public String destination() {
        return destination;
    }

    /** The MX rule that applied; the default rule when no MX host was reached (DNS). */
    public String rule() {
        return rule;
    }

    /**
     * The mail's deferral record after this end: always for a deferral; for a delivery or a bounce, when the mail
     * had been deferred before or bounced for its retries or age.
     */
    public Optional<DeferralRecord> record() {
        return record;
    }

    /** For a deferral: when the mail is due again. */
    public Optional<Instant> nextAttemptAt() {
        return kind == Kind.DEFERRED ? record.flatMap(DeferralRecord::nextAttemptAt) : Optional.empty();
    }

    /** For a delivered recipient: the session's TLS (protocol, cipher suite, protection) and the policy applied. */
    public Optional<TlsReport> tls() {
        return tls;
    }

    /** Outcomes are values: recipients with equal outcomes share one bounce or one re-enqueued copy. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Outcome)) {
            return false;
        }
        Outcome that = (Outcome) o;
        return kind == that.kind && message.equals(that.message) && reply.equals(that.reply)
            && destination.equals(that.destination) && rule.equals(that.rule) && record.equals(that.record)
            && tls.equals(that.tls);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, message, reply, destination, rule, record, tls);
    }

    @Override
    public String toString() {
        return kind + reason().map(r -> " " + r).orElse("") + " via " + destination + ": " + message
            + reply.map(r -> " [" + r + "]").orElse("");
    }
}

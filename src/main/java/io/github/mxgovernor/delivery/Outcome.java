package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * How one attempt ended for one recipient: delivered, deferred (with the reason and, for local deferrals,
 * the earliest useful next attempt), or bounced. Produced by the engine from the one reply classification.
 */
public final class Outcome {
    /** The three ends of an attempt. */
    public enum Kind { DELIVERED, DEFERRED, BOUNCED }

    private final Kind kind;
    private final Optional<DeferralReason> reason;
    private final String message;
    private final Optional<SmtpReply> reply;
    private final String destination;
    private final String rule;
    private final Optional<Instant> notBefore;
    private final Optional<TlsReport> tls;

    private Outcome(Kind kind, Optional<DeferralReason> reason, String message, Optional<SmtpReply> reply,
                    String destination, String rule, Optional<Instant> notBefore) {
        this(kind, reason, message, reply, destination, rule, notBefore, Optional.empty());
    }

    private Outcome(Kind kind, Optional<DeferralReason> reason, String message, Optional<SmtpReply> reply,
                    String destination, String rule, Optional<Instant> notBefore, Optional<TlsReport> tls) {
        this.kind = kind;
        this.reason = reason;
        this.message = Objects.requireNonNull(message, "message");
        this.reply = Objects.requireNonNull(reply, "reply");
        this.destination = Objects.requireNonNull(destination, "destination");
        this.rule = Objects.requireNonNull(rule, "rule");
        this.notBefore = Objects.requireNonNull(notBefore, "notBefore");
        this.tls = Objects.requireNonNull(tls, "tls");
    }

    public static Outcome delivered(Optional<SmtpReply> reply, String destination, String rule) {
        return new Outcome(Kind.DELIVERED, Optional.empty(), "Delivered", reply, destination, rule, Optional.empty());
    }

    /** Delivered, with how the session was protected and which TLS policy applied. */
    public static Outcome delivered(Optional<SmtpReply> reply, String destination, String rule, TlsReport tls) {
        return new Outcome(Kind.DELIVERED, Optional.empty(), "Delivered", reply, destination, rule, Optional.empty(),
            Optional.of(tls));
    }

    /**
     * @param notBefore for local deferrals, when the destination can take the mail again; empty to let the
     *     retry schedule decide
     */
    public static Outcome deferred(DeferralReason reason, String message, Optional<SmtpReply> reply,
                                   String destination, String rule, Optional<Instant> notBefore) {
        return new Outcome(Kind.DEFERRED, Optional.of(reason), message, reply, destination, rule, notBefore);
    }

    public static Outcome bounced(String message, Optional<SmtpReply> reply, String destination, String rule) {
        return new Outcome(Kind.BOUNCED, Optional.empty(), message, reply, destination, rule, Optional.empty());
    }

    public Kind kind() {
        return kind;
    }

    /** Present for deferrals only. */
    public Optional<DeferralReason> reason() {
        return reason;
    }

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

    public Optional<Instant> notBefore() {
        return notBefore;
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
        return kind == that.kind && reason.equals(that.reason) && message.equals(that.message)
            && reply.equals(that.reply) && destination.equals(that.destination) && rule.equals(that.rule)
            && notBefore.equals(that.notBefore) && tls.equals(that.tls);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, reason, message, reply, destination, rule, notBefore, tls);
    }

    @Override
    public String toString() {
        return kind + reason.map(r -> " " + r).orElse("") + " via " + destination + ": " + message
            + reply.map(r -> " [" + r + "]").orElse("");
    }
}

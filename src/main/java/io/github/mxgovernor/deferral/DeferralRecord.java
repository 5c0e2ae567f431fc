package io.github.mxgovernor.deferral;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Why a mail waits: one record per mail, carried with it from deferral to deferral until it is delivered or
 * bounced. The top-level fields describe the latest deferral (or, once {@link Status#BOUNCED}, why the mail
 * bounced); the counters add up every deferral; {@link #history()} keeps the newest {@value #MAX_HISTORY}
 * deferrals, oldest first. Immutable: every operation returns a new record.
 */
public final class DeferralRecord {
    /** How many deferrals {@link #history()} keeps; older ones are dropped. */
    public static final int MAX_HISTORY = 10;

    /** Where the mail stands. */
    public enum Status { DEFERRED, DELIVERED, BOUNCED }

    private final Status status;
    private final DeferralReason reason;
    private final String message;
    private final String destination;
    private final String rule;
    private final Optional<Integer> smtpCode;
    private final Optional<String> enhancedCode;
    private final Optional<String> reply;
    private final int localDeferrals;
    private final int failedAttempts;
    private final int dnsFailures;
    private final Instant firstDeferredAt;
    private final Optional<Instant> nextAttemptAt;
    private final Instant updatedAt;
    private final List<DeferralEvent> history;

    private DeferralRecord(Builder builder) {
        this.status = present(builder.status, "status");
        this.reason = present(builder.reason, "reason");
        this.message = DeferralEvent.checkedMessage(builder.message);
        this.destination = DeferralEvent.checkedText(builder.destination, "destination");
        this.rule = DeferralEvent.checkedText(builder.rule, "rule");
        this.smtpCode = builder.smtpCode;
        this.enhancedCode = builder.enhancedCode;
        this.reply = builder.reply;
        this.localDeferrals = builder.localDeferrals;
        this.failedAttempts = builder.failedAttempts;
        this.dnsFailures = builder.dnsFailures;
        this.firstDeferredAt = present(builder.firstDeferredAt, "firstDeferredAt");
        this.nextAttemptAt = builder.nextAttemptAt;
        this.updatedAt = present(builder.updatedAt, "updatedAt");
        this.history = builder.history;
    }

    /** The record of a mail's first deferral. */
    public static DeferralRecord first(DeferralEvent event, Optional<Instant> nextAttemptAt) {
        return builder()
            .latest(event)
            .firstDeferredAt(event.at())
            .nextAttemptAt(nextAttemptAt)
            .localDeferrals(event.reason().isLocal() ? 1 : 0)
            .failedAttempts(event.reason().isLocal() ? 0 : 1)
            .dnsFailures(event.reason() == DeferralReason.DNS_TEMPORARY_FAILURE ? 1 : 0)
            .history(List.of(event))
            .build();
    }

    /**
     * This record after one more deferral: the event becomes the latest, and it counts as a local deferral
     * when its reason {@link DeferralReason#isLocal() is local}, as a failed attempt otherwise (and as a DNS
     * failure too when the reason is {@link DeferralReason#DNS_TEMPORARY_FAILURE}).
     */
    public DeferralRecord deferredAgain(DeferralEvent event, Optional<Instant> nextAttemptAt) {
        List<DeferralEvent> longer = new ArrayList<>(history);
        longer.add(event);
        return toBuilder()
            .latest(event)
            .nextAttemptAt(nextAttemptAt)
            .localDeferrals(localDeferrals + (event.reason().isLocal() ? 1 : 0))
            .failedAttempts(failedAttempts + (event.reason().isLocal() ? 0 : 1))
            .dnsFailures(dnsFailures + (event.reason() == DeferralReason.DNS_TEMPORARY_FAILURE ? 1 : 0))
            .history(longer)
            .build();
    }

    /** This record once the mail was delivered: counters, latest deferral and history are kept. */
    public DeferralRecord delivered(Instant at) {
        return toBuilder()
            .status(Status.DELIVERED)
            .updatedAt(at)
            .nextAttemptAt(Optional.empty())
            .build();
    }

    /**
     * This record once the mail bounced. {@link #reason()}, {@link #destination()} and {@link #rule()} stay
     * those of the last deferral (a bounce is not a deferral and has no deferral reason); {@link #message()}
     * and the reply fields say why the mail bounced. Counters and history are kept.
     *
     * @param message why the mail bounced, for operators
     * @param serverReply the server's reply that ended it, if a server reply did
     */
    public DeferralRecord bounced(Instant at, String message, Optional<SmtpReply> serverReply) {
        return toBuilder()
            .status(Status.BOUNCED)
            .message(message)
            .smtpCode(serverReply.map(SmtpReply::code))
            .enhancedCode(serverReply.flatMap(SmtpReply::enhancedCode).map(Object::toString))
            .reply(serverReply.map(SmtpReply::toString))
            .updatedAt(at)
            .nextAttemptAt(Optional.empty())
            .build();
    }

    /** A builder for any record, for example one read back from storage. */
    public static Builder builder() {
        return new Builder();
    }

    public Status status() {
        return status;
    }

    /** The reason of the latest deferral. */
    public DeferralReason reason() {
        return reason;
    }

    /** The operator-facing sentence: the latest deferral's, or why the mail bounced. */
    public String message() {
        return message;
    }

    public String destination() {
        return destination;
    }

    public String rule() {
        return rule;
    }

    public Optional<Integer> smtpCode() {
        return smtpCode;
    }

    public Optional<String> enhancedCode() {
        return enhancedCode;
    }

    /** The server's reply as it was sent, at most {@link DeferralEvent#MAX_TEXT_LENGTH} characters. */
    public Optional<String> reply() {
        return reply;
    }

    /** Deferrals that were our own decision (quota, rate, flow control, suspension): no attempt was made. */
    public int localDeferrals() {
        return localDeferrals;
    }

    /** Attempts that failed and deferred the mail; the attempt that ends in a bounce is not among them. */
    public int failedAttempts() {
        return failedAttempts;
    }

    /** Deferrals for a temporary DNS failure; also counted in {@link #failedAttempts()}. */
    public int dnsFailures() {
        return dnsFailures;
    }

    public Instant firstDeferredAt() {
        return firstDeferredAt;
    }

    /** When the mail is due again; empty once delivered or bounced, or when no time was set. */
    public Optional<Instant> nextAttemptAt() {
        return nextAttemptAt;
    }

    public Instant updatedAt() {
        return updatedAt;
    }

    /** The newest {@value #MAX_HISTORY} deferrals, oldest first. */
    public List<DeferralEvent> history() {
        return history;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DeferralRecord)) {
            return false;
        }
        DeferralRecord that = (DeferralRecord) o;
        return status == that.status && reason == that.reason && message.equals(that.message)
            && destination.equals(that.destination) && rule.equals(that.rule) && smtpCode.equals(that.smtpCode)
            && enhancedCode.equals(that.enhancedCode) && reply.equals(that.reply)
            && localDeferrals == that.localDeferrals && failedAttempts == that.failedAttempts
            && dnsFailures == that.dnsFailures && firstDeferredAt.equals(that.firstDeferredAt)
            && nextAttemptAt.equals(that.nextAttemptAt) && updatedAt.equals(that.updatedAt)
            && history.equals(that.history);
    }

    @Override
    public int hashCode() {
        return Objects.hash(status, reason, message, destination, rule, smtpCode, enhancedCode, reply,
            localDeferrals, failedAttempts, dnsFailures, firstDeferredAt, nextAttemptAt, updatedAt, history);
    }

    @Override
    public String toString() {
        return status + " " + reason + " " + destination + " (rule " + rule + ", " + failedAttempts
            + " failed attempts, " + localDeferrals + " local deferrals): " + reply.orElse(message);
    }

    private static <T> T present(T value, String name) {
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }

    private Builder toBuilder() {
        return builder()
            .status(status)
            .reason(reason)
            .message(message)
            .destination(destination)
            .rule(rule)
            .smtpCode(smtpCode)
            .enhancedCode(enhancedCode)
            .reply(reply)
            .localDeferrals(localDeferrals)
            .failedAttempts(failedAttempts)
            .dnsFailures(dnsFailures)
            .firstDeferredAt(firstDeferredAt)
            .nextAttemptAt(nextAttemptAt)
            .updatedAt(updatedAt)
            .history(history);
    }

    /**
     * Builds a {@link DeferralRecord}. Required: status, reason, message, destination, rule, firstDeferredAt and
     * updatedAt. Counters default to 0, optional values to empty, history to none.
     */
    public static final class Builder {
        private Status status;
        private DeferralReason reason;
        private String message;
        private String destination;
        private String rule;
        private Optional<Integer> smtpCode = Optional.empty();
        private Optional<String> enhancedCode = Optional.empty();
        private Optional<String> reply = Optional.empty();
        private int localDeferrals;
        private int failedAttempts;
        private int dnsFailures;
        private Instant firstDeferredAt;
        private Optional<Instant> nextAttemptAt = Optional.empty();
        private Instant updatedAt;
        private List<DeferralEvent> history = List.of();

        private Builder() {
        }

        public Builder status(Status status) {
            this.status = Objects.requireNonNull(status, "status");
            return this;
        }

        public Builder reason(DeferralReason reason) {
            this.reason = Objects.requireNonNull(reason, "reason");
            return this;
        }

        public Builder message(String message) {
            this.message = DeferralEvent.checkedMessage(message);
            return this;
        }

        public Builder destination(String destination) {
            this.destination = DeferralEvent.checkedText(destination, "destination");
            return this;
        }

        public Builder rule(String rule) {
            this.rule = DeferralEvent.checkedText(rule, "rule");
            return this;
        }

        public Builder smtpCode(Optional<Integer> smtpCode) {
            this.smtpCode = DeferralEvent.checkedSmtpCode(Objects.requireNonNull(smtpCode, "smtpCode"));
            return this;
        }

        public Builder enhancedCode(Optional<String> enhancedCode) {
            this.enhancedCode = DeferralEvent.checkedEnhancedCode(Objects.requireNonNull(enhancedCode, "enhancedCode"));
            return this;
        }

        public Builder reply(Optional<String> reply) {
            this.reply = DeferralEvent.checkedReply(Objects.requireNonNull(reply, "reply"));
            return this;
        }

        public Builder localDeferrals(int localDeferrals) {
            this.localDeferrals = notNegative(localDeferrals, "localDeferrals");
            return this;
        }

        public Builder failedAttempts(int failedAttempts) {
            this.failedAttempts = notNegative(failedAttempts, "failedAttempts");
            return this;
        }

        public Builder dnsFailures(int dnsFailures) {
            this.dnsFailures = notNegative(dnsFailures, "dnsFailures");
            return this;
        }

        public Builder firstDeferredAt(Instant firstDeferredAt) {
            this.firstDeferredAt = Objects.requireNonNull(firstDeferredAt, "firstDeferredAt");
            return this;
        }

        public Builder nextAttemptAt(Optional<Instant> nextAttemptAt) {
            this.nextAttemptAt = Objects.requireNonNull(nextAttemptAt, "nextAttemptAt");
            return this;
        }

        public Builder updatedAt(Instant updatedAt) {
            this.updatedAt = Objects.requireNonNull(updatedAt, "updatedAt");
            return this;
        }

        /** The deferrals, oldest first; only the newest {@value #MAX_HISTORY} are kept. */
        public Builder history(List<DeferralEvent> history) {
            List<DeferralEvent> copy = List.copyOf(history);
            this.history = List.copyOf(copy.subList(Math.max(0, copy.size() - MAX_HISTORY), copy.size()));
            return this;
        }

        public DeferralRecord build() {
            return new DeferralRecord(this);
        }

        /** Makes the event the latest deferral: status, reason, message, destination, rule, reply, time. */
        private Builder latest(DeferralEvent event) {
            return status(Status.DEFERRED)
                .reason(event.reason())
                .message(event.message())
                .destination(event.destination())
                .rule(event.rule())
                .smtpCode(event.smtpCode())
                .enhancedCode(event.enhancedCode())
                .reply(event.reply())
                .updatedAt(event.at());
        }

        private static int notNegative(int value, String name) {
            if (value < 0) {
                throw new IllegalArgumentException(name + " must be 0 or more, was " + value);
            }
            return value;
        }
    }
}

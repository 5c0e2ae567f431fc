package io.github.mxgovernor.deferral;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Why a mail waits: one record per mail, carried with it from deferral to deferral until it is delivered or bounced.
 * It is the latest event, counters and a short history: {@link #latest()} is the latest deferral (once
 * {@link Status#BOUNCED}, retold to say why the mail bounced; once {@link Status#DELIVERED}, dated at the delivery);
 * the counters add up every deferral; {@link #history()} keeps the newest {@value #MAX_HISTORY} deferrals, oldest
 * first. Immutable: every operation returns a new record.
 */
public final class DeferralRecord {
    /** How many deferrals {@link #history()} keeps; older ones are dropped. */
    public static final int MAX_HISTORY = 10;

    /** Where the mail stands. */
    public enum Status { DEFERRED, DELIVERED, BOUNCED }

    private final Status status;
    private final DeferralEvent latest;
    private final int localDeferrals;
    private final int failedAttempts;
    private final int dnsFailures;
    private final Instant firstDeferredAt;
    private final Optional<Instant> nextAttemptAt;
    private final List<DeferralEvent> history;

    private DeferralRecord(Builder builder) {
        this.status = present(builder.status, "status");
        this.latest = present(builder.latest, "latest");
        this.localDeferrals = builder.localDeferrals;
        this.failedAttempts = builder.failedAttempts;
        this.dnsFailures = builder.dnsFailures;
        this.firstDeferredAt = present(builder.firstDeferredAt, "firstDeferredAt");
        this.nextAttemptAt = builder.nextAttemptAt;
        this.history = builder.history;
    }

    /** The record of a mail's first deferral. */
    public static DeferralRecord first(DeferralEvent event, Optional<Instant> nextAttemptAt) {
        return builder().firstDeferredAt(event.at()).counting(event, nextAttemptAt, List.of());
    }

    /**
     * This record after one more deferral: the event becomes the latest, and it counts as a local deferral when its
     * reason {@link DeferralReason#isLocal() is local}, as a failed attempt otherwise (and as a DNS failure too when
     * the reason is {@link DeferralReason#DNS_TEMPORARY_FAILURE}).
     */
    public DeferralRecord deferredAgain(DeferralEvent event, Optional<Instant> nextAttemptAt) {
        return toBuilder().counting(event, nextAttemptAt, history);
    }

    /** This record once the mail was delivered: counters, latest deferral and history are kept. */
    public DeferralRecord delivered(Instant at) {
        return toBuilder().status(Status.DELIVERED).latest(latest.at(at)).nextAttemptAt(Optional.empty()).build();
    }

    /**
     * This record once the mail bounced. The reason, destination and rule stay those of the last deferral (a bounce
     * is not a deferral and has no deferral reason); the message and the reply fields say why the mail bounced.
     * Counters and history are kept.
     *
     * @param message why the mail bounced, for operators
     * @param serverReply the server's reply that ended it, if a server reply did
     */
    public DeferralRecord bounced(Instant at, String message, Optional<SmtpReply> serverReply) {
        return toBuilder().status(Status.BOUNCED).latest(latest.retold(at, message, serverReply))
            .nextAttemptAt(Optional.empty()).build();
    }

    /** A builder for any record, for example one read back from storage. */
    public static Builder builder() {
        return new Builder();
    }

    public Status status() {
        return status;
    }

    /**
     * The latest deferral: reason, operator sentence, destination, rule and the server's reply (once bounced, why it
     * bounced); its time is {@link #updatedAt()}.
     */
    public DeferralEvent latest() {
        return latest;
    }

    /** The reason of the latest deferral. */
    public DeferralReason reason() {
        return latest.reason();
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

    /** The last change: the latest deferral, the delivery or the bounce. */
    public Instant updatedAt() {
        return latest.at();
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
        return status == that.status && latest.equals(that.latest) && localDeferrals == that.localDeferrals
            && failedAttempts == that.failedAttempts && dnsFailures == that.dnsFailures
            && firstDeferredAt.equals(that.firstDeferredAt) && nextAttemptAt.equals(that.nextAttemptAt)
            && history.equals(that.history);
    }

    @Override
    public int hashCode() {
        return Objects.hash(status, latest, localDeferrals, failedAttempts, dnsFailures, firstDeferredAt,
            nextAttemptAt, history);
    }

    @Override
    public String toString() {
        return status + " " + latest.reason() + " " + latest.destination() + " (rule " + latest.rule() + ", "
            + failedAttempts + " failed attempts, " + localDeferrals + " local deferrals): "
            + latest.reply().orElse(latest.message());
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
            .latest(latest)
            .localDeferrals(localDeferrals)
            .failedAttempts(failedAttempts)
            .dnsFailures(dnsFailures)
            .firstDeferredAt(firstDeferredAt)
            .nextAttemptAt(nextAttemptAt)
            .history(history);
    }

    /**
     * Builds a {@link DeferralRecord}. Required: status, latest and firstDeferredAt. Counters default to 0, the next
     * attempt to none, history to none.
     */
    public static final class Builder {
        private Status status;
        private DeferralEvent latest;
        private int localDeferrals;
        private int failedAttempts;
        private int dnsFailures;
        private Instant firstDeferredAt;
        private Optional<Instant> nextAttemptAt = Optional.empty();
        private List<DeferralEvent> history = List.of();

        private Builder() {
        }

        public Builder status(Status status) {
            this.status = Objects.requireNonNull(status, "status");
            return this;
        }

        public Builder latest(DeferralEvent latest) {
            this.latest = Objects.requireNonNull(latest, "latest");
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

        /** The deferrals, oldest first; only the newest {@value #MAX_HISTORY} are kept. */
        public Builder history(List<DeferralEvent> history) {
            List<DeferralEvent> copy = List.copyOf(history);
            this.history = List.copyOf(copy.subList(Math.max(0, copy.size() - MAX_HISTORY), copy.size()));
            return this;
        }

        public DeferralRecord build() {
            return new DeferralRecord(this);
        }

        /** One more deferral, after {@code earlier} ones: the latest event, counted, and its place in the history. */
        private DeferralRecord counting(DeferralEvent event, Optional<Instant> next, List<DeferralEvent> earlier) {
            boolean local = event.reason().isLocal();
            List<DeferralEvent> longer = new ArrayList<>(earlier.size() + 1);
            longer.addAll(earlier);
            longer.add(event);
            return status(Status.DEFERRED)
                .latest(event)
                .nextAttemptAt(next)
                .localDeferrals(localDeferrals + (local ? 1 : 0))
                .failedAttempts(failedAttempts + (local ? 0 : 1))
                .dnsFailures(dnsFailures + (event.reason() == DeferralReason.DNS_TEMPORARY_FAILURE ? 1 : 0))
                .history(longer)
                .build();
        }

        private static int notNegative(int value, String name) {
            if (value < 0) {
                throw new IllegalArgumentException(name + " must be 0 or more, was " + value);
            }
            return value;
        }
    }
}

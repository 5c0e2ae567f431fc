package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpTransaction;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The recipients of one mail that share a recipient domain, and what to send them: the unit the engine delivers. Its
 * {@link SmtpTransaction} is what every attempt sends (envelope, content, {@code sendpartial}, the DSN request of
 * these recipients, REQUIRETLS). {@code dnsProblemRetryAllowed} says whether a domain without any host is deferred
 * (true) or bounced (false), as RemoteDelivery's {@code maxDnsProblemRetries} decides; the mail's deferral record so
 * far says how long it has waited and how many retries it has spent. Immutable.
 */
public final class DeliveryPart {
    private final String id;
    private final String recipientDomain;
    private final SmtpTransaction transaction;
    private final boolean dnsProblemRetryAllowed;
    private final Optional<DeferralRecord> previous;

    /**
     * @param previous the mail's deferral record so far; empty for a mail never deferred
     */
    public DeliveryPart(String id, String recipientDomain, SmtpTransaction transaction,
                        boolean dnsProblemRetryAllowed, Optional<DeferralRecord> previous) {
        this.id = Objects.requireNonNull(id, "id");
        this.recipientDomain = Objects.requireNonNull(recipientDomain, "recipientDomain");
        this.transaction = Objects.requireNonNull(transaction, "transaction");
        this.dnsProblemRetryAllowed = dnsProblemRetryAllowed;
        this.previous = Objects.requireNonNull(previous, "previous");
    }

    /** A name for logs, typically the mail's name and the recipient domain. */
    public String id() {
        return id;
    }

    public String recipientDomain() {
        return recipientDomain;
    }

    /** What every attempt of this part sends. */
    public SmtpTransaction transaction() {
        return transaction;
    }

    /** The transaction's recipients, in order. */
    public List<String> recipients() {
        return transaction.recipients();
    }

    public boolean dnsProblemRetryAllowed() {
        return dnsProblemRetryAllowed;
    }

    /** The mail's deferral record before this delivery; empty when it was never deferred. */
    public Optional<DeferralRecord> previous() {
        return previous;
    }

    @Override
    public String toString() {
        return id;
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.DsnRequest;
import io.github.mxgovernor.smtp.MessageContent;

import java.util.List;
import java.util.Objects;

/**
 * The recipients of one mail that share a recipient domain, and what to send them: the unit the engine
 * delivers. {@code dnsProblemRetryAllowed} says whether a domain without any host is deferred (true) or
 * bounced (false), as RemoteDelivery's {@code maxDnsProblemRetries} decides. The DSN request holds the
 * sender's RET and ENVID and the NOTIFY and ORCPT of this part's recipients.
 */
public final class DeliveryPart {
    private final String id;
    private final String recipientDomain;
    private final String reversePath;
    private final List<String> recipients;
    private final MessageContent content;
    private final boolean partialDelivery;
    private final boolean dnsProblemRetryAllowed;
    private final DsnRequest dsn;
    private final boolean requireTls;

    /** A part without DSN parameters. */
    public DeliveryPart(String id, String recipientDomain, String reversePath, List<String> recipients,
                        MessageContent content, boolean partialDelivery, boolean dnsProblemRetryAllowed) {
        this(id, recipientDomain, reversePath, recipients, content, partialDelivery, dnsProblemRetryAllowed,
            DsnRequest.NONE);
    }

    /** A part without REQUIRETLS. */
    public DeliveryPart(String id, String recipientDomain, String reversePath, List<String> recipients,
                        MessageContent content, boolean partialDelivery, boolean dnsProblemRetryAllowed,
                        DsnRequest dsn) {
        this(id, recipientDomain, reversePath, recipients, content, partialDelivery, dnsProblemRetryAllowed, dsn,
            false);
    }

    /** @param requireTls whether the sender asked for REQUIRETLS (RFC 8689): verified TLS on every hop */
    public DeliveryPart(String id, String recipientDomain, String reversePath, List<String> recipients,
                        MessageContent content, boolean partialDelivery, boolean dnsProblemRetryAllowed,
                        DsnRequest dsn, boolean requireTls) {
        this.requireTls = requireTls;
        this.id = Objects.requireNonNull(id, "id");
        this.recipientDomain = Objects.requireNonNull(recipientDomain, "recipientDomain");
        this.reversePath = Objects.requireNonNull(reversePath, "reversePath");
        this.recipients = List.copyOf(recipients);
        if (this.recipients.isEmpty()) {
            throw new IllegalArgumentException("a delivery part needs at least one recipient");
        }
        this.content = Objects.requireNonNull(content, "content");
        this.partialDelivery = partialDelivery;
        this.dnsProblemRetryAllowed = dnsProblemRetryAllowed;
        this.dsn = Objects.requireNonNull(dsn, "dsn");
        for (String address : dsn.recipients().keySet()) {
            if (!this.recipients.contains(address)) {
                throw new IllegalArgumentException("DSN parameters for " + address
                    + ", which is not a recipient of the part " + this.recipients);
            }
        }
    }

    /** What the sender asked of delivery status notifications for this part's recipients. */
    public DsnRequest dsn() {
        return dsn;
    }

    /** Whether the sender asked for REQUIRETLS: the part goes only over verified TLS (or DANE). */
    public boolean requireTls() {
        return requireTls;
    }

    /** A name for logs, typically the mail's name and the recipient domain. */
    public String id() {
        return id;
    }

    public String recipientDomain() {
        return recipientDomain;
    }

    /** Envelope sender without angle brackets; empty for the null reverse-path. */
    public String reversePath() {
        return reversePath;
    }

    public List<String> recipients() {
        return recipients;
    }

    public MessageContent content() {
        return content;
    }

    public boolean partialDelivery() {
        return partialDelivery;
    }

    public boolean dnsProblemRetryAllowed() {
        return dnsProblemRetryAllowed;
    }
}

package io.github.mxgovernor.smtp;

import java.util.List;
import java.util.Objects;

/**
 * One mail transaction: envelope sender (empty string for the null reverse-path), recipients, content,
 * whether the content may go to the accepted recipients when others were refused (RemoteDelivery's
 * {@code sendpartial}), and the sender's DSN request. When partial delivery is off and any RCPT is refused,
 * the content is not sent and the session resets.
 */
public final class SmtpTransaction {
    private final String reversePath;
    private final List<String> recipients;
    private final MessageContent content;
    private final boolean partialDelivery;
    private final DsnRequest dsn;
    private final boolean requireTls;

    /** A transaction without DSN parameters. */
    public SmtpTransaction(String reversePath, List<String> recipients, MessageContent content,
                           boolean partialDelivery) {
        this(reversePath, recipients, content, partialDelivery, DsnRequest.NONE);
    }

    /**
     * @param dsn RET, ENVID, and NOTIFY and ORCPT for some of {@code recipients} (never for another address)
     */
    public SmtpTransaction(String reversePath, List<String> recipients, MessageContent content,
                           boolean partialDelivery, DsnRequest dsn) {
        this(reversePath, recipients, content, partialDelivery, dsn, false);
    }

    /**
     * @param requireTls whether the sender asked for REQUIRETLS (RFC 8689): {@code MAIL FROM} carries it, and a
     *     server that does not offer it (after STARTTLS) is not sent the mail
     */
    public SmtpTransaction(String reversePath, List<String> recipients, MessageContent content,
                           boolean partialDelivery, DsnRequest dsn, boolean requireTls) {
        this.requireTls = requireTls;
        this.reversePath = Objects.requireNonNull(reversePath, "reversePath");
        this.recipients = List.copyOf(recipients);
        if (this.recipients.isEmpty()) {
            throw new IllegalArgumentException("a transaction needs at least one recipient");
        }
        this.content = Objects.requireNonNull(content, "content");
        this.partialDelivery = partialDelivery;
        this.dsn = Objects.requireNonNull(dsn, "dsn");
        for (String address : dsn.recipients().keySet()) {
            if (!this.recipients.contains(address)) {
                throw new IllegalArgumentException("DSN parameters for " + address
                    + ", which is not a recipient of the transaction " + this.recipients);
            }
        }
    }

    /** Whether the sender asked for REQUIRETLS. */
    public boolean requireTls() {
        return requireTls;
    }

    /** The sender's DSN request, sent only to a server that offers DSN. */
    public DsnRequest dsn() {
        return dsn;
    }

    /** Whether the content goes to the accepted recipients even when some RCPT TO were refused. */
    public boolean partialDelivery() {
        return partialDelivery;
    }

    /** Address for MAIL FROM, without angle brackets; empty for the null reverse-path {@code <>}. */
    public String reversePath() {
        return reversePath;
    }

    /** Addresses for RCPT TO, without angle brackets, in the order they are sent. */
    public List<String> recipients() {
        return recipients;
    }

    public MessageContent content() {
        return content;
    }
}

package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A transaction made ready on a content thread, before anything is sent: its content scanned once into the
 * session's {@link ContentBuffer} (size, 8-bit bytes, and the bytes themselves when they fit), converted to 7 bits
 * when the server needs it, its MAIL FROM and RCPT TO commands written out; or the {@link LocalRefusal} that keeps
 * it from being sent at all. Reading the content may block, so this never runs on an event loop.
 */
final class PreparedTransaction {
    private final SmtpTransaction transaction;
    private final List<String> recipients;
    private final MessageContent content;
    private final String mailFrom;
    private final LocalRefusal refusal;

    private PreparedTransaction(SmtpTransaction transaction, List<String> recipients, MessageContent content,
                                String mailFrom, LocalRefusal refusal) {
        this.transaction = transaction;
        this.recipients = recipients;
        this.content = content;
        this.mailFrom = mailFrom;
        this.refusal = refusal;
    }

    /**
     * Checks the envelope for control characters (an {@link IllegalArgumentException}, nothing read or sent) and
     * returns the recipients without duplicates, in order. Cheap: callers may run it on any thread.
     */
    static List<String> distinctRecipients(SmtpTransaction transaction) {
        checkAddress("reverse-path", transaction.reversePath());
        List<String> recipients = transaction.recipients();
        for (String recipient : recipients) {
            checkAddress("recipient", recipient);
        }
        if (recipients.size() == 1) {
            return recipients;
        }
        Set<String> distinct = new LinkedHashSet<>(recipients);
        return distinct.size() == recipients.size() ? recipients : List.copyOf(distinct);
    }

    /**
     * Scans the content and decides what the server's extensions allow.
     *
     * @throws UncheckedIOException when the content cannot be read or converted
     */
    static PreparedTransaction prepare(SmtpTransaction transaction, List<String> recipients, SmtpEndpoint endpoint,
                                       EhloCapabilities server, boolean encrypted, ContentBuffer buffer) {
        boolean utf8Addresses = !isAscii(transaction.reversePath())
            || recipients.stream().anyMatch(recipient -> !isAscii(recipient));
        if (utf8Addresses && !server.offers(EhloCapabilities.SMTPUTF8)) {
            return refused(LocalRefusal.Reason.UTF8_ADDRESS_NOT_SUPPORTED, "an envelope address has non-ASCII"
                + " characters and " + endpoint.hostName() + " does not offer SMTPUTF8");
        }
        if (transaction.requireTls() && (!encrypted || !server.offers(EhloCapabilities.REQUIRETLS))) {
            return refused(LocalRefusal.Reason.REQUIRETLS_NOT_SUPPORTED, "the sender asked for REQUIRETLS and "
                + endpoint.hostName() + (encrypted ? " does not offer it" : " was reached without TLS"));
        }
        boolean eightBitMime = server.offers(EhloCapabilities.EIGHT_BIT_MIME);
        MessageContent content = transaction.content();
        scan(content, buffer, endpoint);
        if (buffer.hasEightBitBytes() && !eightBitMime) {
            Optional<MessageContent> sevenBit;
            try {
                sevenBit = content.sevenBitForm();
            } catch (IOException e) {
                throw new UncheckedIOException(endpoint + ": could not convert the message to 7-bit MIME", e);
            }
            if (sevenBit.isEmpty()) {
                return refused(LocalRefusal.Reason.EIGHT_BIT_NOT_SUPPORTED, "the message has 8-bit data and "
                    + endpoint.hostName() + " does not offer 8BITMIME");
            }
            content = sevenBit.get();
            scan(content, buffer, endpoint);
            if (buffer.hasEightBitBytes()) {
                return refused(LocalRefusal.Reason.EIGHT_BIT_NOT_SUPPORTED, "the message has 8-bit data that"
                    + " cannot be converted to 7-bit MIME (in its headers) and " + endpoint.hostName()
                    + " does not offer 8BITMIME");
            }
        }
        long sizeLimit = server.sizeLimit();
        if (sizeLimit > 0 && buffer.size() > sizeLimit) {
            return refused(LocalRefusal.Reason.MESSAGE_TOO_LARGE, "the message is " + buffer.size()
                + " bytes, more than the " + sizeLimit + " bytes " + endpoint.hostName() + " accepts (SIZE)");
        }
        String mailFrom = mailFromCommand(transaction, server, buffer, eightBitMime, utf8Addresses);
        return new PreparedTransaction(transaction, recipients, content, mailFrom, null);
    }

    private static PreparedTransaction refused(LocalRefusal.Reason reason, String message) {
        return new PreparedTransaction(null, null, null, null, new LocalRefusal(reason, message));
    }

    private static void scan(MessageContent content, ContentBuffer buffer, SmtpEndpoint endpoint) {
        buffer.startScan();
        try {
            content.writeTo(buffer);
            buffer.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(endpoint + ": could not read the message content", e);
        }
    }

    /** Why the transaction is not sent, when it is not. */
    Optional<LocalRefusal> refusal() {
        return Optional.ofNullable(refusal);
    }

    SmtpTransaction transaction() {
        return transaction;
    }

    /** The recipients, each once, in the order sent. */
    List<String> recipients() {
        return recipients;
    }

    /** The content to send: the transaction's, or its 7-bit form. */
    MessageContent content() {
        return content;
    }

    String mailFromCommand() {
        return mailFrom;
    }

    /** MAIL FROM with what the scanned content and the server's extensions call for. */
    private static String mailFromCommand(SmtpTransaction transaction, EhloCapabilities server, ContentBuffer buffer,
                                          boolean eightBitMime, boolean utf8Addresses) {
        StringBuilder command = new StringBuilder(60 + transaction.reversePath().length())
            .append("MAIL FROM:<").append(transaction.reversePath()).append('>');
        if (eightBitMime && buffer.hasEightBitBytes()) {
            command.append(" BODY=8BITMIME");
        }
        if (server.offers(EhloCapabilities.SIZE)) {
            command.append(" SIZE=").append(buffer.size());
        }
        if (utf8Addresses) {
            command.append(" SMTPUTF8");
        }
        if (transaction.requireTls()) {
            command.append(" REQUIRETLS");
        }
        if (server.offers(EhloCapabilities.DSN)) {
            DsnRequest request = transaction.dsn();
            request.ret().ifPresent(ret -> command.append(" RET=").append(ret));
            request.envelopeId().ifPresent(id -> command.append(" ENVID=").append(DsnRequest.xtext(id)));
        }
        return command.toString();
    }

    /** RCPT TO for one recipient, with its DSN parameters when the server offers DSN. */
    String rcptCommand(String recipient, EhloCapabilities server) {
        DsnRequest.Recipient parameters = server.offers(EhloCapabilities.DSN)
            ? transaction.dsn().recipients().get(recipient) : null;
        if (parameters == null) {
            return "RCPT TO:<" + recipient + ">";
        }
        StringBuilder command = new StringBuilder("RCPT TO:<").append(recipient).append('>');
        if (!parameters.notifyOn().isEmpty()) {
            command.append(" NOTIFY=");
            String separator = "";
            for (DsnRequest.Notify notify : parameters.notifyOn()) {
                command.append(separator).append(notify);
                separator = ",";
            }
        }
        parameters.originalRecipient().ifPresent(address -> command.append(" ORCPT=rfc822;")
            .append(DsnRequest.xtext(address)));
        return command.toString();
    }

    /** Whether the content goes out: MAIL FROM accepted, and every recipient or (with partial delivery) one. */
    boolean deliverable(SmtpReply mailReply, int accepted) {
        return mailReply.isPositiveCompletion() && accepted > 0
            && (transaction.partialDelivery() || accepted == recipients.size());
    }

    /** Whether the content may go out before the RCPT replies are known: no other recipient can be refused. */
    boolean contentMayGoBlind() {
        return transaction.partialDelivery() || recipients.size() == 1;
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static void checkAddress(String role, String address) {
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(role + " address contains a control character (0x"
                    + Integer.toHexString(c) + " at index " + i + "): " + address.replaceAll("\\p{Cntrl}", "?"));
            }
        }
    }
}

package io.github.mxgovernor.it;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A message a {@link FakeMxServer} accepted. */
public final class ReceivedMessage {
    private final String sender;
    private final List<String> recipients;
    private final byte[] content;
    private final int size;
    private final String messageId;
    private final int connectionNumber;
    private final Instant receivedAt;

    ReceivedMessage(String sender, List<String> recipients, byte[] content, int size, String messageId,
                    int connectionNumber, Instant receivedAt) {
        this.sender = sender;
        this.recipients = List.copyOf(recipients);
        this.content = content;
        this.size = size;
        this.messageId = messageId;
        this.connectionNumber = connectionNumber;
        this.receivedAt = receivedAt;
    }

    /** The envelope sender; "" for the null sender {@code <>}. */
    public String sender() {
        return sender;
    }

    /** The recipients the server accepted for this message, in RCPT order. */
    public List<String> recipients() {
        return recipients;
    }

    /** The content after dot-unstuffing, lines ending in CRLF; empty when the server does not retain content. */
    public byte[] content() {
        return content == null ? new byte[0] : content.clone();
    }

    /** The content size in bytes after dot-unstuffing, retained or not. */
    public int size() {
        return size;
    }

    /** The Message-ID header value (with its angle brackets), if the content has one. */
    public Optional<String> messageId() {
        return Optional.ofNullable(messageId);
    }

    /** The connection that carried the message (see {@link ClientCommand#connectionNumber()}). */
    public int connectionNumber() {
        return connectionNumber;
    }

    public Instant receivedAt() {
        return receivedAt;
    }

    @Override
    public String toString() {
        return "ReceivedMessage{sender=" + sender + ", recipients=" + recipients + ", size=" + size
            + ", messageId=" + messageId + ", connection=" + connectionNumber + '}';
    }
}

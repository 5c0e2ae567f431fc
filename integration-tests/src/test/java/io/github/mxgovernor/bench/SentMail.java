package io.github.mxgovernor.bench;

import java.time.Instant;

/** A mail James accepted: its Message-ID, its recipient and when James answered the end of its DATA. */
public final class SentMail {
    private final String messageId;
    private final String recipient;
    private final Instant acceptedAt;

    SentMail(String messageId, String recipient, Instant acceptedAt) {
        this.messageId = messageId;
        this.recipient = recipient;
        this.acceptedAt = acceptedAt;
    }

    public String messageId() {
        return messageId;
    }

    public String recipient() {
        return recipient;
    }

    public Instant acceptedAt() {
        return acceptedAt;
    }
}

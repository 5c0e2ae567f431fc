package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;

/**
 * The RFC 5322 message to transmit, as raw bytes. Line endings may be CRLF or bare LF; the session
 * normalises them and applies the transfer framing (dot-stuffing for DATA, chunk sizes for BDAT). Must be
 * writable more than once, giving the same bytes each time.
 */
public interface MessageContent {
    void writeTo(OutputStream out) throws IOException;

    /**
     * The same message as 7-bit MIME (8-bit parts re-encoded as quoted-printable or base64), for a server that
     * did not offer 8BITMIME. The session asks only when the content has 8-bit bytes and the server needs them
     * gone, so an implementation may convert lazily. Empty when the message cannot be converted: the session
     * then refuses the transaction locally ({@link LocalRefusal.Reason#EIGHT_BIT_NOT_SUPPORTED}).
     */
    default Optional<MessageContent> sevenBitForm() throws IOException {
        return Optional.empty();
    }
}

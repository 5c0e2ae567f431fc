package io.github.mxgovernor.james;

import io.github.mxgovernor.smtp.MessageContent;

import java.io.IOException;
import java.io.OutputStream;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

/**
 * A James mail's MIME message as SMTP content, streamed from James's own copy on every write. Writes are
 * serialised because the parts of one mail (one per recipient domain) may be sent at the same time.
 */
final class MimeMessageContent implements MessageContent {
    private final MimeMessage message;

    MimeMessageContent(MimeMessage message) {
        this.message = message;
    }

    @Override
    public void writeTo(OutputStream out) throws IOException {
        try {
            synchronized (message) {
                message.writeTo(out);
            }
        } catch (MessagingException e) {
            throw new IOException("Could not read the message to send: " + e.getMessage(), e);
        }
    }
}

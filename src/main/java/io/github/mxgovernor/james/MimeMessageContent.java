package io.github.mxgovernor.james;

import io.github.mxgovernor.smtp.MessageContent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;

import javax.activation.DataHandler;
import javax.mail.BodyPart;
import javax.mail.MessagingException;
import javax.mail.Multipart;
import javax.mail.internet.MimeMessage;
import javax.mail.internet.MimePart;
import javax.mail.util.ByteArrayDataSource;

/**
 * A James mail's MIME message as SMTP content, streamed from James's own copy on every write. Writes are
 * serialised because the parts of one mail (one per recipient domain) may be sent at the same time.
 *
 * <p>For a server without 8BITMIME, {@link #sevenBitForm()} converts a copy, as James's RemoteDelivery does:
 * each leaf part with 8-bit bytes that is not already base64 or quoted-printable is re-encoded, text as
 * quoted-printable and anything else as base64, from its exact bytes (no charset decoding, so nothing is lost),
 * and marked with an {@code X-MIME-Autoconverted} header. The Message-ID is kept. 8-bit bytes in headers cannot
 * be converted this way and are left, so the session refuses such a message. A DKIM signature over the body
 * does not survive the conversion, as with RemoteDelivery.
 */
final class MimeMessageContent implements MessageContent {
    static final String AUTOCONVERTED_HEADER = "X-MIME-Autoconverted";

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

    @Override
    public Optional<MessageContent> sevenBitForm() throws IOException {
        try {
            MimeMessage copy;
            synchronized (message) {
                copy = new KeepingMessageId(message);
            }
            convert(copy);
            copy.saveChanges();
            return Optional.of(new MimeMessageContent(copy));
        } catch (MessagingException e) {
            throw new IOException("Could not convert the message to 7-bit MIME: " + e.getMessage(), e);
        }
    }

    private static void convert(MimePart part) throws MessagingException, IOException {
        if (part.isMimeType("multipart/*")) {
            Multipart multipart = (Multipart) part.getContent();
            for (int i = 0; i < multipart.getCount(); i++) {
                BodyPart child = multipart.getBodyPart(i);
                if (child instanceof MimePart) {
                    convert((MimePart) child);
                }
            }
            return;
        }
        String encoding = part.getEncoding();
        if ("base64".equalsIgnoreCase(encoding) || "quoted-printable".equalsIgnoreCase(encoding)) {
            return;
        }
        byte[] bytes;
        try (InputStream in = part.getInputStream()) {
            bytes = in.readAllBytes();
        }
        if (!hasEightBitBytes(bytes)) {
            return;
        }
        String contentType = part.getContentType() == null ? "text/plain" : part.getContentType();
        String newEncoding = part.isMimeType("text/*") ? "quoted-printable" : "base64";
        part.setDataHandler(new DataHandler(new ByteArrayDataSource(bytes, contentType)));
        part.setHeader("Content-Type", contentType);
        part.setHeader("Content-Transfer-Encoding", newEncoding);
        part.addHeader(AUTOCONVERTED_HEADER, "from " + (encoding == null ? "7bit" : encoding.toLowerCase())
            + " to " + newEncoding + " by mx-governor");
    }

    private static boolean hasEightBitBytes(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }

    /** A parsed copy whose {@code saveChanges()} keeps the original Message-ID. */
    private static final class KeepingMessageId extends MimeMessage {
        KeepingMessageId(MimeMessage source) throws MessagingException {
            super(source);
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            if (getHeader("Message-ID") == null) {
                super.updateMessageID();
            }
        }
    }
}

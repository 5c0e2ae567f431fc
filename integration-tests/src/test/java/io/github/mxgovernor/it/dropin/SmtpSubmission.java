package io.github.mxgovernor.it.dropin;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import javax.mail.Session;
import javax.mail.internet.InternetAddress;

import com.sun.mail.smtp.SMTPMessage;
import com.sun.mail.smtp.SMTPTransport;

/** Mail sent to James's SMTP port on 127.0.0.1 as a client would, one mail per recipient over one connection. */
final class SmtpSubmission {
    private SmtpSubmission() {
    }

    /**
     * Sends one mail from {@code sender} to each recipient, each with a Message-ID of its own.
     *
     * @return their Message-IDs, in order
     */
    static List<String> send(int port, String sender, List<String> recipients) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("mail.smtp.localhost", "client.dropin.test");
        properties.setProperty("mail.smtp.connectiontimeout", "10000");
        properties.setProperty("mail.smtp.timeout", "30000");
        Session session = Session.getInstance(properties);
        String batch = UUID.randomUUID().toString();
        String senderDomain = sender.substring(sender.indexOf('@') + 1);
        List<String> messageIds = new ArrayList<>();
        SMTPTransport transport = (SMTPTransport) session.getTransport("smtp");
        transport.connect("127.0.0.1", port, null, null);
        try {
            for (String recipient : recipients) {
                String messageId = "<" + batch + "." + messageIds.size() + "@" + senderDomain + ">";
                String content = "From: <" + sender + ">\r\n"
                    + "To: <" + recipient + ">\r\n"
                    + "Subject: drop-in check " + messageIds.size() + "\r\n"
                    + "Message-ID: " + messageId + "\r\n"
                    + "MIME-Version: 1.0\r\n"
                    + "Content-Type: text/plain; charset=UTF-8\r\n"
                    + "\r\n"
                    + "Sent through James's SMTP port to a fake MX.\r\n";
                SMTPMessage message = new SMTPMessage(session,
                    new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
                message.setEnvelopeFrom(sender);
                transport.sendMessage(message, new InternetAddress[] {new InternetAddress(recipient, true)});
                messageIds.add(messageId);
            }
        } finally {
            transport.close();
        }
        return messageIds;
    }
}

package io.github.mxgovernor.bench;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import javax.mail.Address;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.InternetAddress;

import com.sun.mail.smtp.SMTPMessage;
import com.sun.mail.smtp.SMTPTransport;

/**
 * Submits mails to a James SMTP server on 127.0.0.1, one recipient each, with a Message-ID unique to the batch and a
 * body of about 1.5 KB (a typical notification). Each {@link SentMail} records when James accepted the mail.
 */
public final class MailInjector {
    private static final DateTimeFormatter DATE_FORMAT = DateTimeFormatter.RFC_1123_DATE_TIME.withLocale(Locale.ROOT);
    private static final String BODY = body();

    private final int smtpPort;
    private final String sender;
    private final String localDomain;
    private final Session session;

    public MailInjector(int smtpPort, String sender, String localDomain) {
        this.smtpPort = smtpPort;
        this.sender = sender;
        this.localDomain = localDomain;
        Properties properties = new Properties();
        properties.setProperty("mail.smtp.localhost", "submitter.test");
        properties.setProperty("mail.smtp.connectiontimeout", "10000");
        properties.setProperty("mail.smtp.timeout", "60000");
        this.session = Session.getInstance(properties);
    }

    /**
     * Sends {@code count} mails as fast as James takes them over {@code connections} SMTP connections in parallel;
     * mail {@code i} goes to {@code recipientOf.apply(i)} and carries {@code headers}.
     */
    public List<SentMail> burst(String batch, int count, IntFunction<String> recipientOf, Map<String, String> headers,
                                int connections) throws Exception {
        ExecutorService submitters = Executors.newFixedThreadPool(connections);
        try {
            List<Future<List<SentMail>>> parts = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                int first = c;
                parts.add(submitters.submit(() -> {
                    List<SentMail> sent = new ArrayList<>();
                    SMTPTransport transport = connect();
                    try {
                        for (int i = first; i < count; i += connections) {
                            sent.add(send(transport, batch, i, recipientOf.apply(i), headers));
                        }
                    } finally {
                        transport.close();
                    }
                    return sent;
                }));
            }
            List<SentMail> all = new ArrayList<>(count);
            for (Future<List<SentMail>> part : parts) {
                all.addAll(part.get());
            }
            return all;
        } finally {
            submitters.shutdownNow();
        }
    }

    /** Sends {@code count} mails over one connection, one every {@code 1 / perSecond} seconds. */
    public List<SentMail> paced(String batch, int count, IntFunction<String> recipientOf, double perSecond)
        throws Exception {
        List<SentMail> sent = new ArrayList<>(count);
        long intervalNanos = (long) (TimeUnit.SECONDS.toNanos(1) / perSecond);
        SMTPTransport transport = connect();
        try {
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                long wait = start + i * intervalNanos - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                sent.add(send(transport, batch, i, recipientOf.apply(i), Collections.emptyMap()));
            }
        } finally {
            transport.close();
        }
        return sent;
    }

    private SMTPTransport connect() throws MessagingException {
        SMTPTransport transport = (SMTPTransport) session.getTransport("smtp");
        transport.connect("127.0.0.1", smtpPort, null, null);
        return transport;
    }

    private SentMail send(SMTPTransport transport, String batch, int index, String recipient,
                          Map<String, String> headers) throws MessagingException {
        String messageId = "<" + batch + "." + index + "@" + localDomain + ">";
        StringBuilder text = new StringBuilder(2048)
            .append("From: <").append(sender).append(">\r\n")
            .append("To: <").append(recipient).append(">\r\n")
            .append("Subject: ").append(batch).append(" mail ").append(index).append("\r\n")
            .append("Date: ").append(DATE_FORMAT.format(ZonedDateTime.now())).append("\r\n")
            .append("Message-ID: ").append(messageId).append("\r\n");
        headers.forEach((name, value) -> text.append(name).append(": ").append(value).append("\r\n"));
        text.append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n").append(BODY);
        SMTPMessage message = new SMTPMessage(session,
            new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)));
        message.setEnvelopeFrom(sender);
        transport.sendMessage(message, new Address[] {new InternetAddress(recipient, true)});
        return new SentMail(messageId, recipient, Instant.now());
    }

    private static String body() {
        StringBuilder body = new StringBuilder();
        for (int line = 0; body.length() < 1500; line++) {
            body.append("Line ").append(line)
                .append(" of a benchmark mail: your order has shipped and will arrive soon.\r\n");
        }
        return body.toString();
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.MessageContent;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import javax.mail.Multipart;
import javax.mail.Session;
import javax.mail.internet.MimeBodyPart;
import javax.mail.internet.MimeMessage;

import org.junit.jupiter.api.Test;

class MimeMessageContentTest {
    private static final Session SESSION = Session.getInstance(new Properties());
    private static final String CAFE_UTF8 = "caf\u00c3\u00a9 cr\u00c3\u00a8me\r\n";

    @Test
    void sevenBitFormShouldReencodeAnEightBitTextBodyAsQuotedPrintableKeepingItsBytes() throws Exception {
        MimeMessage original = parse("Message-ID: <kept@example.org>\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + CAFE_UTF8);

        byte[] converted = write(new MimeMessageContent(original).sevenBitForm().orElseThrow());

        assertThat(hasEightBitBytes(converted)).isFalse();
        MimeMessage reparsed = parse(latin1(converted));
        assertThat(reparsed.getMessageID()).isEqualTo("<kept@example.org>");
        assertThat(reparsed.getEncoding()).isEqualTo("quoted-printable");
        assertThat(reparsed.getHeader(MimeMessageContent.AUTOCONVERTED_HEADER))
            .containsExactly("from 8bit to quoted-printable by mx-governor");
        assertThat(decoded(reparsed.getInputStream())).isEqualTo(latin1Bytes(CAFE_UTF8));
    }

    @Test
    void sevenBitFormShouldConvertOnlyTheEightBitPartsOfAMultipart() throws Exception {
        MimeMessage original = parse("Message-ID: <multi@example.org>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            + "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain part\r\n"
            + "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + CAFE_UTF8
            + "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            + "\u00ff\u00fe\u0001\r\n"
            + "--b--\r\n");

        byte[] converted = write(new MimeMessageContent(original).sevenBitForm().orElseThrow());

        assertThat(hasEightBitBytes(converted)).isFalse();
        Multipart parts = (Multipart) parse(latin1(converted)).getContent();
        MimeBodyPart plain = (MimeBodyPart) parts.getBodyPart(0);
        MimeBodyPart text = (MimeBodyPart) parts.getBodyPart(1);
        MimeBodyPart binary = (MimeBodyPart) parts.getBodyPart(2);
        assertThat(plain.getHeader(MimeMessageContent.AUTOCONVERTED_HEADER)).isNull();
        assertThat(decoded(plain.getInputStream())).isEqualTo(latin1Bytes("plain part"));
        assertThat(text.getEncoding()).isEqualTo("quoted-printable");
        // in a multipart, the line break before a boundary belongs to the boundary
        assertThat(decoded(text.getInputStream())).isEqualTo(latin1Bytes(CAFE_UTF8.strip()));
        assertThat(binary.getEncoding()).isEqualTo("base64");
        assertThat(decoded(binary.getInputStream())).isEqualTo(latin1Bytes("\u00ff\u00fe\u0001"));
    }

    @Test
    void sevenBitFormShouldLeaveTheOriginalMessageAsItWas() throws Exception {
        String raw = "Message-ID: <orig@example.org>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + CAFE_UTF8;
        MimeMessageContent content = new MimeMessageContent(parse(raw));

        content.sevenBitForm();

        assertThat(latin1(write(content))).contains(CAFE_UTF8);
    }

    @Test
    void eightBitHeadersShouldStayEightBitSoTheSessionRefusesTheMessage() throws Exception {
        MimeMessage original = parse("Message-ID: <h@example.org>\r\nSubject: caf\u00c3\u00a9\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n\r\nplain\r\n");

        byte[] converted = write(new MimeMessageContent(original).sevenBitForm().orElseThrow());

        assertThat(hasEightBitBytes(converted)).isTrue();
    }

    private static MimeMessage parse(String latin1) throws Exception {
        return new MimeMessage(SESSION, new ByteArrayInputStream(latin1Bytes(latin1)));
    }

    private static byte[] write(MessageContent content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        content.writeTo(out);
        return out.toByteArray();
    }

    private static byte[] decoded(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    private static boolean hasEightBitBytes(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }

    private static String latin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static byte[] latin1Bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}

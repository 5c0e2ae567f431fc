package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.ReplyDecoder.MalformedReplyException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ReplyDecoderTest {
    private final List<SmtpReply> replies = new ArrayList<>();
    private final List<Throwable> failures = new ArrayList<>();
    private final ReplyDecoder decoder = new ReplyDecoder();
    private final EmbeddedChannel channel = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            replies.add((SmtpReply) msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failures.add(cause);
        }
    });

    @Test
    void aMultiLineReplyArrivingByteByByteShouldBeReassembled() {
        for (byte b : ascii("250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")) {
            assertThat(replies).isEmpty();
            feed(new byte[] {b});
        }

        assertThat(replies).containsExactly(new SmtpReply(250, List.of("mx.test", "PIPELINING", "SIZE 1000")));
        assertThat(decoder.hasUnreadInput()).isFalse();
    }

    @Test
    void consecutiveRepliesInOneReadShouldEachBeHandedOn() {
        feed("250 ok\r\n550 5.1.1 no\r\n354 go\r\n");

        assertThat(replies).containsExactly(SmtpReply.of(250, "ok"), SmtpReply.of(550, "5.1.1 no"),
            SmtpReply.of(354, "go"));
        assertThat(replies.get(1).enhancedCode()).contains(new EnhancedStatusCode(5, 1, 1));
    }

    @Test
    void whileAReplyIsHandledTheRestOfTheReadShouldCountAsUnread() {
        List<Boolean> unreadAtEachReply = new ArrayList<>();
        ReplyDecoder watchedDecoder = new ReplyDecoder();
        EmbeddedChannel watched = new EmbeddedChannel(watchedDecoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                unreadAtEachReply.add(watchedDecoder.hasUnreadInput());
            }
        });

        watched.writeInbound(Unpooled.wrappedBuffer(ascii("220 ready\r\n250 injected\r\n")));
        watched.writeInbound(Unpooled.wrappedBuffer(ascii("220 ready\r\n250-par")));

        assertThat(unreadAtEachReply).containsExactly(true, false, true);
        assertThat(watchedDecoder.hasUnreadInput()).isTrue();
    }

    @Test
    void bareLineFeedsAndCodeOnlyLinesShouldBeAccepted() {
        feed("250-\n250\n");

        assertThat(replies.get(0).lines()).containsExactly("", "");
    }

    @Test
    void textShouldBeDecodedAsUtf8() {
        feed("550 bo\u00eete pleine\r\n".getBytes(StandardCharsets.UTF_8));

        assertThat(replies.get(0).text()).isEqualTo("bo\u00eete pleine");
    }

    @Test
    void aCodeChangeWithinOneReplyShouldBeMalformed() {
        assertMalformed("250-mx.test\r\n550 no\r\n", "reply code changed from 250 to 550 within one reply: \"550 no\"");
    }

    @Test
    void aBadSeparatorShouldBeMalformed() {
        assertMalformed("250_ok\r\n", "no space or hyphen after the reply code: \"250_ok\"");
    }

    @Test
    void aLineThatIsNoReplyShouldBeMalformed() {
        assertMalformed("HTTP/1.1 400 Bad Request\r\n", "not an SMTP reply line: \"HTTP/1.1 400 Bad Request\"");
    }

    @Test
    void aCodeOutsideTwoToFiveHundredsShouldBeMalformed() {
        assertMalformed("600 odd\r\n", "not an SMTP reply line: \"600 odd\"");
        assertThat(new ReplyDecoderTest().malformed("199 low\r\n")).hasMessage("not an SMTP reply line: \"199 low\"");
    }

    @Test
    void controlBytesShouldBeEscapedInTheMessage() {
        assertMalformed("\u0000\u00ff1\r\n", "not an SMTP reply line: \"\\x00\\xff1\"");
    }

    @Test
    void aLineAtTheLimitShouldBeAccepted() {
        String text = "x".repeat(ReplyDecoder.MAX_LINE_OCTETS - 6);

        feed("250 " + text + "\r\n");

        assertThat(replies).hasSize(1);
        assertThat(replies.get(0).text()).hasSize(ReplyDecoder.KEPT_LINE_CHARS + 3).endsWith("...");
    }

    @Test
    void aLineOverTheLimitShouldBeMalformedAsSoonAsItPassesTheLimitWithoutWaitingForItsEnd() {
        byte[] kibibyte = ascii("x".repeat(1024));
        List<ByteBuf> fed = new ArrayList<>();
        feed("250 ");
        // a 64 KiB line, given 1 KiB at a time: the decoder gives up after the limit and keeps nothing of it
        for (int i = 0; i < 64 && failures.isEmpty(); i++) {
            ByteBuf piece = Unpooled.wrappedBuffer(kibibyte);
            fed.add(piece);
            channel.writeInbound(piece);
        }

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).isInstanceOf(MalformedReplyException.class)
            .hasMessage("reply line longer than 2048 bytes");
        assertThat(fed).hasSize(ReplyDecoder.MAX_LINE_OCTETS / 1024).allSatisfy(piece ->
            assertThat(piece.refCnt()).as("every read released").isZero());
        assertThat(replies).isEmpty();
    }

    @Test
    void nothingShouldBeDecodedAfterAMalformedReply() {
        feed("hello?\r\n250 ok\r\n");
        feed("250 later\r\n");

        assertThat(failures).hasSize(1);
        assertThat(replies).isEmpty();
    }

    @Test
    void aReplyAtTheLineCountLimitShouldBeAccepted() {
        feed("250-x\r\n".repeat(ReplyDecoder.MAX_LINES - 1) + "250 x\r\n");

        assertThat(replies.get(0).lines()).hasSize(ReplyDecoder.MAX_LINES);
    }

    @Test
    void anEndlessMultiLineReplyShouldBeMalformedAtTheLineCountLimit() {
        for (int i = 0; i < 10 * ReplyDecoder.MAX_LINES && failures.isEmpty(); i++) {
            feed("220-still greeting\r\n");
        }

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).hasMessage("reply has more than 100 lines");
    }

    @Test
    void aReplyOverTheByteLimitShouldBeMalformed() {
        String line = "250-" + "y".repeat(1000) + "\r\n";

        feed(line.repeat(ReplyDecoder.MAX_REPLY_OCTETS / line.length() + 1));

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).hasMessage("reply longer than 16384 bytes");
    }

    @Test
    void aReplyShouldKeepABoundedTextWhateverItsSize() {
        String line = "550-5.7.1 " + "z".repeat(1500) + "\r\n";

        feed(line.repeat(9) + "550 5.7.1 end\r\n");

        SmtpReply reply = replies.get(0);
        assertThat(reply.text().length()).isLessThanOrEqualTo(ReplyDecoder.KEPT_REPLY_CHARS + 10);
        assertThat(reply.lines()).hasSizeLessThan(10).allSatisfy(kept ->
            assertThat(kept.length()).isLessThanOrEqualTo(ReplyDecoder.KEPT_LINE_CHARS + 3));
        assertThat(reply.enhancedCode()).contains(new EnhancedStatusCode(5, 7, 1));
    }

    @Test
    void anEhloReplyOfARealServerShouldBeKeptWhole() {
        StringBuilder ehlo = new StringBuilder("250-mx.example.net Hello client.test [192.0.2.1]\r\n");
        for (String extension : List.of("SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS",
            "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8", "AUTH LOGIN PLAIN XOAUTH2", "AUTH=LOGIN PLAIN",
            "REQUIRETLS", "DELIVERBY 300", "ETRN", "VRFY", "HELP", "PRDR", "X-EXPS GSSAPI NTLM", "XRDST",
            "X-ANONYMOUSTLS", "XEXCH50", "XSHADOWREQUEST", "XOORG", "XPROXYFROM", "XFASTTRACK")) {
            ehlo.append("250-").append(extension).append("\r\n");
        }
        feed(ehlo.append("250 XMSEXCHAUTH\r\n").toString());

        EhloCapabilities capabilities = EhloCapabilities.parse(replies.get(0).lines());
        assertThat(replies.get(0).lines()).hasSize(27);
        assertThat(capabilities.extensions()).hasSize(26).contains("CHUNKING", "SMTPUTF8", "XMSEXCHAUTH");
        assertThat(capabilities.sizeLimit()).isEqualTo(157_286_400L);
        assertThat(capabilities.offersAuth("XOAUTH2")).isTrue();
    }

    private void assertMalformed(String raw, String message) {
        assertThat(malformed(raw)).isInstanceOf(MalformedReplyException.class).hasMessage(message);
    }

    private Throwable malformed(String raw) {
        feed(raw.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(replies).isEmpty();
        assertThat(failures).hasSize(1);
        return failures.get(0);
    }

    private void feed(String text) {
        feed(ascii(text));
    }

    private void feed(byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}

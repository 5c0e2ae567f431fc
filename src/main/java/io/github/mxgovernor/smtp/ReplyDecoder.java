package io.github.mxgovernor.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes the bytes a server sends into {@link SmtpReply}s (RFC 5321 section 4.2), one message per complete reply,
 * however the bytes were split across reads. Lines end with CRLF (a bare LF is tolerated).
 *
 * <p>What a server can make the client hold is bounded. RFC 5321 section 4.5.3.1.5 sets a reply line at 512 octets
 * with its CRLF; real servers exceed that (long 5xx lines with policy URLs and tracking ids), so the decoder
 * tolerates four times as much: a line over {@link #MAX_LINE_OCTETS}, a reply of more than {@link #MAX_LINES} lines
 * or of more than {@link #MAX_REPLY_OCTETS} in all is a {@link MalformedReplyException}, raised as soon as the limit
 * is passed, without waiting for the line or the reply to end. The decoder copies what it reads into one line
 * buffer of {@link #MAX_LINE_OCTETS} and releases each read at once, so it never holds more than that line and the
 * text it keeps. What a reply keeps, and so what is logged, recorded and matched by response rules, is bounded too:
 * each line's text is cut to {@link #KEPT_LINE_CHARS} characters (marked by {@code ...}) and lines past
 * {@link #KEPT_REPLY_CHARS} characters in all are dropped.
 *
 * <p>After a malformed reply the decoder reads nothing more: the connection is to be closed.
 */
final class ReplyDecoder extends ChannelInboundHandlerAdapter {
    /** The longest reply line, CRLF included: four times RFC 5321's 512. */
    static final int MAX_LINE_OCTETS = 2048;
    /** The most lines in one reply: EHLO replies of real servers have 10 to 30. */
    static final int MAX_LINES = 100;
    /** The most octets in one reply, every line included. */
    static final int MAX_REPLY_OCTETS = 16 * 1024;
    /** How much of each line's text a reply keeps. */
    static final int KEPT_LINE_CHARS = 512;
    /** How much text a reply keeps in all, its lines together. */
    static final int KEPT_REPLY_CHARS = 4096;

    private static final int EXCERPT_CHARS = 80;
    private static final String CUT = "...";

    /** The server sent bytes that are not a well-formed SMTP reply, or a reply beyond the limits. */
    static final class MalformedReplyException extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedReplyException(String message) {
            super(message);
        }
    }

    private final byte[] line = new byte[MAX_LINE_OCTETS];
    private int lineLength;
    private int code;
    private List<String> lines = new ArrayList<>();
    private int lineCount;
    private int replyOctets;
    private int keptChars;
    private ByteBuf reading;
    private boolean failed;

    /**
     * Whether bytes the server sent are not yet part of a reply handed on: the rest of the read being decoded, or
     * the start of a line or reply. A reply handler asks while it handles a reply.
     */
    boolean hasUnreadInput() {
        return lineLength > 0 || code != 0 || (reading != null && reading.isReadable());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ByteBuf in = (ByteBuf) msg;
        reading = in;
        try {
            while (!failed && in.isReadable()) {
                SmtpReply reply = decode(in);
                if (reply != null) {
                    ctx.fireChannelRead(reply);
                }
            }
        } catch (MalformedReplyException e) {
            failed = true;
            ctx.fireExceptionCaught(e);
        } finally {
            reading = null;
            in.release();
        }
    }

    /** Takes bytes up to the end of a line, or all of them; returns the reply that line completed, if it did. */
    private SmtpReply decode(ByteBuf in) throws MalformedReplyException {
        int start = in.readerIndex();
        int lineFeed = in.indexOf(start, in.writerIndex(), (byte) '\n');
        int count = (lineFeed < 0 ? in.writerIndex() : lineFeed) - start;
        int octets = count + (lineFeed < 0 ? 0 : 1);
        if (lineLength + octets > MAX_LINE_OCTETS) {
            throw new MalformedReplyException("reply line longer than " + MAX_LINE_OCTETS + " bytes");
        }
        replyOctets += octets;
        if (replyOctets > MAX_REPLY_OCTETS) {
            throw new MalformedReplyException("reply longer than " + MAX_REPLY_OCTETS + " bytes");
        }
        in.readBytes(line, lineLength, count);
        lineLength += count;
        if (lineFeed < 0) {
            return null;
        }
        in.skipBytes(1);
        int length = lineLength > 0 && line[lineLength - 1] == '\r' ? lineLength - 1 : lineLength;
        lineLength = 0;
        return endLine(length);
    }

    private SmtpReply endLine(int length) throws MalformedReplyException {
        int lineCode = parseCode(length);
        if (code != 0 && lineCode != code) {
            throw new MalformedReplyException("reply code changed from " + code + " to " + lineCode
                + " within one reply: " + excerpt(length));
        }
        boolean last = length == 3 || line[3] == ' ';
        if (!last && line[3] != '-') {
            throw new MalformedReplyException("no space or hyphen after the reply code: " + excerpt(length));
        }
        code = lineCode;
        lineCount++;
        keep(length > 4 ? new String(line, 4, length - 4, StandardCharsets.UTF_8) : "");
        if (last) {
            SmtpReply reply = new SmtpReply(code, lines);
            code = 0;
            lines = new ArrayList<>();
            lineCount = 0;
            replyOctets = 0;
            keptChars = 0;
            return reply;
        }
        if (lineCount == MAX_LINES) {
            throw new MalformedReplyException("reply has more than " + MAX_LINES + " lines");
        }
        return null;
    }

    /** Keeps a line's text within the limits of what a reply keeps; the first line is always kept. */
    private void keep(String text) {
        String kept = text.length() > KEPT_LINE_CHARS ? text.substring(0, KEPT_LINE_CHARS) + CUT : text;
        if (!lines.isEmpty() && keptChars + kept.length() > KEPT_REPLY_CHARS) {
            return;
        }
        keptChars += kept.length();
        lines.add(kept);
    }

    private int parseCode(int length) throws MalformedReplyException {
        if (length < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2])) {
            throw new MalformedReplyException("not an SMTP reply line: " + excerpt(length));
        }
        return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** The start of the current line, control and non-ASCII bytes escaped, for error messages. */
    private String excerpt(int length) {
        StringBuilder text = new StringBuilder("\"");
        for (int i = 0; i < Math.min(length, EXCERPT_CHARS); i++) {
            int b = line[i] & 0xff;
            if (b >= 0x20 && b < 0x7f) {
                text.append((char) b);
            } else {
                text.append(String.format("\\x%02x", b));
            }
        }
        return text.append(length > EXCERPT_CHARS ? "...\"" : "\"").toString();
    }
}

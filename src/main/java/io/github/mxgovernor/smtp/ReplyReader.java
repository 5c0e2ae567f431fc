package io.github.mxgovernor.smtp;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads SMTP replies (RFC 5321 section 4.2) from a byte stream, one complete reply per call, however the bytes
 * were split across reads. Lines end with CRLF (a bare LF is tolerated). Failures are reported as
 * {@link EOFException} (peer closed), {@link SocketTimeoutException} (no complete reply before the deadline) and
 * {@link MalformedReplyException} (anything that is not a well-formed reply, or a reply beyond the size caps).
 */
final class ReplyReader {
    static final int MAX_LINE_BYTES = 8192;
    static final int MAX_LINES = 256;
    private static final int EXCERPT_CHARS = 80;

    /** Sets the blocking read timeout of the underlying socket, in milliseconds. */
    @FunctionalInterface
    interface ReadTimeout {
        void set(int millis) throws SocketException;
    }

    /** The peer sent bytes that are not a well-formed SMTP reply. */
    static final class MalformedReplyException extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedReplyException(String message) {
            super(message);
        }
    }

    private final InputStream in;
    private final ReadTimeout readTimeout;
    private final byte[] buffer = new byte[4096];
    private final byte[] line = new byte[MAX_LINE_BYTES];
    private int position;
    private int limit;

    ReplyReader(InputStream in, ReadTimeout readTimeout) {
        this.in = in;
        this.readTimeout = readTimeout;
    }

    /**
     * Reads one complete reply; the whole reply, not each read, must arrive within {@code timeoutMillis}.
     */
    SmtpReply read(int timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        int code = 0;
        List<String> lines = null;
        while (true) {
            int length = readLine(deadline, timeoutMillis);
            int lineCode = parseCode(length);
            if (code != 0 && lineCode != code) {
                throw new MalformedReplyException("reply code changed from " + code + " to " + lineCode
                    + " within one reply: " + excerpt(length));
            }
            code = lineCode;
            boolean last = length == 3 || line[3] == ' ';
            if (!last && line[3] != '-') {
                throw new MalformedReplyException("no space or hyphen after the reply code: " + excerpt(length));
            }
            String text = length > 4 ? new String(line, 4, length - 4, StandardCharsets.UTF_8) : "";
            if (last && lines == null) {
                return new SmtpReply(code, List.of(text));
            }
            if (lines == null) {
                lines = new ArrayList<>();
            }
            lines.add(text);
            if (last) {
                return new SmtpReply(code, lines);
            }
            if (lines.size() == MAX_LINES) {
                throw new MalformedReplyException("reply has more than " + MAX_LINES + " lines");
            }
        }
    }

    /** Whether bytes the peer sent after the last reply are waiting unread. */
    boolean hasUnreadBytes() {
        return position < limit;
    }

    private int readLine(long deadline, int timeoutMillis) throws IOException {
        int length = 0;
        while (true) {
            if (position == limit) {
                fill(deadline, timeoutMillis);
            }
            int end = position;
            while (end < limit && buffer[end] != '\n') {
                end++;
            }
            int chunk = end - position;
            if (length + chunk > MAX_LINE_BYTES) {
                throw new MalformedReplyException("reply line longer than " + MAX_LINE_BYTES + " bytes");
            }
            System.arraycopy(buffer, position, line, length, chunk);
            length += chunk;
            if (end < limit) {
                position = end + 1;
                return length > 0 && line[length - 1] == '\r' ? length - 1 : length;
            }
            position = limit;
        }
    }

    private void fill(long deadline, int timeoutMillis) throws IOException {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw new SocketTimeoutException("no complete reply within " + timeoutMillis + " ms");
        }
        readTimeout.set((int) Math.max(1, (remaining + 999_999) / 1_000_000));
        int count;
        try {
            count = in.read(buffer, 0, buffer.length);
        } catch (SocketTimeoutException e) {
            throw new SocketTimeoutException("no complete reply within " + timeoutMillis + " ms");
        }
        if (count < 0) {
            throw new EOFException("connection closed by the server");
        }
        position = 0;
        limit = count;
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

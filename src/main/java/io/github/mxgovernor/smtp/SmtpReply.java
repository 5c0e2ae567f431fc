package io.github.mxgovernor.smtp;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One complete SMTP reply as the server sent it: the three-digit code, the enhanced status code when the server gave
 * one (parsed from the first line, kept even when its class disagrees with the reply code: what that means is the
 * reply classifier's to decide), and the text of every line without the code prefix.
 */
public final class SmtpReply {
    private final int code;
    private final Optional<EnhancedStatusCode> enhancedCode;
    private final List<String> lines;

    public SmtpReply(int code, List<String> lines) {
        if (code < 200 || code > 599) {
            throw new IllegalArgumentException("SMTP reply code must be 200..599, was " + code);
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("an SMTP reply has at least one line");
        }
        this.code = code;
        this.lines = List.copyOf(lines);
        this.enhancedCode = EnhancedStatusCode.parseLeading(this.lines.get(0));
    }

    public static SmtpReply of(int code, String text) {
        return new SmtpReply(code, List.of(text));
    }

    public int code() {
        return code;
    }

    /** The RFC 3463 code at the start of the first line, whatever its class. */
    public Optional<EnhancedStatusCode> enhancedCode() {
        return enhancedCode;
    }

    /** The text of each line, without the reply code and separator. */
    public List<String> lines() {
        return lines;
    }

    /** All lines joined by a space, as operators read a reply in a log. */
    public String text() {
        return String.join(" ", lines);
    }

    public boolean isPositiveCompletion() {
        return code / 100 == 2;
    }

    public boolean isPositiveIntermediate() {
        return code / 100 == 3;
    }

    public boolean isTransientFailure() {
        return code / 100 == 4;
    }

    public boolean isPermanentFailure() {
        return code / 100 == 5;
    }

    /** 421: the server is closing the transmission channel. */
    public boolean isServiceClosing() {
        return code == SmtpCodes.SERVICE_CLOSING;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SmtpReply)) {
            return false;
        }
        SmtpReply that = (SmtpReply) o;
        return code == that.code && lines.equals(that.lines);
    }

    @Override
    public int hashCode() {
        return Objects.hash(code, lines);
    }

    /** The reply as the server sent it, lines joined by a space: {@code 421 4.7.0 Try again later}. */
    @Override
    public String toString() {
        return code + " " + text();
    }
}

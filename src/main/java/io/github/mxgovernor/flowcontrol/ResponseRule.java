package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A {@code <response>} rule: a regular expression searched for in a server's reply, written as
 * {@code code text} with the lines joined by a space (so {@code 421 4.7.28 [1.2.3.4] Our system has detected an
 * unusual rate…}), case-insensitively. When {@link #threshold()} replies of one destination match within
 * {@link #window()} the {@link #reaction()} fires; a threshold of 1 fires at once. Only non-2xx replies are
 * looked at, and never a text our own mailet made up. A rule that {@linkplain #defersMail() defers mail} also makes a
 * permanent (5xx) reply it matches defer the mail that got it rather than bounce it: some providers throttle with a
 * 5xx (QQ's {@code 550 Ip frequency limited}). Immutable.
 */
public final class ResponseRule {
    static final int THRESHOLD_BOUND = 10_000;
    static final int MAX_PATTERN_LENGTH = 1000;

    private final Pattern pattern;
    private final int threshold;
    private final Optional<Duration> window;
    private final Reaction reaction;
    private final String source;
    private final boolean defersMail;

    /**
     * @param match     the regular expression (Java syntax), at most 1000 characters
     * @param threshold how many matches within {@code window} fire the rule, 1..10000; 1 fires at once
     * @param window    required when the threshold is above 1 (1s..1d), absent when it is 1
     * @param source    where the rule was written, such as {@code mx-rules.xml:40}
     * @throws IllegalArgumentException naming the value that is wrong
     */
    public ResponseRule(String match, int threshold, Optional<Duration> window, Reaction reaction, String source) {
        this(match, threshold, window, reaction, source, false);
    }

    /**
     * A rule as {@link #ResponseRule(String, int, Optional, Reaction, String)}, which also defers (never bounces) the
     * mail that got a permanent reply it matches when {@code defersMail}.
     */
    public ResponseRule(String match, int threshold, Optional<Duration> window, Reaction reaction, String source,
                        boolean defersMail) {
        this.pattern = compile(match);
        if (threshold < 1 || threshold > THRESHOLD_BOUND) {
            throw new IllegalArgumentException("threshold must be from 1 to " + THRESHOLD_BOUND + ", was " + threshold);
        }
        Objects.requireNonNull(window, "window");
        if (threshold > 1 && window.isEmpty()) {
            throw new IllegalArgumentException("window is required when the threshold is above 1: it says within"
                + " how long " + threshold + " matching replies fire the rule");
        }
        if (threshold == 1 && window.isPresent()) {
            throw new IllegalArgumentException("window has no meaning with threshold 1 (the rule fires at once);"
                + " remove it or raise the threshold");
        }
        window.ifPresent(value -> {
            if (value.compareTo(ErrorRateTrigger.MIN_WINDOW) < 0 || value.compareTo(ErrorRateTrigger.MAX_WINDOW) > 0) {
                throw new IllegalArgumentException("window " + ErrorRateTrigger.WINDOW_REQUIREMENT + ", was " + value);
            }
        });
        this.threshold = threshold;
        this.window = window;
        this.reaction = Objects.requireNonNull(reaction, "reaction");
        this.source = Objects.requireNonNull(source, "source");
        this.defersMail = defersMail;
    }

    private static Pattern compile(String match) {
        Objects.requireNonNull(match, "match");
        if (match.isBlank()) {
            throw new IllegalArgumentException("match must be a regular expression, was empty");
        }
        if (match.length() > MAX_PATTERN_LENGTH) {
            throw new IllegalArgumentException("match must be at most " + MAX_PATTERN_LENGTH + " characters, was "
                + match.length());
        }
        try {
            return Pattern.compile(match, Pattern.CASE_INSENSITIVE);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("match is not a valid regular expression: " + e.getDescription()
                + (e.getIndex() >= 0 ? " at index " + e.getIndex() : "") + " in '" + match + "'");
        }
    }

    /** The expression as written. */
    public String match() {
        return pattern.pattern();
    }

    public int threshold() {
        return threshold;
    }

    public Optional<Duration> window() {
        return window;
    }

    public Reaction reaction() {
        return reaction;
    }

    /** Where the rule was written, such as {@code mx-rules.xml:40}, or {@code built-in}. */
    public String source() {
        return source;
    }

    /** Whether a permanent reply this rule matches defers the mail that got it instead of bouncing it. */
    public boolean defersMail() {
        return defersMail;
    }

    /** Whether the reply matches; {@code replyText} is the reply as {@link SmtpReply#toString()} writes it. */
    boolean matches(String replyText) {
        return pattern.matcher(replyText).find();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ResponseRule)) {
            return false;
        }
        ResponseRule that = (ResponseRule) o;
        return pattern.pattern().equals(that.pattern.pattern()) && threshold == that.threshold
            && window.equals(that.window) && reaction.equals(that.reaction) && source.equals(that.source)
            && defersMail == that.defersMail;
    }

    @Override
    public int hashCode() {
        return Objects.hash(pattern.pattern(), threshold, window, reaction, source, defersMail);
    }

    @Override
    public String toString() {
        return "response{'" + pattern.pattern() + "' (" + source + "), " + (threshold == 1 ? "immediate"
            : threshold + " within " + window.orElseThrow()) + ": " + reaction + (defersMail ? ", defers the mail" : "")
            + "}";
    }
}

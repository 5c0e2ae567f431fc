package io.github.mxgovernor.deferral;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One deferral of a mail: when, why, against which destination under which rule, with the operator's sentence and the
 * server's reply when there was one. A {@link DeferralRecord} holds its latest one and a short history of them.
 * Immutable; built with {@link #builder(Instant, DeferralReason)}, which checks every field.
 */
public final class DeferralEvent {
    /** Longest {@link #message()} and {@link #reply()} kept, in characters; longer texts are cut. */
    public static final int MAX_TEXT_LENGTH = 1000;

    private static final Pattern ENHANCED_CODE = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");

    private final Instant at;
    private final DeferralReason reason;
    private final String message;
    private final String destination;
    private final String rule;
    private final Optional<Integer> smtpCode;
    private final Optional<String> enhancedCode;
    private final Optional<String> reply;

    private DeferralEvent(Builder builder) {
        this(builder.at, builder.reason, builder.message.orElse(builder.reason.message()),
            checkedText(builder.destination, "destination"), checkedText(builder.rule, "rule"), builder.smtpCode,
            builder.enhancedCode, builder.reply);
    }

    private DeferralEvent(Instant at, DeferralReason reason, String message, String destination, String rule,
                          Optional<Integer> smtpCode, Optional<String> enhancedCode, Optional<String> reply) {
        this.at = at;
        this.reason = reason;
        this.message = message;
        this.destination = destination;
        this.rule = rule;
        this.smtpCode = smtpCode;
        this.enhancedCode = enhancedCode;
        this.reply = reply;
    }

    /** Starts an event that happened at {@code at} for {@code reason}. */
    public static Builder builder(Instant at, DeferralReason reason) {
        return new Builder(at, reason);
    }

    public Instant at() {
        return at;
    }

    public DeferralReason reason() {
        return reason;
    }

    /** The operator-facing sentence; {@link DeferralReason#message()} unless the builder was given another. */
    public String message() {
        return message;
    }

    /** What the limits were counted against: an MX host, a shared destination, or the recipient domain. */
    public String destination() {
        return destination;
    }

    /** Name of the MX rule that applied (the default rule's name when no other matched). */
    public String rule() {
        return rule;
    }

    /** The server's three-digit reply code, when a server reply is behind this deferral. */
    public Optional<Integer> smtpCode() {
        return smtpCode;
    }

    /** The RFC 3463 enhanced status code of the server's reply, for example {@code 4.7.28}, when it gave one. */
    public Optional<String> enhancedCode() {
        return enhancedCode;
    }

    /** The server's reply as it was sent, lines joined by a space, at most {@link #MAX_TEXT_LENGTH} characters. */
    public Optional<String> reply() {
        return reply;
    }

    /** This event, as of {@code when}: a record's latest change that is not a deferral (a delivery) keeps its fields. */
    public DeferralEvent at(Instant when) {
        return new DeferralEvent(when, reason, message, destination, rule, smtpCode, enhancedCode, reply);
    }

    /**
     * This event retold at {@code when} with another message and the server's reply behind it, if any: how a record
     * says why its mail bounced, keeping the reason, destination and rule of its last deferral.
     */
    public DeferralEvent retold(Instant when, String newMessage, Optional<SmtpReply> serverReply) {
        return new DeferralEvent(when, reason, checkedMessage(newMessage), destination, rule,
            serverReply.map(SmtpReply::code), serverReply.flatMap(SmtpReply::enhancedCode).map(Object::toString),
            checkedReply(serverReply.map(SmtpReply::toString)));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DeferralEvent)) {
            return false;
        }
        DeferralEvent that = (DeferralEvent) o;
        return at.equals(that.at) && reason == that.reason && message.equals(that.message)
            && destination.equals(that.destination) && rule.equals(that.rule) && smtpCode.equals(that.smtpCode)
            && enhancedCode.equals(that.enhancedCode) && reply.equals(that.reply);
    }

    @Override
    public int hashCode() {
        return Objects.hash(at, reason, message, destination, rule, smtpCode, enhancedCode, reply);
    }

    @Override
    public String toString() {
        return at + " " + reason + " " + destination + " (rule " + rule + "): " + reply.orElse(message);
    }

    private static String checkedText(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }

    private static String checkedMessage(String value) {
        return capped(checkedText(value, "message"));
    }

    private static Optional<Integer> checkedSmtpCode(Optional<Integer> code) {
        code.ifPresent(value -> {
            if (value < 200 || value > 599) {
                throw new IllegalArgumentException("smtpCode must be 200..599, was " + value);
            }
        });
        return code;
    }

    private static Optional<String> checkedEnhancedCode(Optional<String> code) {
        code.ifPresent(value -> {
            if (!ENHANCED_CODE.matcher(value).matches()) {
                throw new IllegalArgumentException("enhancedCode must look like 4.7.28, was '" + value + "'");
            }
        });
        return code;
    }

    private static Optional<String> checkedReply(Optional<String> reply) {
        return reply.map(text -> capped(checkedText(text, "reply")));
    }

    private static String capped(String text) {
        if (text.length() <= MAX_TEXT_LENGTH) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(MAX_TEXT_LENGTH - 1)) ? MAX_TEXT_LENGTH - 1 : MAX_TEXT_LENGTH;
        return text.substring(0, end);
    }

    /** Builds a {@link DeferralEvent}; {@code destination} and {@code rule} are required. */
    public static final class Builder {
        private final Instant at;
        private final DeferralReason reason;
        private Optional<String> message = Optional.empty();
        private String destination;
        private String rule;
        private Optional<Integer> smtpCode = Optional.empty();
        private Optional<String> enhancedCode = Optional.empty();
        private Optional<String> reply = Optional.empty();

        private Builder(Instant at, DeferralReason reason) {
            this.at = Objects.requireNonNull(at, "at");
            this.reason = Objects.requireNonNull(reason, "reason");
        }

        public Builder message(String message) {
            this.message = Optional.of(checkedMessage(message));
            return this;
        }

        public Builder destination(String destination) {
            this.destination = checkedText(destination, "destination");
            return this;
        }

        public Builder rule(String rule) {
            this.rule = checkedText(rule, "rule");
            return this;
        }

        /** Records the server's reply: its code, its enhanced code when it has one, and its full text. */
        public Builder serverReply(SmtpReply serverReply) {
            return smtpCode(Optional.of(serverReply.code()))
                .enhancedCode(serverReply.enhancedCode().map(Object::toString))
                .reply(Optional.of(serverReply.toString()));
        }

        public Builder smtpCode(Optional<Integer> smtpCode) {
            this.smtpCode = checkedSmtpCode(Objects.requireNonNull(smtpCode, "smtpCode"));
            return this;
        }

        public Builder enhancedCode(Optional<String> enhancedCode) {
            this.enhancedCode = checkedEnhancedCode(Objects.requireNonNull(enhancedCode, "enhancedCode"));
            return this;
        }

        public Builder reply(Optional<String> reply) {
            this.reply = checkedReply(Objects.requireNonNull(reply, "reply"));
            return this;
        }

        public DeferralEvent build() {
            return new DeferralEvent(this);
        }
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Instant;
import java.util.Objects;

/** A reply a destination's server gave, and when it was seen. Immutable. */
public final class ObservedReply {
    private final SmtpReply reply;
    private final Instant at;

    public ObservedReply(SmtpReply reply, Instant at) {
        this.reply = Objects.requireNonNull(reply, "reply");
        this.at = Objects.requireNonNull(at, "at");
    }

    public SmtpReply reply() {
        return reply;
    }

    public Instant at() {
        return at;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ObservedReply)) {
            return false;
        }
        ObservedReply that = (ObservedReply) o;
        return reply.equals(that.reply) && at.equals(that.at);
    }

    @Override
    public int hashCode() {
        return Objects.hash(reply, at);
    }

    /** {@code 421 4.7.0 Try again later (at 2026-03-01T10:00:00Z)}. */
    @Override
    public String toString() {
        return reply + " (at " + at + ")";
    }
}

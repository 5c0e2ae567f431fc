package io.github.mxgovernor.james.jmx;

import java.time.Instant;
import java.util.Objects;

/**
 * Mails waiting in one waiting place for one destination and one reason: one row of
 * {@link GovernorMXBean#getWaitingMails()}, which a JMX client sees as a {@code CompositeData} whose items are named
 * after the getters ({@code destination}, {@code reason}, {@code mails}, {@code nextRelease}, {@code repository}).
 */
public final class WaitingRow {
    private final String destination;
    private final String reason;
    private final long mails;
    private final String nextRelease;
    private final String repository;

    public WaitingRow(String destination, String reason, long mails, Instant nextRelease, String repository) {
        this.destination = Objects.requireNonNull(destination, "destination");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.mails = mails;
        this.nextRelease = nextRelease.toString();
        this.repository = Objects.requireNonNull(repository, "repository");
    }

    /** The destination the mails wait for, as {@code destinations()} names it. */
    public String getDestination() {
        return destination;
    }

    /** Their deferral reason ({@code SUSPENDED}, {@code SMTP_TEMPORARY_FAILURE}, ...). */
    public String getReason() {
        return reason;
    }

    public long getMails() {
        return mails;
    }

    /** When the first of them goes back on the queue (ISO-8601, UTC; in the past while it is being put back). */
    public String getNextRelease() {
        return nextRelease;
    }

    /** The mail repository they wait in. */
    public String getRepository() {
        return repository;
    }

    @Override
    public String toString() {
        return destination + " " + reason + ": " + mails + " in " + repository + ", next at " + nextRelease;
    }
}

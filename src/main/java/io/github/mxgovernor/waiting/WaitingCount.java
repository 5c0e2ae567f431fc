package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;

import java.time.Instant;
import java.util.Objects;

/** How many mails wait for one destination for one reason, and when the first of them goes. Immutable. */
public final class WaitingCount {
    private final String destination;
    private final DeferralReason reason;
    private final long mails;
    private final Instant nextRelease;

    public WaitingCount(String destination, DeferralReason reason, long mails, Instant nextRelease) {
        this.destination = Objects.requireNonNull(destination, "destination");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.mails = mails;
        this.nextRelease = Objects.requireNonNull(nextRelease, "nextRelease");
    }

    public String destination() {
        return destination;
    }

    public DeferralReason reason() {
        return reason;
    }

    public long mails() {
        return mails;
    }

    /** When the first of these mails goes back on the queue (in the past while it is being released). */
    public Instant nextRelease() {
        return nextRelease;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof WaitingCount)) {
            return false;
        }
        WaitingCount that = (WaitingCount) o;
        return destination.equals(that.destination) && reason == that.reason && mails == that.mails
            && nextRelease.equals(that.nextRelease);
    }

    @Override
    public int hashCode() {
        return Objects.hash(destination, reason, mails, nextRelease);
    }

    @Override
    public String toString() {
        return destination + " " + reason + ": " + mails + " (next at " + nextRelease + ")";
    }
}

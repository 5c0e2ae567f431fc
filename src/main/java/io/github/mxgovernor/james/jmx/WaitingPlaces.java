package io.github.mxgovernor.james.jmx;

import java.util.List;
import java.util.Optional;

/** The waiting places of the governed mailets of this JVM, as the Governor bean shows and releases them. */
public interface WaitingPlaces {
    /** Waiting mails by destination and reason, one row per waiting place. */
    List<WaitingRow> waitingRows();

    /** Mails waiting, every place. */
    long waiting();

    /** Destinations with waiting mail, every place. */
    List<String> destinations();

    /**
     * Puts the mails of one destination (every reason), or every mail, back on their queues now, in due order and at
     * each place's release pace.
     *
     * @return how many mails go earlier than they would have
     */
    int releaseNow(Optional<String> destination);
}

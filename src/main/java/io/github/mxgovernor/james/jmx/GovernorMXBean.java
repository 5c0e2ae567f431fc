package io.github.mxgovernor.james.jmx;

import java.util.List;

/**
 * The operators' view of the JVM-wide governor and their controls, registered as
 * {@code io.github.mxgovernor:type=Governor} while a governed mailet runs. Open types only: jconsole and any JMX
 * client read it without mx-governor's classes. Its counters ({@link CountersMXBean}) are since the governor started,
 * every destination's added up (forgotten ones too) with what happened before any destination.
 *
 * <p>Operations take a destination's name as {@code destinations()} and the Destination beans show it
 * ({@code mx1.example.com}, {@code shared:google}, {@code rule/host}). A bad argument (an unknown destination,
 * minutes out of range, a blank reason) fails with an {@link IllegalArgumentException} that says what is wrong,
 * and changes nothing.
 */
public interface GovernorMXBean extends CountersMXBean {
    /** SMTP connections open now, idle ones kept for reuse included, over every destination. */
    int getActiveConnections();

    /** Destinations the governor tracks now (it forgets those idle for an hour). */
    int getDestinationsTracked();

    /**
     * The cluster store: {@code NONE} (no {@code store} parameter: this node counts alone), {@code UP}, or {@code DOWN}
     * (unreachable or refusing: this node runs on its share, 1/{@code storeNodes} of each cluster-wide quota and
     * rate).
     */
    String getStoreState();

    /** Since when the store is in its state (ISO-8601, UTC); empty without a store. */
    String getStoreSince();

    /** The store's last error, as logged; empty when none. */
    String getStoreLastError();

    /** When that error happened (ISO-8601, UTC); empty when none. */
    String getStoreLastErrorAt();

    /** The store's address, credentials left out; empty without a store. */
    String getStoreAddress();

    /** This node's name in the store ({@code storeNodeName}); empty without a store. */
    String getStoreNode();

    /** Commands sent to the store since the governor started. */
    long getStoreCommands();

    /** Store calls that failed (refused, timed out, unreachable) since the governor started. */
    long getStoreFailures();

    /** The MX rules files in force, comma-separated; {@code built-in} when no mailet names one. */
    String getRulesFile();

    /** When the rules in force were read (ISO-8601, UTC). */
    String getRulesLoadedAt();

    /**
     * How each governed mailet takes mail from its queue: one row per mailet with the queue's name, the state
     * (RUNNING; RECOVERING while it waits to subscribe again after its dequeue stream failed or ended; STOPPING,
     * STOPPED), since when, the stream's failures so far, the last one and when, and the mails in flight. Clients see
     * an array of {@code CompositeData}.
     */
    List<DequeueRow> getDequeueStates();

    /** Failures of the dequeue streams since the mailets started, over every governed mailet. */
    long getDequeueErrors();

    /**
     * Suspends a destination: no attempt until the time is up, mail to it deferred with reason SUSPENDED until then.
     *
     * @param minutes from 1 to 10080 (a week)
     * @param reason  why; shown in the destination's state and in the deferral records of held mail
     * @return the destination's flow-control status after
     */
    String suspend(String destination, long minutes, String reason);

    /** Puts a destination in BACKOFF (its rule's reduced limits) for that long; arguments as for suspend. */
    String backoff(String destination, long minutes, String reason);

    /** Returns a destination to NORMAL at once, whatever put it in its state; its error counts are kept. */
    String resume(String destination);

    /** Returns a destination to NORMAL and clears its error and reply counts and its adaptive connection limit. */
    String resetFlowControl(String destination);

    /** Lifts an automatic backoff or suspension; one an operator set stays. */
    String cancelAutomaticFlowControl(String destination);

    /**
     * Re-reads the MX rules files. Each is validated first: if one is invalid, the error (file, line, rule, field)
     * is thrown and the rules in force stay untouched. Otherwise new mail is routed by the new rules and
     * destinations take their new limits: at once when in NORMAL flow control, when their backoff or suspension ends
     * otherwise.
     *
     * @return what was reloaded
     */
    String reloadRules();

    /**
     * Mails waiting in the waiting places of the governed mailets (James mail repositories) to go back on the queue,
     * every destination and reason.
     */
    long getWaiting();

    /**
     * Waiting mails by destination and reason: one row per destination, reason and waiting place, with the number of
     * mails and when the first of them goes back on the queue. Clients see an array of {@code CompositeData}.
     */
    List<WaitingRow> getWaitingMails();

    /**
     * Puts the mails waiting for a destination (every reason: suspension, backoff, a server's 4xx, quotas) back on the
     * queue now, in due-time order and at the waiting place's pace ({@code waitingReleaseRate}). Flow control still
     * applies when they are tried: resume the destination first if it is suspended.
     *
     * @param destination a name as {@link #getWaitingMails()} shows it; refused when no mail waits for it
     * @return how many mails go back
     */
    String releaseWaiting(String destination);

    /** Puts every waiting mail back on the queue now, in due-time order and at each waiting place's pace. */
    String releaseAllWaiting();

    /**
     * Every destination tracked, one row each, by name: rule, flow-control state (until when, why), connections,
     * messages in the last hour, counts and last reply. Clients see an array of {@code CompositeData}.
     */
    List<DestinationRow> destinations();
}

package io.github.mxgovernor.james.jmx;

import java.util.Map;

/**
 * The counters a Destination bean and the Governor bean share, one meaning each (see
 * {@link io.github.mxgovernor.governor.DestinationStats}): on a Destination bean, what happened at that destination;
 * on the Governor bean, every destination's added up, forgotten ones included, with what happened before any
 * destination (a failed MX lookup). James's metrics {@code mxgovernor.delivered}, {@code mxgovernor.deferred},
 * {@code mxgovernor.deferred.<REASON>} and {@code mxgovernor.bounced} count the same ends as the Governor bean.
 */
public interface CountersMXBean {
    /** Recipients a server accepted. */
    long getDelivered();

    /** Recipients deferred (put back on the queue to wait), for every reason; a recipient counts at each deferral. */
    long getDeferred();

    /**
     * Recipients deferred, by deferral reason ({@code SUSPENDED}, {@code CONNECTION_QUOTA_REACHED},
     * {@code SMTP_TEMPORARY_FAILURE}, ...), every reason listed; a 421 counts under the reason its recipients were
     * given.
     */
    Map<String, Long> getDeferredByReason();

    /** Recipients bounced: refused for good, or out of retries or time. */
    long getBounced();

    /**
     * Failed attempts (not recipients): sessions to an MX host that failed (connection, greeting, TLS policy,
     * timeout), transactions in which the server delivered none of the recipients and deferred some (a 4xx, a 421,
     * a 5xx that a {@code deferMail} response rule holds), and, on the Governor bean, MX lookups that failed. An attempt that fails on one MX host counts there, even when
     * the next one delivers.
     */
    long getFailed();

    /**
     * Failed attempts by cause, the deferral reason they gave their recipients: {@code SMTP_TEMPORARY_FAILURE},
     * {@code CONNECTION_FAILED}, {@code DNS_TEMPORARY_FAILURE} (Governor bean only), {@code TLS_POLICY_FAILURE}.
     */
    Map<String, Long> getFailedByCause();
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.tls.SessionSecurity;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What limits are counted against: one MX host under the rule that matched it, or every MX host of a rule
 * whose limits are shared ({@code scope="shared"}). Holds the live counters; the limits come from the rule.
 * Thread-safe.
 */
public final class Destination {
    private final String name;
    private final MxRule rule;
    private final ConnectionQuota connections = new ConnectionQuota();
    private final MessageRate rate;
    private final FlowControl flowControl;
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong plaintextSessions = new AtomicLong();
    private final AtomicLong encryptedSessions = new AtomicLong();
    private final AtomicLong verifiedSessions = new AtomicLong();
    private final AtomicLong tlsPolicyFailures = new AtomicLong();

    Destination(String name, MxRule rule, MessageRate rate, FlowControl flowControl) {
        this.name = name;
        this.rule = rule;
        this.rate = rate;
        this.flowControl = flowControl;
    }

    /**
     * The destination's name: the MX host name for per-host limits ({@code rule/host} when the rule also
     * matches on the recipient domain, so two rules on one host stay apart), {@code shared:rule} for
     * shared limits.
     */
    static String nameFor(MxRule rule, String mxHost) {
        if (rule.limitScope() == LimitScope.SHARED) {
            return "shared:" + rule.name();
        }
        String host = mxHost.toLowerCase(Locale.ROOT);
        return rule.recipientDomainMask().isPresent() ? rule.name() + "/" + host : host;
    }

    public String name() {
        return name;
    }

    public MxRule rule() {
        return rule;
    }

    public ConnectionQuota connections() {
        return connections;
    }

    /** The rule's own message rate; take tokens through {@link #budget()}, which flow control may redirect. */
    public MessageRate rate() {
        return rate;
    }

    public FlowControl flowControl() {
        return flowControl;
    }

    /** The budget messages take their token from now: the rule's rate, or a backoff's lower one. */
    public MessageBudget budget() {
        return flowControl.budget(rate);
    }

    /** Whether another connection may be opened now, under the cap flow control sets. */
    public boolean tryOpenConnection() {
        return connections.tryAcquire(flowControl.maxConnections());
    }

    /** Whether more connections are open than flow control allows now (after a backoff began). */
    public boolean overConnectionLimit() {
        return connections.inUse() > flowControl.maxConnections();
    }

    /** How many mails a connection may carry now. */
    public int maxMessagesPerConnection() {
        return flowControl.maxMessagesPerConnection();
    }

    /** What flow control has in effect for this destination, and why. */
    public FlowControlStatus flowControlStatus() {
        return flowControl.status(rule.name());
    }

    public void connectionClosed() {
        connections.release();
    }

    public void recordDelivered(int recipients) {
        delivered.addAndGet(recipients);
    }

    public void recordDeferred(int recipients) {
        deferred.addAndGet(recipients);
    }

    public void recordFailed(int recipients) {
        failed.addAndGet(recipients);
    }

    /** Counts a session opened to this destination, by how well it is protected. */
    public void recordSession(SessionSecurity.Protection protection) {
        switch (protection) {
            case PLAINTEXT:
                plaintextSessions.incrementAndGet();
                break;
            case ENCRYPTED:
                encryptedSessions.incrementAndGet();
                break;
            default:
                verifiedSessions.incrementAndGet();
                break;
        }
    }

    /** Counts an attempt that ended because a TLS policy could not be met. */
    public void recordTlsPolicyFailure() {
        tlsPolicyFailures.incrementAndGet();
    }

    /** Sessions opened in plaintext (TLS disabled, not offered under an opportunistic policy, or a fallback). */
    public long plaintextSessionCount() {
        return plaintextSessions.get();
    }

    /** Sessions encrypted without checking the certificate. */
    public long encryptedSessionCount() {
        return encryptedSessions.get();
    }

    /** Sessions encrypted with a verified certificate (PKIX and host name, or DANE). */
    public long verifiedSessionCount() {
        return verifiedSessions.get();
    }

    /** Attempts that ended in {@code TLS_POLICY_FAILURE}. */
    public long tlsPolicyFailureCount() {
        return tlsPolicyFailures.get();
    }

    public long deliveredCount() {
        return delivered.get();
    }

    public long deferredCount() {
        return deferred.get();
    }

    public long failedCount() {
        return failed.get();
    }

    @Override
    public String toString() {
        return name + " (rule " + rule.name() + ", " + connections.inUse() + "/" + flowControl.maxConnections()
            + " connections, " + flowControl.state().kind() + ")";
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What limits are counted against: one MX host under the rule that matched it, or every MX host of a rule
 * whose limits are shared ({@code scope="shared"}). Holds the live counters; the limits come from the rule.
 * Thread-safe.
 *
 * <p>The rule, its message rate and its flow control are read together from one reference, which a rules reload
 * replaces ({@link Governor#applyRules}); the connection quota and the counters stay, so connections already open
 * keep counting against the new cap.
 */
public final class Destination {
    /** {@link #lastActivityMillis} of a destination the governor forgot: it must not be used again. */
    private static final long RETIRED = Long.MIN_VALUE;
    /** Activity is noted at most this often, so that busy destinations are not written on every mail. */
    private static final long ACTIVITY_GRANULARITY_MILLIS = 1000;
    private static final VarHandle LAST_ACTIVITY;

    static {
        try {
            LAST_ACTIVITY = MethodHandles.lookup().findVarHandle(Destination.class, "lastActivityMillis", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Clock clock;
    private final ConnectionLimit connections;
    /** Whether the limits are counted across the cluster store: decided once, when the destination is made. */
    private final boolean clusterWide;
    private final HourlyCount tokensTaken;
    private final DestinationStats stats;
    private volatile Binding binding;
    /** The rules version whose rule this destination took (see {@link Governor#destination}). */
    private volatile long rulesVersion;
    /** Read and written through {@link #LAST_ACTIVITY}. */
    private volatile long lastActivityMillis;
    private volatile ObservedReply lastReply;
    /** Stops hearing other nodes' flow states for this destination; nothing for a node's own destination. */
    private volatile Runnable unwatch = () -> { };

    Destination(String name, MxRule rule, MessageBudget rate, FlowControl flowControl, HourlyCount tokensTaken,
                long rulesVersion, Clock clock, DestinationStats totals) {
        this(name, rule, rate, flowControl, tokensTaken, rulesVersion, clock, totals, new ConnectionQuota(), false);
    }

    Destination(String name, MxRule rule, MessageBudget rate, FlowControl flowControl, HourlyCount tokensTaken,
                long rulesVersion, Clock clock, DestinationStats totals, ConnectionLimit connections,
                boolean clusterWide) {
        this.name = name;
        this.connections = connections;
        this.clusterWide = clusterWide;
        this.stats = DestinationStats.of(totals);
        this.clock = clock;
        this.tokensTaken = tokensTaken;
        this.binding = new Binding(rule, rate, flowControl);
        this.rulesVersion = rulesVersion;
        this.lastActivityMillis = clock.millis();
    }

    /**
     * The destination's name: the MX host name for per-host limits ({@code rule/host} when the rule also
     * matches on the recipient domain, so two rules on one host stay apart), {@code shared:rule} for
     * shared limits.
     */
    static String nameFor(MxRule rule, String mxHost) {
        if (rule.limitScope() == LimitScope.SHARED) {
            return sharedName(rule.name());
        }
        String host = mxHost.toLowerCase(Locale.ROOT);
        return rule.recipientDomainMask().isPresent() ? rule.name() + "/" + host : host;
    }

    /** The name of the destination a rule of shared limits counts against. */
    static String sharedName(String ruleName) {
        return "shared:" + ruleName;
    }

    public String name() {
        return name;
    }

    public MxRule rule() {
        return binding.rule;
    }

    /** The connections open to this destination: on this node, and across the cluster when its cap is shared. */
    public ConnectionCount connections() {
        return connections;
    }

    /**
     * Whether this destination's cap, rate and flow control are shared with the other nodes through the cluster
     * store (a store is configured and the rule's {@code clusterScope} was {@code cluster} when the destination was
     * made); a reload that changes the scope applies once the destination is forgotten and made again.
     */
    public boolean isClusterWide() {
        return clusterWide;
    }

    /** The rule's own message rate; take tokens through {@link #budget()}, which flow control may redirect. */
    MessageBudget rate() {
        return binding.rate;
    }

    public FlowControl flowControl() {
        return binding.flowControl;
    }

    /** The budget messages take their token from now: the rule's rate, or a backoff's lower one. */
    public MessageBudget budget() {
        Binding current = binding;
        return current.flowControl.budget(current.rate);
    }

    /**
     * A connection under the cap flow control sets now, or null. Give it back with {@link #connectionClosed}.
     *
     * @param wake run once, on any thread, when asking again may succeed other than after one of this node's
     *             connections to the destination closed (a cluster-wide cap: a lease granted later, or a retry after
     *             the cluster was full); it must only hand work to an executor. Null when the caller asks again by
     *             itself.
     */
    public ConnectionPermit tryOpenConnection(Runnable wake) {
        return connections.tryAcquire(binding.flowControl.maxConnections(), wake);
    }

    /** {@link #tryOpenConnection(Runnable)} for a caller that asks again by itself. */
    public ConnectionPermit tryOpenConnection() {
        return tryOpenConnection(null);
    }

    /**
     * Connections this node may have open now: flow control's cap, lowered to this node's share of a cluster-wide
     * cap while the cluster store is unreachable.
     */
    public int connectionsAllowedNow() {
        return connections.allowedNow(binding.flowControl.maxConnections());
    }

    /**
     * Whether more connections are open than allowed now (after a backoff began, a cap was lowered, or the cluster
     * store went away and this node holds more than its share).
     */
    public boolean overConnectionLimit() {
        return connections.inUse() > connectionsAllowedNow();
    }

    /** How many mails a connection may carry now. */
    public int maxMessagesPerConnection() {
        return binding.flowControl.maxMessagesPerConnection();
    }

    /** What flow control has in effect for this destination, and why. */
    public FlowControlStatus flowControlStatus() {
        Binding current = binding;
        return current.flowControl.status(current.rule.name());
    }

    /** Gives back a connection {@link #tryOpenConnection} granted (it closed, or never opened), once. */
    public void connectionClosed(ConnectionPermit permit) {
        permit.release();
        touch(clock.millis());
    }

    /**
     * Asks the cluster store for the number of connections open to this destination on every node, in the
     * background; {@link ConnectionCount#clusterInUse()} says it once known. Nothing for a cap counted on this node.
     */
    public void refreshClusterCount() {
        if (connections instanceof SharedConnectionLimit) {
            ((SharedConnectionLimit) connections).refreshClusterCount();
        }
    }

    /**
     * What one attempt against this destination meant, fed to its flow control (the attempt's signal, and each
     * response rule its replies matched) and its statistics (a failed attempt by cause, the last reply). The recipients'
     * ends are counted by whoever decides them, on {@link #stats()}.
     *
     * @return true when a {@code reconnect} response rule fired: the connection that carried the attempt must close
     */
    public boolean record(AttemptResult result) {
        FlowControl flowControl = binding.flowControl;
        boolean reconnect = false;
        for (Map.Entry<SmtpReply, ResponseRule> match : result.ruleMatches().entrySet()) {
            reconnect |= flowControl.observe(match.getValue(), match.getKey());
        }
        flowControl.recordAttempt(result.signal());
        result.failure().ifPresent(stats::recordFailedAttempt);
        result.lastReply().ifPresent(reply -> lastReply = new ObservedReply(reply, clock.instant()));
        return reconnect;
    }

    /** This destination's counters (see {@link DestinationStats} for what each means); they count in the governor's. */
    public DestinationStats stats() {
        return stats;
    }

    /** Messages that took a token within about the last hour (between the last 50 and 60 minutes). */
    public long messagesLastHour() {
        return tokensTaken.total(clock.millis());
    }

    /** The last reply the destination's servers gave an attempt, and when. */
    public Optional<ObservedReply> lastReply() {
        return Optional.ofNullable(lastReply);
    }

    /** When mail was last routed to this destination or one of its connections closed. */
    public Instant lastActivity() {
        long last = (long) LAST_ACTIVITY.getVolatile(this);
        return Instant.ofEpochMilli(last == RETIRED ? 0 : last);
    }

    /** Notes activity at {@code nowMillis}; false when the governor forgot this destination and it must not be used. */
    boolean touch(long nowMillis) {
        while (true) {
            long last = (long) LAST_ACTIVITY.getVolatile(this);
            if (last == RETIRED) {
                return false;
            }
            if (nowMillis - last < ACTIVITY_GRANULARITY_MILLIS
                || LAST_ACTIVITY.compareAndSet(this, last, nowMillis)) {
                return true;
            }
        }
    }

    /**
     * Marks this destination as forgotten if it has had no activity since {@code cutoffMillis}, has no open
     * connection and is in NORMAL flow-control state. Once retired, {@link #touch} fails and the governor makes a
     * new destination of the same name.
     */
    boolean retireIfIdleSince(long cutoffMillis) {
        long last = (long) LAST_ACTIVITY.getVolatile(this);
        if (last == RETIRED || last >= cutoffMillis || connections.inUse() > 0
            || binding.flowControl.state().kind() != FlowState.Kind.NORMAL) {
            return false;
        }
        return LAST_ACTIVITY.compareAndSet(this, last, RETIRED);
    }

    /** Notes how to stop hearing other nodes' flow states, once the governor forgets this destination. */
    void watching(Runnable unwatch) {
        this.unwatch = unwatch;
    }

    void stopWatching() {
        unwatch.run();
    }

    HourlyCount tokensTaken() {
        return tokensTaken;
    }

    long rulesVersion() {
        return rulesVersion;
    }

    /** Takes a new rule with its own rate and flow control; the quota and the counters carry on. */
    synchronized void adopt(MxRule rule, MessageBudget rate, FlowControl flowControl) {
        binding = new Binding(rule, rate, flowControl);
    }

    /** Takes a rule whose limits and policies equal the current one's (it moved in the file, say). */
    synchronized void refer(MxRule rule) {
        Binding current = binding;
        binding = new Binding(rule, current.rate, current.flowControl);
    }

    /** Records that the rule of this rules version has been considered, so that it is not considered again. */
    synchronized void claim(long version) {
        if (version > rulesVersion) {
            rulesVersion = version;
        }
    }

    @Override
    public String toString() {
        Binding current = binding;
        return name + " (rule " + current.rule.name() + ", " + connections.inUse() + "/"
            + current.flowControl.maxConnections() + " connections, " + current.flowControl.state().kind() + ")";
    }

    /** The rule in force and what was built from it. */
    private static final class Binding {
        final MxRule rule;
        final MessageBudget rate;
        final FlowControl flowControl;

        Binding(MxRule rule, MessageBudget rate, FlowControl flowControl) {
            this.rule = rule;
            this.rate = rate;
            this.flowControl = flowControl;
        }
    }
}

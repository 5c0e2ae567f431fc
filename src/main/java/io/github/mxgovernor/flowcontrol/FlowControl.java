package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.cluster.SharedFlowState;
import io.github.mxgovernor.smtp.SmtpReply;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;
import java.util.function.LongFunction;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flow-control state machine of one destination: {@link FlowState.Kind#NORMAL NORMAL},
 * {@link FlowState.Kind#BACKOFF BACKOFF} and {@link FlowState.Kind#SUSPENDED SUSPENDED}.
 *
 * <p>The state is one {@link AtomicReference}; a change of state is a compare-and-set from the state it was
 * computed from to its successor, checked against the table of allowed transitions ({@link Transition}), and
 * listeners hear of it only after it took effect. Time comes from the injected {@link Clock}: a state whose time is
 * up gives way to the next one the first time anyone looks at it.
 *
 * <p>The delivery path asks {@link #maxConnections()}, {@link #maxMessagesPerConnection()} and
 * {@link #budget(MessageBudget)}, and reports each attempt with {@link #recordAttempt(FlowSignal)} and each response
 * rule a server reply of it matched with {@link #observe(ResponseRule, SmtpReply)} (the reply classifier matches the
 * rules, once per reply). In NORMAL state none of these allocates. Thread-safe and lock-free.
 *
 * <p>Across a cluster ({@link FlowSharing}): the triggers count every node's attempts, each state this machine enters
 * (by a trigger, probes, an operator, or the half-open end of a suspension) is published, and a state the cluster
 * store holds is taken as it is by {@link #adopt} (a {@link Transition#REMOTE REMOTE} change, never published back).
 * A state's end by time is not published: every node ends it by its own clock.
 */
public final class FlowControl {
    private static final Logger LOGGER = LoggerFactory.getLogger(FlowControl.class);
    /** A suspension's end is spread over this share of its duration. */
    static final double JITTER_SHARE = 0.1;

    /** Why a state changes; each kind of change may only go where {@link #isAllowed} says. */
    enum Transition {
        /** An error rate or a response rule fired. */
        TRIGGER,
        /** The state's time was up. */
        EXPIRY,
        /** Enough successful deliveries in a row during a backoff. */
        PROBES,
        /** An operator's command. */
        OPERATOR,
        /** Another node's state, as the cluster store holds it. */
        REMOTE
    }

    private final String destination;
    private final FlowControlPolicy policy;
    private final DeliveryLimits normal;
    private final Clock clock;
    private final LongFunction<MessageBudget> budgets;
    private final FlowControlListener listener;
    private final DoubleSupplier random;
    private final FlowSharing sharing;
    private final AtomicReference<FlowState> state;
    private final AttemptCounts errorWindow;
    private final AdaptiveLimit adaptive;
    private final ResponseCounts responseCounts;

    /**
     * @param destination the destination's name, for events and status
     * @param policy      the rule's flow-control policy
     * @param normal      the rule's own limits
     * @param budgets     makes a budget of N messages per hour for a backoff that lowers the rate
     * @param random      a source of numbers in [0, 1) for jitter
     */
    FlowControl(String destination, FlowControlPolicy policy, DeliveryLimits normal, Clock clock,
                LongFunction<MessageBudget> budgets, FlowControlListener listener, DoubleSupplier random) {
        this(destination, policy, normal, clock, budgets, listener, random, FlowSharing.LOCAL);
    }

    /** @param sharing what is counted and published across the cluster; {@link FlowSharing#LOCAL} for nothing */
    FlowControl(String destination, FlowControlPolicy policy, DeliveryLimits normal, Clock clock,
                LongFunction<MessageBudget> budgets, FlowControlListener listener, DoubleSupplier random,
                FlowSharing sharing) {
        this.sharing = Objects.requireNonNull(sharing, "sharing");
        this.destination = Objects.requireNonNull(destination, "destination");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.normal = Objects.requireNonNull(normal, "normal");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.budgets = Objects.requireNonNull(budgets, "budgets");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.random = Objects.requireNonNull(random, "random");
        this.state = new AtomicReference<>(new NormalState(clock.millis(),
            FlowCause.of(FlowCause.Kind.INITIAL, "normal since first use"), FlowState.Origin.AUTOMATIC));
        this.errorWindow = policy.errorRate().map(trigger -> sharing.counts("errors", trigger.window())).orElse(null);
        this.responseCounts = new ResponseCounts(policy.responseRuleArray(), sharing);
        this.adaptive = policy.adaptive().enabled()
            ? new AdaptiveLimit(normal.maxConnections(), policy.adaptive().decrease()) : null;
    }

    /**
     * The flow control of a destination whose rule allows {@code maxConnections}, {@code maxMessagesPerConnection}
     * and {@code messagesPerHour} (empty: unlimited); see the constructor for the rest.
     *
     * @throws IllegalArgumentException if a limit is below 1
     */
    public static FlowControl of(String destination, FlowControlPolicy policy, int maxConnections,
                                 int maxMessagesPerConnection, OptionalLong messagesPerHour, Clock clock,
                                 LongFunction<MessageBudget> budgets, FlowControlListener listener,
                                 DoubleSupplier random) {
        return of(destination, policy, maxConnections, maxMessagesPerConnection, messagesPerHour, clock, budgets,
            listener, random, FlowSharing.LOCAL);
    }

    /** As {@link #of(String, FlowControlPolicy, int, int, OptionalLong, Clock, LongFunction, FlowControlListener,
     * DoubleSupplier)}, counting and publishing through {@code sharing}. */
    public static FlowControl of(String destination, FlowControlPolicy policy, int maxConnections,
                                 int maxMessagesPerConnection, OptionalLong messagesPerHour, Clock clock,
                                 LongFunction<MessageBudget> budgets, FlowControlListener listener,
                                 DoubleSupplier random, FlowSharing sharing) {
        return new FlowControl(destination, policy, new DeliveryLimits(maxConnections, maxMessagesPerConnection,
            messagesPerHour), clock, budgets, listener, random, sharing);
    }

    public String destination() {
        return destination;
    }

    public FlowControlPolicy policy() {
        return policy;
    }

    /** The state in force now; a backoff or suspension whose time is up gives way to its successor first. */
    public FlowState state() {
        FlowState current = state.get();
        if (current.endMillis == FlowState.OPEN_ENDED) {
            return current;
        }
        return expireIfDue(current);
    }

    /** Connections the destination may have open now: the state's limit, lowered by adaptive concurrency. */
    public int maxConnections() {
        int limit = state().maxConnections(normal);
        return adaptive == null ? limit : Math.min(limit, adaptive.connections());
    }

    /** Mails one connection may carry now; 0 while suspended. */
    public int maxMessagesPerConnection() {
        return state().maxMessagesPerConnection(normal);
    }

    /** The budget to take message tokens from now, given the destination's normal one. */
    public MessageBudget budget(MessageBudget normalBudget) {
        return state().budget(normalBudget);
    }

    /**
     * Counts one attempt: toward the error-rate trigger, toward recovery probes during a backoff, and for
     * adaptive concurrency. Does not allocate unless the state changes.
     */
    public void recordAttempt(FlowSignal signal) {
        if (errorWindow != null) {
            long now = clock.millis();
            errorWindow.add(now, signal.isFailure());
            long totals = errorWindow.totals(now);
            ErrorRateTrigger trigger = policy.errorRate().get();
            if (trigger.firesAt(SlidingCounts.events(totals), SlidingCounts.failures(totals))) {
                errorWindow.clear();
                trip(trigger.reaction(), errorRateCause(trigger, totals));
            }
        }
        FlowState current = state.get();
        if (current instanceof BackoffState && ((BackoffState) current).probe(signal)) {
            transition(current, new NormalState(clock.millis(), FlowCause.of(FlowCause.Kind.PROBES,
                ((BackoffState) current).probesNeeded + " successful deliveries in a row"), FlowState.Origin.AUTOMATIC),
                Transition.PROBES);
        }
        if (adaptive != null) {
            if (signal == FlowSignal.SUCCEEDED) {
                adaptive.increase();
            } else if (signal.isFailure()) {
                adaptive.decrease();
            }
        }
    }

    /**
     * Counts a server reply that {@code rule} matched ({@link FlowControlPolicy#match}), and fires the rule's reaction
     * when its threshold is reached. A rule that is not this destination's policy's (the rules were reloaded since the
     * reply was matched) counts nothing.
     *
     * @return true when a {@code reconnect} rule fired: the connection that got the reply must be closed
     */
    public boolean observe(ResponseRule rule, SmtpReply reply) {
        ResponseRule[] rules = policy.responseRuleArray();
        int index = indexOf(rules, rule);
        if (index < 0) {
            return false;
        }
        if (rule.threshold() > 1) {
            AttemptCounts counts = responseCounts.of(index);
            long now = clock.millis();
            counts.add(now, true);
            if (SlidingCounts.events(counts.totals(now)) < rule.threshold()) {
                return false;
            }
            counts.clear();
        }
        String description = rule.threshold() == 1 ? "a reply matching '" + rule.match() + "'"
            : rule.threshold() + " replies matching '" + rule.match() + "' within " + rule.window().orElseThrow();
        trip(rule.reaction(), new FlowCause(FlowCause.Kind.RESPONSE_RULE, description, rule.source(),
            reply.toString()));
        return rule.reaction().action() == FlowAction.RECONNECT;
    }

    private static int indexOf(ResponseRule[] rules, ResponseRule rule) {
        for (int i = 0; i < rules.length; i++) {
            if (rules[i] == rule) {
                return i;
            }
        }
        for (int i = 0; i < rules.length; i++) {
            if (rules[i].equals(rule)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Forces the destination into SUSPENDED until {@code until} (exactly, no jitter). Automatic triggers leave it
     * alone until then.
     *
     * @throws IllegalArgumentException if {@code until} is not in the future
     */
    public FlowState suspend(Instant until, String note) {
        long end = future(until);
        return force(now -> new SuspendedState(now, end, operatorCause("suspended", note), FlowState.Origin.OPERATOR));
    }

    /**
     * Forces the destination into BACKOFF, with its rule's backoff limits, until {@code until}; probes do not end
     * it, automatic triggers leave it alone.
     *
     * @throws IllegalArgumentException if {@code until} is not in the future
     */
    public FlowState backoff(Instant until, String note) {
        long end = future(until);
        return force(now -> {
            DeliveryLimits limits = policy.backoff().applyTo(normal);
            return new BackoffState(now, end, operatorCause("backed off", note), FlowState.Origin.OPERATOR, limits,
                budgetFor(limits, null), 0);
        });
    }

    /** Back to NORMAL at once, whatever the state and whoever set it; counters are kept. */
    public FlowState resume(String note) {
        return force(now -> new NormalState(now, operatorCause("resumed", note), FlowState.Origin.OPERATOR));
    }

    /** Back to NORMAL, with the error-rate and response-rule counts cleared and adaptive concurrency at the cap. */
    public FlowState reset(String note) {
        if (errorWindow != null) {
            errorWindow.clear();
        }
        responseCounts.clear();
        if (adaptive != null) {
            adaptive.reset();
        }
        return force(now -> new NormalState(now, operatorCause("reset", note), FlowState.Origin.OPERATOR));
    }

    /**
     * Ends an automatic backoff or suspension at once; a state an operator forced, and NORMAL, are left as they
     * are.
     *
     * @return whether a state was cancelled
     */
    public boolean cancelAutomatic(String note) {
        while (true) {
            FlowState current = state();
            if (current.kind() == FlowState.Kind.NORMAL || current.origin() == FlowState.Origin.OPERATOR) {
                return false;
            }
            FlowState next = new NormalState(clock.millis(),
                operatorCause("cancelled the automatic " + current.kind(), note), FlowState.Origin.OPERATOR);
            if (transition(current, next, Transition.OPERATOR)) {
                return true;
            }
        }
    }

    /**
     * Takes the state the cluster store holds for this destination (another node entered it, or it won over this
     * node's), as it is: the store decided with the same precedence as this machine's. A state already over by this
     * node's clock is ignored (each node ends a state by its own clock), and so is this node's own state heard back.
     * Listeners hear the change; it is not published again.
     *
     * @return whether the state changed
     */
    public boolean adopt(SharedFlowState remote) {
        if (RemoteFlowStates.isOver(remote, clock.millis())) {
            return false;
        }
        while (true) {
            FlowState current = state.get();
            if (RemoteFlowStates.same(current, remote)
                || remote.kind() == FlowState.Kind.NORMAL && current.kind() == FlowState.Kind.NORMAL) {
                return false;
            }
            FlowState next = RemoteFlowStates.adopted(remote, normal, policy,
                limits -> budgetFor(limits, current instanceof BackoffState ? (BackoffState) current : null));
            if (transition(current, next, Transition.REMOTE)) {
                return true;
            }
        }
    }

    /** What is in effect now, and why. */
    public FlowControlStatus status(String rule) {
        FlowState current = state();
        long totals = errorWindow == null ? 0 : errorWindow.totals(clock.millis());
        int probesSucceeded = 0;
        int probesNeeded = 0;
        if (current instanceof BackoffState) {
            probesSucceeded = ((BackoffState) current).probesSucceeded();
            probesNeeded = ((BackoffState) current).probesNeeded;
        }
        return new FlowControlStatus(destination, rule, current, current.limits(normal).orElse(null),
            adaptive == null ? normal.maxConnections() : adaptive.connections(), probesSucceeded, probesNeeded,
            SlidingCounts.events(totals), SlidingCounts.failures(totals));
    }

    /** Whether a change of state for this reason may go from one kind of state to the other. */
    static boolean isAllowed(Transition transition, FlowState.Kind from, FlowState.Kind to) {
        return TransitionTable.isAllowed(transition, from, to);
    }

    /** Applies a trigger's reaction, unless an operator holds the state or the current state is already as strict. */
    private void trip(Reaction reaction, FlowCause cause) {
        if (reaction.action() == FlowAction.RECONNECT) {
            return;
        }
        while (true) {
            FlowState current = state();
            if (current.origin() == FlowState.Origin.OPERATOR && current.kind() != FlowState.Kind.NORMAL) {
                return;
            }
            FlowState next = reaction.action() == FlowAction.SUSPEND
                ? suspension(current, reaction, cause) : backoffFrom(current, reaction, cause);
            if (next == null || transition(current, next, Transition.TRIGGER)) {
                return;
            }
        }
    }

    private FlowState suspension(FlowState current, Reaction reaction, FlowCause cause) {
        long now = clock.millis();
        long length = reaction.duration().orElseThrow().toMillis();
        long end = now + length + (long) (random.getAsDouble() * length * JITTER_SHARE);
        if (current.kind() == FlowState.Kind.SUSPENDED && end <= current.endMillis) {
            return null;
        }
        return new SuspendedState(now, end, cause, FlowState.Origin.AUTOMATIC);
    }

    private FlowState backoffFrom(FlowState current, Reaction reaction, FlowCause cause) {
        if (current.kind() == FlowState.Kind.SUSPENDED) {
            return null;
        }
        long now = clock.millis();
        long end = reaction.duration().map(duration -> now + duration.toMillis()).orElse(FlowState.OPEN_ENDED);
        DeliveryLimits limits = reaction.limits(normal, policy.backoff());
        if (current instanceof BackoffState) {
            BackoffState backoff = (BackoffState) current;
            DeliveryLimits merged = backoff.limits.tightest(limits);
            long mergedEnd = Math.max(backoff.endMillis, end);
            if (merged.equals(backoff.limits) && mergedEnd == backoff.endMillis) {
                return null;
            }
            return new BackoffState(backoff.sinceMillis, mergedEnd, cause, FlowState.Origin.AUTOMATIC, merged,
                budgetFor(merged, backoff), policy.recovery().probes());
        }
        return new BackoffState(now, end, cause, FlowState.Origin.AUTOMATIC, limits, budgetFor(limits, null),
            policy.recovery().probes());
    }

    /** A budget of its own when the limits lower the rate; the previous backoff's when the rate is unchanged. */
    private MessageBudget budgetFor(DeliveryLimits limits, BackoffState previous) {
        if (limits.sameRate(normal)) {
            return null;
        }
        if (previous != null && previous.limits.sameRate(limits)) {
            return previous.ownBudget();
        }
        return budgets.apply(limits.messagesPerHour().getAsLong());
    }

    private FlowState expireIfDue(FlowState observed) {
        FlowState current = observed;
        long now = clock.millis();
        while (current.endMillis != FlowState.OPEN_ENDED && now >= current.endMillis) {
            FlowState next = successorOf(current, now);
            if (transition(current, next, Transition.EXPIRY)) {
                return next;
            }
            current = state.get();
        }
        return current;
    }

    private FlowState successorOf(FlowState ended, long now) {
        Duration halfOpen = policy.recovery().halfOpen();
        if (ended.kind() == FlowState.Kind.SUSPENDED && !halfOpen.isZero()) {
            DeliveryLimits limits = policy.backoff().applyTo(normal);
            return new BackoffState(now, now + halfOpen.toMillis(), FlowCause.of(FlowCause.Kind.HALF_OPEN,
                "half-open after the suspension (" + ended.cause().description() + ")"), FlowState.Origin.AUTOMATIC,
                limits, budgetFor(limits, null), policy.recovery().probes());
        }
        return new NormalState(now, FlowCause.of(FlowCause.Kind.EXPIRED, "the " + ended.kind() + " ended ("
            + ended.cause().description() + ")"), FlowState.Origin.AUTOMATIC);
    }

    private FlowState force(LongFunction<FlowState> next) {
        while (true) {
            FlowState current = state.get();
            FlowState forced = next.apply(clock.millis());
            if (transition(current, forced, Transition.OPERATOR)) {
                return forced;
            }
        }
    }

    private boolean transition(FlowState from, FlowState to, Transition why) {
        if (!isAllowed(why, from.kind(), to.kind())) {
            throw new IllegalStateException(why + " may not change " + destination + " from " + from.kind() + " to "
                + to.kind());
        }
        if (!state.compareAndSet(from, to)) {
            return false;
        }
        FlowControlEvent event = new FlowControlEvent(destination, from, to);
        try {
            listener.onTransition(event);
        } catch (RuntimeException e) {
            LOGGER.warn("A flow-control listener failed on {}", event, e);
        }
        if (why != Transition.REMOTE && (why != Transition.EXPIRY || to.kind() == FlowState.Kind.BACKOFF)) {
            publish(to);
        }
        return true;
    }

    /** Tells the other nodes of a state this machine entered; a failure here never undoes the change. */
    private void publish(FlowState entered) {
        try {
            sharing.publish(RemoteFlowStates.toShared(destination, entered));
        } catch (RuntimeException e) {
            LOGGER.warn("The flow state of {} could not be published to the other nodes: {}", destination, entered, e);
        }
    }

    private long future(Instant until) {
        Objects.requireNonNull(until, "until");
        long end = until.toEpochMilli();
        if (end <= clock.millis()) {
            throw new IllegalArgumentException("until must be in the future, was " + until + " (now "
                + clock.instant() + ")");
        }
        return end;
    }

    private static FlowCause errorRateCause(ErrorRateTrigger trigger, long totals) {
        long attempts = SlidingCounts.events(totals);
        long failures = SlidingCounts.failures(totals);
        return new FlowCause(FlowCause.Kind.ERROR_RATE, failures + " of " + attempts + " attempts failed within "
            + trigger.window() + ", above the ratio " + trigger.ratio(), null, null);
    }

    private static FlowCause operatorCause(String what, String note) {
        return FlowCause.of(FlowCause.Kind.OPERATOR, "an operator " + what
            + (note == null || note.isBlank() ? "" : ": " + note));
    }

    @Override
    public String toString() {
        return destination + ": " + state.get();
    }
}

package io.github.mxgovernor.governor;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.SharedFlowStates;
import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowControlEvent;
import io.github.mxgovernor.flowcontrol.FlowControlListener;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.FlowSharing;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.flowcontrol.MessageBudget;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM-wide accounting of every destination: connection quotas, message rates and flow control are counted
 * here, so that every delivery engine (one per mailet instance) in one James shares the same caps.
 *
 * <p>It is also where operators act on flow control: {@link #flowControlStatus()} lists what is in effect and
 * why, {@link #suspend}, {@link #backoff}, {@link #resume} and {@link #reset} force a state, and
 * {@link #cancelAutomatic} lifts an automatic backoff or suspension. These take the destination's name as
 * {@link Destination#name()} gives it and return open, serialisable values, ready for JMX. A rules reload reaches
 * the destinations through {@link #applyRules}; {@link #forgetIdle} drops destinations unused for long (every minute
 * once {@link #startHousekeeping} runs it), and {@link #stats()} counts how every recipient ended whatever was
 * forgotten.
 *
 * <p>With a {@link ClusterStore} (several James nodes), a destination whose rule's {@code clusterScope} is
 * {@code cluster} counts its connections in the store (leases), takes message tokens from a cluster-wide rate,
 * counts its flow-control triggers over every node's attempts, publishes the states it enters and takes those the
 * other nodes enter ({@link FlowControl#adopt}); operators' commands thus apply on every node.
 */
public final class Governor {
    /** How long a destination stays unused before the housekeeping forgets it. */
    public static final Duration FORGET_AFTER = Duration.ofHours(1);
    static final Duration HOUSEKEEPING_INTERVAL = Duration.ofMinutes(1);
    private static final Logger LOGGER = LoggerFactory.getLogger(Governor.class);

    private final Clock clock;
    private final Ticker ticker;
    private final DoubleSupplier random;
    private final ConcurrentMap<String, Destination> destinations = new ConcurrentHashMap<>();
    private final List<FlowControlListener> listeners = new CopyOnWriteArrayList<>();
    private final FlowControlListener publisher = this::publish;
    private final DestinationStats stats = DestinationStats.totals();
    /** Shared destinations' names by rule name, so that routing a mail to one does not build its name again. */
    private final ConcurrentMap<String, String> sharedNames = new ConcurrentHashMap<>();
    /** Bumped by every {@link #applyRules}; a destination remembers the version of the rule it took. */
    private volatile long rulesVersion;
    /** The rules of the last {@link #applyRules}, by identity; empty before any. */
    private volatile Set<MxRule> currentRules = Set.of();
    /** Present when this node shares cluster-wide limits with others. */
    private final Optional<ClusterSharing> cluster;

    /** Rates refill by {@link Ticker#SYSTEM}. */
    public Governor(Clock clock) {
        this(clock, Ticker.SYSTEM, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** Rates refill by {@link Ticker#SYSTEM}. @param random as for {@link #Governor(Clock, Ticker, DoubleSupplier)} */
    public Governor(Clock clock, DoubleSupplier random) {
        this(clock, Ticker.SYSTEM, random);
    }

    /**
     * @param clock the wall clock: flow-control states and their ends, activity, what operators read
     * @param ticker the monotonic time message rates refill by, and delivery engines measure deadlines with
     * @param random numbers in [0, 1) that jitter suspensions and flow-control deferrals
     */
    public Governor(Clock clock, Ticker ticker, DoubleSupplier random) {
        this(clock, ticker, random, Optional.empty());
    }

    /**
     * A governor of one node among several: destinations whose rule's {@code clusterScope} is {@code cluster} share
     * their limits and flow control with the other nodes through {@code store}. The caller owns the store and closes
     * it after the governor's last connection closed.
     *
     * @param store the cluster store; empty for a node on its own
     */
    public Governor(Clock clock, Ticker ticker, DoubleSupplier random, Optional<ClusterStore> store) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.random = Objects.requireNonNull(random, "random");
        this.cluster = store.map(shared -> new ClusterSharing(shared, clock, ticker));
    }

    /** The cluster store this governor shares limits through; empty for a node on its own. */
    public Optional<ClusterStore> clusterStore() {
        return cluster.map(ClusterSharing::store);
    }

    /**
     * The destination that counts connections to {@code mxHost} under {@code rule}, created on first use.
     *
     * <p>Which rule a destination runs under: the first rule seen for its name sets its limits (every mailet of one
     * James reads one rules file). After {@link #applyRules} (a rules reload), a destination handed a rule of the
     * reloaded sets that differs from its own takes it, once per reload, as soon as its flow control is NORMAL: a
     * destination in BACKOFF or SUSPENDED keeps its rule until that state ends. Rules from before the reload are
     * never taken again.
     */
    public Destination destination(MxRule rule, String mxHost) {
        String name = rule.limitScope() == LimitScope.SHARED
            ? sharedNames.computeIfAbsent(rule.name(), Destination::sharedName) : Destination.nameFor(rule, mxHost);
        long now = clock.millis();
        while (true) {
            Destination existing = destinations.get(name);
            if (existing == null) {
                existing = destinations.computeIfAbsent(name, key -> create(key, rule));
            }
            if (existing.touch(now)) {
                if (existing.rule() != rule) {
                    reconsider(existing, rule);
                }
                return existing;
            }
            destinations.remove(name, existing);
        }
    }

    private Destination create(String name, MxRule rule) {
        HourlyCount tokensTaken = new HourlyCount();
        Optional<ClusterSharing> shared = cluster.filter(ignored -> rule.clusterScope() == ClusterScope.CLUSTER);
        if (shared.isEmpty()) {
            return new Destination(name, rule, rate(rule, tokensTaken, false, name),
                flowControl(name, rule, tokensTaken, false), tokensTaken, rulesVersion, clock, stats);
        }
        Destination destination = new Destination(name, rule, rate(rule, tokensTaken, true, name),
            flowControl(name, rule, tokensTaken, true), tokensTaken, rulesVersion, clock, stats,
            shared.get().connections(name), true);
        // Other nodes' states go to whatever flow control the destination has then (a reload replaces it).
        SharedFlowStates.Watch watch = shared.get().watch(name, state -> destination.flowControl().adopt(state));
        destination.watching(watch::close);
        return destination;
    }

    private MessageBudget rate(MxRule rule, HourlyCount tokensTaken, boolean clusterWide, String name) {
        if (clusterWide && rule.messagesPerHour().isPresent()) {
            return cluster.get().rate(name, rule.messagesPerHour().getAsLong(), tokensTaken);
        }
        return new MessageRate(rule.messagesPerHour(), ticker, clock, tokensTaken);
    }

    private FlowControl flowControl(String name, MxRule rule, HourlyCount tokensTaken, boolean clusterWide) {
        if (clusterWide) {
            ClusterSharing shared = cluster.get();
            return FlowControl.of(name, rule.flowControl(), rule.maxConnections(), rule.maxMessagesPerConnection(),
                rule.messagesPerHour(), clock, perHour -> shared.rate(name, perHour, tokensTaken), publisher, random,
                shared.flow(name));
        }
        return FlowControl.of(name, rule.flowControl(), rule.maxConnections(), rule.maxMessagesPerConnection(),
            rule.messagesPerHour(), clock,
            perHour -> new MessageRate(OptionalLong.of(perHour), ticker, clock, tokensTaken), publisher, random,
            FlowSharing.LOCAL);
    }

    private void reconsider(Destination destination, MxRule rule) {
        long version = rulesVersion;
        Set<MxRule> current = currentRules;
        if (destination.rulesVersion() >= version || !current.contains(rule)
            || destination.flowControl().state().kind() != FlowState.Kind.NORMAL) {
            return;
        }
        synchronized (destination) {
            if (destination.rulesVersion() < version) {
                rebind(destination, rule);
                destination.claim(version);
            }
        }
    }

    /** @return whether the limits or policies changed (rather than only the rule's place in its file) */
    private boolean rebind(Destination destination, MxRule rule) {
        if (destination.rule().equalExceptSource(rule)) {
            destination.refer(rule);
            return false;
        }
        HourlyCount tokensTaken = destination.tokensTaken();
        boolean clusterWide = destination.isClusterWide();
        if (cluster.isPresent() && clusterWide != (rule.clusterScope() == ClusterScope.CLUSTER)) {
            LOGGER.info("Destination {}: the new clusterScope of rule {} applies once the destination is forgotten"
                + " (idle for {}) or after a restart; its limits stay {} until then", destination.name(), rule.name(),
                FORGET_AFTER, clusterWide ? "cluster-wide" : "this node's own");
        }
        destination.adopt(rule, rate(rule, tokensTaken, clusterWide, destination.name()),
            flowControl(destination.name(), rule, tokensTaken, clusterWide));
        LOGGER.info("Destination {} now runs under {}", destination.name(), rule);
        return true;
    }

    /**
     * Applies reloaded rules to the destinations tracked now: each one in NORMAL flow control whose rule has a
     * namesake in {@code ruleSets} that still names it the same way (same scope, a recipient-domain mask or not, MX
     * masks that still match its host) takes that rule at once, with its limits, rate, timeouts, TLS mode and
     * flow-control policy; its open connections keep counting against the new cap, and its flow-control counts
     * (error window, adaptive limit) start afresh. The others take their rule the next time mail is routed to
     * them, see {@link #destination}. Counters of delivered, deferred and failed mail carry on.
     *
     * <p>Call it after the delivery engines were given the new rules.
     *
     * @return how many destinations changed limits or policies at once
     */
    public synchronized int applyRules(Collection<RuleSet> ruleSets) {
        Set<MxRule> rules = Collections.newSetFromMap(new IdentityHashMap<>());
        for (RuleSet ruleSet : ruleSets) {
            rules.add(ruleSet.defaultRule());
            rules.addAll(ruleSet.rules());
        }
        currentRules = rules;
        rulesVersion++;
        int changed = 0;
        for (Destination destination : destinations.values()) {
            MxRule namesake = namesake(ruleSets, destination);
            if (namesake == null || namesake == destination.rule()
                || destination.flowControl().state().kind() != FlowState.Kind.NORMAL) {
                continue;
            }
            synchronized (destination) {
                if (rebind(destination, namesake)) {
                    changed++;
                }
            }
        }
        return changed;
    }

    private static MxRule namesake(Collection<RuleSet> ruleSets, Destination destination) {
        MxRule own = destination.rule();
        for (RuleSet ruleSet : ruleSets) {
            MxRule candidate = ruleSet.defaultRule().name().equals(own.name()) ? ruleSet.defaultRule()
                : ruleSet.rules().stream().filter(rule -> rule.name().equals(own.name())).findFirst().orElse(null);
            if (candidate != null && namesTheSame(own, candidate, destination.name())) {
                return candidate;
            }
        }
        return null;
    }

    private static boolean namesTheSame(MxRule own, MxRule candidate, String destinationName) {
        if (own.limitScope() != candidate.limitScope()
            || own.recipientDomainMask().isPresent() != candidate.recipientDomainMask().isPresent()) {
            return false;
        }
        if (candidate.limitScope() == LimitScope.SHARED || candidate.name().equals(MxRule.DEFAULT_RULE_NAME)) {
            return true;
        }
        String host = destinationName.substring(destinationName.indexOf('/') + 1);
        return candidate.mxMasks().stream().anyMatch(mask -> mask.matches(host));
    }

    /**
     * Forgets destinations with no activity for {@code idleFor}, no open connection and NORMAL flow control, so that
     * a server that once talked to many hosts does not keep them all. A forgotten destination that gets mail again
     * starts afresh (its counters at zero; a full hour's idleness has refilled its rate anyway). Lanes never hold a
     * destination that long without routing mail to it, so no cap is ever counted twice.
     *
     * @return the names of the destinations forgotten
     */
    public List<String> forgetIdle(Duration idleFor) {
        long cutoff = clock.millis() - idleFor.toMillis();
        List<String> forgotten = new ArrayList<>();
        for (Destination destination : destinations.values()) {
            if (destination.retireIfIdleSince(cutoff)) {
                destinations.remove(destination.name(), destination);
                destination.stopWatching();
                if (cluster.isPresent() && destination.isClusterWide() && !destinations.containsKey(
                    destination.name())) {
                    cluster.get().forget(destination.name());
                }
                forgotten.add(destination.name());
            }
        }
        return forgotten;
    }

    /**
     * Runs the governor's housekeeping on {@code scheduler}: every minute, {@link #forgetIdle} forgets destinations
     * unused for {@link #FORGET_AFTER}. A pass that throws, even an {@link Error}, is logged and the next one runs.
     *
     * @return the periodic task; cancel it, or shut the scheduler down, to stop the housekeeping
     */
    public ScheduledFuture<?> startHousekeeping(ScheduledExecutorService scheduler) {
        return PeriodicTask.schedule(scheduler, "Forgetting idle destinations", HOUSEKEEPING_INTERVAL, () -> {
            List<String> forgotten = forgetIdle(FORGET_AFTER);
            if (!forgotten.isEmpty()) {
                LOGGER.debug("Forgot {} destinations idle for {}: {}", forgotten.size(), FORGET_AFTER, forgotten);
            }
        });
    }

    /** The destination of this name, if the governor tracks it. */
    public Optional<Destination> find(String name) {
        return Optional.ofNullable(destinations.get(name));
    }

    public Collection<Destination> destinations() {
        return Collections.unmodifiableCollection(destinations.values());
    }

    /**
     * Every destination's counts added up, whatever was forgotten since, with what happened before any destination
     * (a failed MX lookup, say): since this governor was created. See {@link DestinationStats} for what each means.
     */
    public DestinationStats stats() {
        return stats;
    }

    /** Hears every recipient's end the governor counts, as it counts it (James's metrics mirror the totals so). */
    public void addEndListener(DestinationStats.EndListener listener) {
        stats.addListener(listener);
    }

    public void removeEndListener(DestinationStats.EndListener listener) {
        stats.removeListener(listener);
    }

    public Clock clock() {
        return clock;
    }

    /** The monotonic time rates refill by; delivery engines measure their deadlines with it too. */
    public Ticker ticker() {
        return ticker;
    }

    /** Hears of every change of flow-control state of every destination, after it took effect. */
    public void addFlowControlListener(FlowControlListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeFlowControlListener(FlowControlListener listener) {
        listeners.remove(listener);
    }

    /**
     * What flow control has in effect now: every destination that is not in NORMAL state or whose adaptive
     * connection limit is below its cap, by destination name.
     */
    public List<FlowControlStatus> flowControlStatus() {
        List<FlowControlStatus> inEffect = new ArrayList<>();
        for (Destination destination : destinations.values()) {
            FlowControlStatus status = destination.flowControlStatus();
            if (status.state() != FlowState.Kind.NORMAL
                || status.adaptiveConnectionLimit() < destination.rule().maxConnections()) {
                inEffect.add(status);
            }
        }
        inEffect.sort(Comparator.comparing(FlowControlStatus::destination));
        return inEffect;
    }

    /** The flow-control status of one destination, if it exists. */
    public Optional<FlowControlStatus> flowControlStatus(String destination) {
        return Optional.ofNullable(destinations.get(destination)).map(Destination::flowControlStatus);
    }

    /**
     * Suspends a destination until the given time: no attempt until then, automatic triggers ignored.
     *
     * @throws IllegalArgumentException if there is no such destination or {@code until} is not in the future
     */
    public FlowControlStatus suspend(String destination, Instant until, String note) {
        Destination target = existing(destination);
        target.flowControl().suspend(until, note);
        return target.flowControlStatus();
    }

    /**
     * Puts a destination in BACKOFF, with its rule's backoff limits, until the given time.
     *
     * @throws IllegalArgumentException if there is no such destination or {@code until} is not in the future
     */
    public FlowControlStatus backoff(String destination, Instant until, String note) {
        Destination target = existing(destination);
        target.flowControl().backoff(until, note);
        return target.flowControlStatus();
    }

    /** Returns a destination to NORMAL at once, whatever its state. @throws IllegalArgumentException if unknown */
    public FlowControlStatus resume(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().resume(note);
        return target.flowControlStatus();
    }

    /**
     * Returns a destination to NORMAL and forgets its error and reply counts and its adaptive limit.
     *
     * @throws IllegalArgumentException if there is no such destination
     */
    public FlowControlStatus reset(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().reset(note);
        return target.flowControlStatus();
    }

    /**
     * Lifts an automatic backoff or suspension; a state an operator forced is left alone.
     *
     * @return the status after, whose state says whether anything was lifted
     * @throws IllegalArgumentException if there is no such destination
     */
    public FlowControlStatus cancelAutomatic(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().cancelAutomatic(note);
        return target.flowControlStatus();
    }

    private Destination existing(String name) {
        Destination destination = destinations.get(Objects.requireNonNull(name, "destination"));
        if (destination == null) {
            throw new IllegalArgumentException("no destination named '" + name + "'; a destination exists once mail"
                + " was routed to it (names are MX host names, rule/host, or shared:rule)");
        }
        return destination;
    }

    private void publish(FlowControlEvent event) {
        if (event.to() == FlowState.Kind.NORMAL) {
            LOGGER.info("Flow control: {}", event);
        } else {
            LOGGER.warn("Flow control: {}", event);
        }
        for (FlowControlListener listener : listeners) {
            try {
                listener.onTransition(event);
            } catch (RuntimeException e) {
                LOGGER.warn("A flow-control listener failed on {}", event, e);
            }
        }
    }
}

package io.github.mxgovernor.cluster;

import io.github.mxgovernor.governor.PeriodicTask;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster store of one node: where the James nodes of one organisation count their cluster-wide connection caps
 * ({@link #connections}), message rates ({@link #rate}), flow-control states ({@link #flowStates()}) and flow-control
 * counts ({@link #counts}). One per JVM, closed when the last mailet goes.
 *
 * <p>It never makes a caller wait on the network: every call is asynchronous with the short deadline of
 * {@link StoreSettings#timeout()}, or answered from local state. Its own timers run on one thread of their own:
 * lease renewals (every third of the lease time, one call per destination with all of this node's leases on it),
 * count flushes, flow-state reads and the probe that notices a lost store and brings it back.
 *
 * <p>{@link #state()} says whether the store can be used ({@link StoreState}). When it cannot, every shared limit
 * answers from this node's share ({@link StoreSettings#nodes()}); the change is logged at WARN once. When the store
 * is reachable again, this node's open connections are registered in it again (those opened meanwhile included),
 * leases released meanwhile are taken out, and only then is the store UP again.
 */
public final class ClusterStore implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(ClusterStore.class);
    private static final Duration MAX_CONNECT_BACKOFF = Duration.ofSeconds(30);
    private static final int MAX_PENDING_REMOVALS = 100_000;

    private final StoreSettings settings;
    private final Clock clock;
    private final Ticker ticker;
    private final StoreHealth health;
    private final RedisLink link;
    private final ScheduledExecutorService timer;
    private final String incarnation;
    private final AtomicLong leaseNumbers = new AtomicLong();
    private final ConcurrentMap<String, SharedConnections> connections = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, SharedCounts> counts = new ConcurrentHashMap<>();
    private final SharedFlowStates flowStates;
    /** Leases given back while the store was away: taken out of it when it is back. key, id pairs. */
    private final Deque<String[]> pendingRemovals = new ArrayDeque<>();
    private final AtomicBoolean connecting = new AtomicBoolean();
    private final AtomicBoolean subscribing = new AtomicBoolean();
    private volatile boolean subscribeFailureTold;
    private final AtomicBoolean recovering = new AtomicBoolean();
    private volatile long nextConnectNanos;
    private volatile Duration connectBackoff;
    private volatile boolean closed;

    private ClusterStore(StoreSettings settings, Clock clock, Ticker ticker) {
        this.settings = settings;
        this.clock = clock;
        this.ticker = ticker;
        this.health = new StoreHealth(settings.address(), settings.nodes(), clock);
        this.link = new RedisLink(settings, health);
        this.timer = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "mx-governor-store");
            thread.setDaemon(true);
            return thread;
        });
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        this.incarnation = String.format("%02x%02x%02x%02x", random[0], random[1], random[2], random[3]);
        this.flowStates = new SharedFlowStates(this);
        this.connectBackoff = settings.probeInterval();
    }

    /** Opens the store with the system's clock and ticker; see {@link #open(StoreSettings, Clock, Ticker)}. */
    public static ClusterStore open(StoreSettings settings) {
        return open(settings, Clock.systemUTC(), Ticker.SYSTEM);
    }

    /**
     * Connects to the store (waiting at most its connect timeout) and starts the timers. A store that cannot be
     * reached, or that refuses the credentials, does not stop the start: the node runs on its shares, says so at WARN,
     * and tries again, backing off up to 30 s.
     *
     * @param clock  the wall clock, for the store's state and the times of published flow states
     * @param ticker the monotonic time that ages local token batches
     */
    public static ClusterStore open(StoreSettings settings, Clock clock, Ticker ticker) {
        ClusterStore store = new ClusterStore(Objects.requireNonNull(settings, "settings"),
            Objects.requireNonNull(clock, "clock"), Objects.requireNonNull(ticker, "ticker"));
        store.start();
        return store;
    }

    private void start() {
        CompletableFuture<Void> first = connect();
        try {
            first.get(settings.connectTimeout().toMillis() + settings.timeout().toMillis() * 2 + 500,
                TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // Told below, from the state.
        }
        if (!health.isUp()) {
            LOGGER.warn("{}. This node starts on its own share (1/{} of each cluster-wide cap, at least one connection,"
                + " and of each rate) and tries again", health.state().lastError()
                .orElse("Cluster store " + settings.address() + " did not answer"), settings.nodes());
        } else {
            LOGGER.info("Cluster store {}: connected as node {}", settings, settings.nodeName());
        }
        Duration renewal = settings.leaseTime().dividedBy(3);
        PeriodicTask.schedule(timer, "Probing the cluster store", settings.probeInterval(), this::probe);
        PeriodicTask.schedule(timer, "Renewing connection leases", renewal, this::renewAll);
        PeriodicTask.schedule(timer, "Sending shared flow-control counts", settings.countsFlushInterval(),
            this::flushCounts);
        PeriodicTask.schedule(timer, "Reading shared flow-control states", settings.flowPollInterval(),
            flowStates::poll);
    }

    public StoreSettings settings() {
        return settings;
    }

    /** Whether the store can be used now, since when, and its last error. */
    public StoreState state() {
        return health.state();
    }

    public boolean isUp() {
        return health.isUp();
    }

    /** Told of every change of {@link #state()}, on the thread that noticed it; keep it short. */
    public void addStateListener(Consumer<StoreState> listener) {
        health.addListener(listener);
    }

    /** The cluster-wide connections of a destination, made on first use. */
    public SharedConnections connections(String destination) {
        return connections.computeIfAbsent(checked(destination), name -> new SharedConnections(this, name));
    }

    /**
     * A cluster-wide rate of {@code messagesPerHour} for a destination, with a burst of one minute's share (at least
     * one), as a node's own rate has. Each call makes a new budget; keep it as long as the rate applies.
     */
    public SharedMessageRate rate(String destination, long messagesPerHour) {
        return rate(destination, messagesPerHour, Math.max(1, messagesPerHour / 60));
    }

    /** A cluster-wide rate with the given burst: how many tokens may go at once after a quiet spell. */
    public SharedMessageRate rate(String destination, long messagesPerHour, long burst) {
        return new SharedMessageRate(this, checked(destination), messagesPerHour, burst);
    }

    /** The cluster-wide flow-control counts (error windows, response-rule thresholds) of a destination. */
    public SharedCounts counts(String destination) {
        return counts.computeIfAbsent(checked(destination), name -> new SharedCounts(this, name));
    }

    /**
     * Runs short tasks later on the store's own thread (the one its timers and flow-state listeners run on): for
     * what answers the store's calls (a wake after a refused lease, say). A task must not block; tasks given after
     * {@link #close()} do not run.
     */
    public Scheduler scheduler() {
        return (delay, task) -> {
            try {
                ScheduledFuture<?> due = timer.schedule(new PeriodicTask("A cluster-store task", task),
                    Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
                return () -> due.cancel(false);
            } catch (RejectedExecutionException e) {
                return () -> { };
            }
        };
    }

    /** Flow-control states published to, and heard from, every node. */
    public SharedFlowStates flowStates() {
        return flowStates;
    }

    /** Drops what this node keeps for a destination it forgot (connections it still holds keep it). */
    public void forget(String destination) {
        SharedConnections shared = connections.get(destination);
        if (shared != null && shared.isIdle()) {
            connections.remove(destination, shared);
        }
        counts.remove(destination);
        flowStates.forget(destination);
    }

    /** Store commands sent since start: what "round trips per mail" counts. */
    public long commands() {
        return link.commands();
    }

    /** Store calls that failed since start, of any kind. */
    public long failures() {
        return health.failures();
    }

    /** Times a script was sent as text because the store did not know it (after a restart, say). */
    public long scriptLoads() {
        return link.scriptLoads();
    }

    String key(String destination, String suffix) {
        return settings.keyPrefix() + ":{" + destination + "}:" + suffix;
    }

    String channel() {
        return settings.keyPrefix() + ":flow";
    }

    String newLeaseId() {
        return settings.nodeName() + ":" + incarnation + ":" + leaseNumbers.incrementAndGet();
    }

    RedisLink link() {
        return link;
    }

    Clock clock() {
        return clock;
    }

    Ticker ticker() {
        return ticker;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    /** Takes a lease out of the store: now when it is up, when it is back otherwise. */
    void forgetLease(String key, String id) {
        if (!health.isUp()) {
            remember(key, id);
            return;
        }
        link.call("releasing a lease", c -> c.zrem(key, id)).whenComplete((removed, failure) -> {
            if (failure != null) {
                remember(key, id);
            }
        });
    }

    private void remember(String key, String id) {
        synchronized (pendingRemovals) {
            if (pendingRemovals.size() >= MAX_PENDING_REMOVALS) {
                // The oldest expires by itself within the lease time anyway.
                pendingRemovals.pollFirst();
            }
            pendingRemovals.addLast(new String[] {key, id});
        }
    }

    void leasesRegisteredAgain(String destination, long count) {
        LOGGER.info("Cluster store {}: {} connection leases of this node on {} were registered again (the store had"
            + " lost them: restarted, or they expired)", settings.address(), count, destination);
    }

    private CompletableFuture<Void> connect() {
        if (!connecting.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        return link.connectCommands().thenCompose(ignored -> {
            subscribe();
            return recover();
        }).whenComplete((ignored, failure) -> {
            connecting.set(false);
            if (failure == null) {
                connectBackoff = settings.probeInterval();
            } else {
                backOff();
            }
        });
    }

    /** Announcements are a shortcut: without them flow states still arrive by the periodic read. */
    private void subscribe() {
        if (!subscribing.compareAndSet(false, true)) {
            return;
        }
        link.subscribe(channel(), flowStates::announced).whenComplete((ignored, failure) -> {
            subscribing.set(false);
            if (failure == null) {
                subscribeFailureTold = false;
                flowStates.poll();
            } else if (!subscribeFailureTold) {
                subscribeFailureTold = true;
                LOGGER.info("Cluster store {}: flow-state announcements not heard for now ({}); states are read every"
                    + " {}", settings.address(), failure.getMessage(), settings.flowPollInterval());
            }
        });
    }

    private void backOff() {
        nextConnectNanos = ticker.nanos() + connectBackoff.toNanos();
        Duration doubled = connectBackoff.multipliedBy(2);
        connectBackoff = doubled.compareTo(MAX_CONNECT_BACKOFF) > 0 ? MAX_CONNECT_BACKOFF : doubled;
    }

    /** Runs on the timer: notices a lost store, and brings a reachable one back. */
    private void probe() {
        if (closed) {
            return;
        }
        if (!link.isConnected()) {
            if (ticker.nanos() - nextConnectNanos >= 0) {
                connect();
            }
            return;
        }
        if (!link.isSubscribed() && link.isOpen()) {
            subscribe();
        }
        if (health.isUp()) {
            if (!link.isOpen()) {
                health.down("Cluster store " + settings.address() + ": the connection was lost");
            }
            return;
        }
        if (link.isOpen() && recovering.compareAndSet(false, true)) {
            recover().whenComplete((ignored, failure) -> recovering.set(false));
        }
    }

    /**
     * Registers this node's leases again (the store may have lost them, and those opened while it was away were
     * never in it), takes out those released meanwhile, then declares the store UP and catches up on flow states.
     */
    private CompletableFuture<Void> recover() {
        if (health.isUp()) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<?>> steps = new ArrayList<>();
        steps.add(link.call("ping", c -> c.ping()));
        for (SharedConnections shared : connections.values()) {
            // A destination whose key something else broke (a failed command) must not keep the whole store down.
            steps.add(shared.renew().exceptionally(failure -> {
                if (cause(failure) instanceof StoreException
                    && ((StoreException) cause(failure)).kind() == StoreException.Kind.COMMAND) {
                    return null;
                }
                throw failure instanceof CompletionException ? (CompletionException) failure
                    : new CompletionException(failure);
            }));
        }
        takeOutReleased(steps);
        return CompletableFuture.allOf(steps.toArray(new CompletableFuture<?>[0])).whenComplete((ignored, failure) -> {
            if (failure != null) {
                return;
            }
            health.up();
            // Leases released while this recovery was under way waited for it: they go now, after their renewal.
            takeOutReleased(new ArrayList<>());
            flowStates.recovered();
        });
    }

    /**
     * Sends the removal of every lease released while the store was away (each one that fails is kept for the next
     * time); adds the calls to {@code calls}.
     */
    private void takeOutReleased(List<CompletableFuture<?>> calls) {
        List<String[]> removals;
        synchronized (pendingRemovals) {
            removals = new ArrayList<>(pendingRemovals);
            pendingRemovals.clear();
        }
        for (String[] removal : removals) {
            calls.add(link.call("releasing a lease", c -> c.zrem(removal[0], removal[1])).whenComplete(
                (removed, failure) -> {
                    if (failure != null) {
                        remember(removal[0], removal[1]);
                    }
                }));
        }
    }

    private void renewAll() {
        if (closed || !health.isUp()) {
            return;
        }
        for (SharedConnections shared : connections.values()) {
            shared.renew();
        }
    }

    private void flushCounts() {
        if (closed || !health.isUp()) {
            return;
        }
        for (SharedCounts shared : counts.values()) {
            shared.flush();
        }
    }

    private static Throwable cause(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private static String checked(String destination) {
        Objects.requireNonNull(destination, "destination");
        if (destination.isEmpty()) {
            throw new IllegalArgumentException("a destination name must not be empty");
        }
        return destination;
    }

    /**
     * Stops the timers, takes this node's leases out of the store (waiting at most the deadline), and closes the
     * connections.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timer.shutdownNow();
        List<CompletableFuture<?>> releases = new ArrayList<>();
        if (health.isUp()) {
            for (SharedConnections shared : connections.values()) {
                releases.add(shared.releaseAllOnClose());
            }
        }
        try {
            CompletableFuture.allOf(releases.toArray(new CompletableFuture<?>[0]))
                .get(settings.timeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOGGER.info("Cluster store {}: this node's leases could not all be taken out at close; they expire within"
                + " {}", settings.address(), settings.leaseTime());
        }
        health.close();
        link.close();
    }

    /** As if this node's JVM died: timers and connections stop, nothing is taken out of the store. For tests. */
    void crash() {
        closed = true;
        timer.shutdownNow();
        health.close();
        link.close();
    }

    @Override
    public String toString() {
        return "cluster store " + settings + ": " + health.state();
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SmtpSessionFactory;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.tls.SessionOpener;
import io.github.mxgovernor.tls.TlsPolicyResolver;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers parts under the MX rules, without ever holding a thread on the network:
 *
 * <ul>
 *   <li>the {@link DeliveryRouter} resolves each part's MX hosts (asynchronously, one lookup per domain at a time, on
 *       the lookup threads), applies its domain's MTA-STS admission, and queues it in the {@link DeliveryLane} of its
 *       first MX host's destination;</li>
 *   <li>a lane hands parts to sessions as the destination's quota, rate and flow-control state allow: an idle one of
 *       its {@link SmtpSessionPool} that fits, or a new one opened by the {@link SessionOpener} (TLS as the policies
 *       require, AUTH only to verified servers);</li>
 *   <li>the {@link AttemptRunner} runs each transaction on the session's futures; the {@link ReplyClassifier} says
 *       what its replies mean, the destination records that (flow control, statistics), and the
 *       {@link AttemptRecorder} ends the part with one {@link Outcome} per recipient, deferrals coming back as the
 *       {@link ReturnSchedule} says;</li>
 *   <li>the {@link SessionWatchdog} puts the engine's own deadline on every session future, aborting a session that
 *       overruns, whatever the session implementation does.</li>
 * </ul>
 * A part that cannot get a connection or a token within {@link EngineSettings#maxLaneWait()} ends as a local
 * deferral. Every part's future completes, whatever happens, with one outcome per recipient. Lane decisions are taken
 * under each lane's own lock; the threads ({@link EngineThreads}) never wait on the network and do not grow with the
 * number of open connections.
 */
public final class DeliveryEngine implements PartDelivery, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryEngine.class);
    /** How often lanes are swept (waits, idle sessions, pace). */
    static final Duration SWEEP_INTERVAL = Duration.ofMillis(200);

    private final Governor governor;
    private final EngineSettings settings;
    private final TlsPolicyResolver tlsPolicy;
    private final EngineThreads threads;
    private final boolean ownsThreads;
    private final InFlight inFlight = new InFlight();
    private final SessionWatchdog watchdog;
    private final AttemptRecorder recorder;
    private final AttemptRunner runner;
    private final DeliveryRouter router;
    private final Object closing = new Object();
    private volatile Scheduler.Scheduled sweepTask;
    private boolean closed;

    /** An engine whose TLS policy is the MX rules' modes alone (no MTA-STS, no DANE), on threads of its own. */
    public DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, SmtpSessionFactory sessions,
                          ReplyClassifier classifier, EngineSettings settings) {
        this(governor, rules, resolver, sessions, classifier, settings, TlsPolicyResolver.rulesOnly(governor.clock()));
    }

    /** An engine on threads of its own ({@link EngineThreads#start}), stopped by {@link #close(Duration)}. */
    public DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, SmtpSessionFactory sessions,
                          ReplyClassifier classifier, EngineSettings settings, TlsPolicyResolver tlsPolicy) {
        this(governor, rules, resolver, sessions, classifier, settings, tlsPolicy, EngineThreads.start(settings),
            true);
    }

    /**
     * An engine on the given threads, which the caller stops after {@link #close(Duration)}.
     *
     * @param governor the JVM-wide accounting; its clock dates outcomes, its ticker measures every wait and deadline
     * @param resolver MX hosts of recipient domains; it may block (it runs on the lookup threads)
     * @param sessions opens SMTP sessions; non-blocking
     * @param tlsPolicy the TLS policies (MTA-STS, DANE, plaintext fallbacks); an MTA-STS cache in it should run its
     *     TXT lookups on {@link EngineThreads#lookups()}
     */
    public DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, SmtpSessionFactory sessions,
                          ReplyClassifier classifier, EngineSettings settings, TlsPolicyResolver tlsPolicy,
                          EngineThreads threads) {
        this(governor, rules, resolver, sessions, classifier, settings, tlsPolicy, threads, false);
    }

    private DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, SmtpSessionFactory sessions,
                           ReplyClassifier classifier, EngineSettings settings, TlsPolicyResolver tlsPolicy,
                           EngineThreads threads, boolean ownsThreads) {
        this.governor = Objects.requireNonNull(governor, "governor");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.tlsPolicy = Objects.requireNonNull(tlsPolicy, "tlsPolicy");
        this.threads = Objects.requireNonNull(threads, "threads");
        this.ownsThreads = ownsThreads;
        Scheduler scheduler = threads.scheduler();
        this.watchdog = new SessionWatchdog(Objects.requireNonNull(sessions, "sessions"), scheduler);
        this.recorder = new AttemptRecorder(ReturnSchedule.of(settings, governor.clock()), tlsPolicy, governor);
        SessionOpener opener = new SessionOpener(watchdog, tlsPolicy, threads.lookups(), scheduler,
            settings.lookupTimeout(), settings.heloName(), settings.bindAddress(), settings.gatewayCredentials());
        this.router = new DeliveryRouter(governor, rules, new MxLookups(Objects.requireNonNull(resolver, "resolver"),
            threads.lookups(), scheduler, governor.ticker(), settings.lookupTimeout(), settings.laneCapacity()),
            tlsPolicy, recorder, inFlight, scheduler, governor.ticker(), settings.laneCapacity(), threads.work(),
            this::newLane);
        this.runner = new AttemptRunner(opener, Objects.requireNonNull(classifier, "classifier"), recorder, tlsPolicy,
            inFlight, threads.work(), router::reroute);
        scheduleSweep();
    }

    private DeliveryLane newLane(Destination destination) {
        return new DeliveryLane(destination, settings, new SmtpSessionPool(destination, tlsPolicy), runner, recorder,
            inFlight, threads.scheduler(), governor.ticker(), governor.clock(), threads.work());
    }

    /**
     * Takes the part and returns at once: its MX lookup, policy discovery, wait in its lane and transaction all
     * happen later. Never throws for a delivery problem: the returned future always completes with one outcome per
     * recipient.
     */
    @Override
    public CompletableFuture<Map<String, Outcome>> deliver(DeliveryPart part) {
        CompletableFuture<Map<String, Outcome>> result = new CompletableFuture<>();
        PendingPart pending = new PendingPart(part, result);
        inFlight.track(pending);
        if (inFlight.closing()) {
            recorder.stopping(pending, router.rules().defaultRule());
            return result;
        }
        try {
            router.route(pending);
        } catch (RuntimeException e) {
            recorder.failInternally(pending, Optional.empty(), router.rules().defaultRule(), e);
        }
        return result;
    }

    /** Replaces the rules for parts routed from now on. */
    public void useRules(RuleSet newRules) {
        router.useRules(newRules);
    }

    public RuleSet rules() {
        return router.rules();
    }

    public Governor governor() {
        return governor;
    }

    /** Parts waiting in lanes now, summed over destinations (for operators and tests). */
    public int waitingParts() {
        int waiting = 0;
        for (DeliveryLane lane : router.lanes()) {
            waiting += lane.waitingCount();
        }
        return waiting;
    }

    /** Idle sessions kept open for reuse now, summed over destinations (for operators and tests). */
    public int idleSessions() {
        int idle = 0;
        for (DeliveryLane lane : router.lanes()) {
            idle += lane.idleCount();
        }
        return idle;
    }

    /** Lane housekeeping, run every {@link #SWEEP_INTERVAL} on the scheduler (and by tests). */
    void sweep() {
        try {
            for (DeliveryLane lane : router.lanes()) {
                if (lane.sweep()) {
                    router.retire(lane.destination().name(), lane);
                }
            }
        } catch (RuntimeException e) {
            LOGGER.error("Lane housekeeping failed", e);
        }
    }

    private void scheduleSweep() {
        if (!inFlight.closing()) {
            sweepTask = threads.scheduler().schedule(SWEEP_INTERVAL, () -> {
                sweep();
                scheduleSweep();
            });
        }
    }

    /**
     * Stops in order. Parts offered from now on, parts still looked up or waiting in a lane, and parts whose session
     * is still opening complete at once as local deferrals (openings in progress are cancelled); idle sessions close
     * (QUIT); transactions in progress may finish within {@code grace}, their sessions then closing. Past the grace,
     * every connection is aborted and the parts still in progress complete deferred, each logged at WARN as a possible
     * duplicate since its content may already be on the wire. When this returns, every future {@link #deliver} handed
     * out has completed and no further byte goes to any server. The engine's own threads are stopped last.
     */
    @Override
    public void close(Duration grace) {
        synchronized (closing) {
            if (closed) {
                return;
            }
            closed = true;
        }
        inFlight.startClosing();
        Scheduler.Scheduled sweep = sweepTask;
        if (sweep != null) {
            sweep.cancel();
        }
        // Openings cancelled first: their parts end as the other waiting ones, deferred for the stop.
        watchdog.refuseOpens();
        for (DeliveryLane lane : router.lanes()) {
            for (PendingPart part : lane.stop()) {
                recorder.deferLocally(part, lane.destination(), DeferralReason.CONNECTION_QUOTA_REACHED,
                    Optional.empty());
            }
        }
        MxRule defaultRule = router.rules().defaultRule();
        for (PendingPart part : inFlight.parts()) {
            if (part.stage() != PendingPart.Stage.SENDING) {
                recorder.stopping(part, defaultRule);
            }
        }
        boolean quiet;
        try {
            quiet = inFlight.awaitQuiet(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            quiet = false;
        }
        if (!quiet) {
            // Parts first, so that the failures the aborts cause are not taken for the servers' doing.
            for (PendingPart part : inFlight.parts()) {
                if (recorder.stopping(part, defaultRule) && part.stage() == PendingPart.Stage.SENDING) {
                    LOGGER.warn("Delivery stopped during the transaction of {} via {}: deferred, although the server"
                        + " may have it already (a possible duplicate, kept rather than lost)", part,
                        Optional.ofNullable(part.session()).map(PooledSession::hostName).orElse("its MX host"));
                }
            }
            watchdog.abortAll();
            for (PooledSession session : inFlight.sessions()) {
                session.abort();
            }
        }
        if (ownsThreads) {
            threads.close();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }
}

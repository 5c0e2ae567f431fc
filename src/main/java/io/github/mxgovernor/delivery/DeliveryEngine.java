package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.AttemptResult;
import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.TlsOutcome;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.BlockingSmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.BlockingSmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SessionSecurity;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsReport;
import io.github.mxgovernor.tls.TlsRequirement;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers parts under the MX rules. Each part is routed to the lane of the destination of its first MX
 * endpoint; lanes hand parts to connections as the destination's quota and rate allow, connections are
 * reused for up to the rule's messages per connection, and a part that cannot get a connection or a token
 * within {@link EngineSettings#maxLaneWait()} ends as a local deferral. Every part's future completes,
 * whatever happens, with one {@link Outcome} per recipient.
 *
 * <p>TLS: each part's recipient domain is looked up for an MTA-STS policy before it is routed (an {@code enforce}
 * policy keeps only the MX hosts it lists), and each session is opened with what the part's policies require at
 * that host: the rule's mode, raised by MTA-STS {@code enforce} and REQUIRETLS, or DANE when the rule asks for it
 * and the host has signed TLSA records (see {@link TlsPolicyResolver}). A session never carries a part its TLS does
 * not satisfy; a policy that cannot be met defers the part with {@link DeferralReason#TLS_POLICY_FAILURE}, saying
 * which policy and what failed, after the other MX hosts were tried. Delivered outcomes carry a {@link TlsReport}.
 *
 * <p>Every attempt feeds the destination's {@link FlowControl}: whether it succeeded, failed (a connection,
 * TLS or timeout failure, or a 4xx for every recipient) or was refused for good, and each distinct server reply
 * that was not a success, for the response rules. Texts the engine or the classifier made up are never passed on.
 */
public final class DeliveryEngine implements PartDelivery, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryEngine.class);
    private static final Duration SWEEP_INTERVAL = Duration.ofMillis(200);
    /** How long {@link #close(Duration)} waits for delivery threads once their sessions are aborted. */
    private static final Duration ABORT_WAIT = Duration.ofSeconds(5);

    private final Governor governor;
    private final MxResolver resolver;
    private final BlockingSmtpSessionFactory sessionFactory;
    private final ReplyClassifier classifier;
    private final EngineSettings settings;
    private final Clock clock;
    private final ConcurrentMap<String, DeliveryLane> lanes = new ConcurrentHashMap<>();
    private final ExecutorService workers;
    private final ScheduledExecutorService timer;
    private final TlsPolicyResolver tlsPolicy;
    private volatile RuleSet rules;
    private volatile boolean closed;
    /** Set once the grace of {@link #close(Duration)} is over: sessions still serving are aborted. */
    private volatile boolean aborting;
    /** What each delivery thread serves now: its part, and its session once open. */
    private final Set<Serving> serving = ConcurrentHashMap.newKeySet();

    /** An engine whose TLS policy is the MX rules' modes alone (no MTA-STS, no DANE). */
    public DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, BlockingSmtpSessionFactory sessionFactory,
                          ReplyClassifier classifier, EngineSettings settings) {
        this(governor, rules, resolver, sessionFactory, classifier, settings,
            TlsPolicyResolver.rulesOnly(governor.clock()));
    }

    public DeliveryEngine(Governor governor, RuleSet rules, MxResolver resolver, BlockingSmtpSessionFactory sessionFactory,
                          ReplyClassifier classifier, EngineSettings settings, TlsPolicyResolver tlsPolicy) {
        this.tlsPolicy = Objects.requireNonNull(tlsPolicy, "tlsPolicy");
        this.governor = Objects.requireNonNull(governor, "governor");
        this.rules = Objects.requireNonNull(rules, "rules");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.sessionFactory = Objects.requireNonNull(sessionFactory, "sessionFactory");
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = governor.clock();
        this.workers = Executors.newFixedThreadPool(settings.deliveryThreads(), new DaemonThreadFactory("mx-governor-delivery"));
        this.timer = Executors.newSingleThreadScheduledExecutor(new DaemonThreadFactory("mx-governor-timer"));
        timer.scheduleWithFixedDelay(this::sweep, SWEEP_INTERVAL.toMillis(), SWEEP_INTERVAL.toMillis(),
            TimeUnit.MILLISECONDS);
    }

    /**
     * Resolves the part's MX hosts and queues it in its destination's lane. Never throws for a delivery
     * problem: the returned future always completes with one outcome per recipient.
     */
    @Override
    public CompletableFuture<Map<String, Outcome>> deliver(DeliveryPart part) {
        CompletableFuture<Map<String, Outcome>> result = new CompletableFuture<>();
        if (closed) {
            new PendingPart(part, List.of(), result, null).completeAll(stopping(part));
            return result;
        }
        MxResolution resolution;
        try {
            resolution = resolver.resolve(part.recipientDomain());
        } catch (RuntimeException e) {
            LOGGER.warn("MX lookup of {} failed for {}", part.recipientDomain(), part.id(), e);
            resolution = MxResolution.temporaryFailure("MX lookup failed: " + e);
        }
        if (resolution.status() == MxResolution.Status.FOUND) {
            routeUnderPolicy(part, resolution.endpoints(), result);
            return result;
        }
        PendingPart pending = new PendingPart(part, resolution.endpoints(), result, null);
        switch (resolution.status()) {
            case TEMPORARY_FAILURE:
                pending.completeAll(Outcome.deferred(DeferralReason.DNS_TEMPORARY_FAILURE,
                    "Temporary problem looking up mail server for " + part.recipientDomain() + ": "
                        + resolution.explanation(), Optional.empty(), part.recipientDomain(),
                    rules.defaultRule().name(), Optional.empty()));
                break;
            case NO_HOST:
            default:
                String explanation = "There are no DNS entries for the host name " + part.recipientDomain()
                    + ": " + resolution.explanation();
                String ruleName = rules.defaultRule().name();
                pending.completeAll(part.dnsProblemRetryAllowed()
                    ? Outcome.deferred(DeferralReason.DNS_TEMPORARY_FAILURE, explanation, Optional.empty(),
                        part.recipientDomain(), ruleName, Optional.empty())
                    : Outcome.bounced(explanation, Optional.empty(), part.recipientDomain(), ruleName));
                break;
        }
        return result;
    }

    /**
     * Looks up the recipient domain's TLS policy (MTA-STS), keeps the MX endpoints it admits and routes the part;
     * when the policy has to be fetched first, the part is routed from the thread that fetched it. Under an
     * {@code enforce} policy that admits none of the MX hosts, the part is deferred for its TLS policy.
     */
    private void routeUnderPolicy(DeliveryPart part, List<SmtpEndpoint> endpoints,
                                  CompletableFuture<Map<String, Outcome>> result) {
        CompletableFuture<DomainTlsPolicy> policy;
        try {
            policy = tlsPolicy.domainPolicy(part.recipientDomain());
        } catch (RuntimeException e) {
            LOGGER.warn("TLS policy lookup of {} failed for {}", part.recipientDomain(), part.id(), e);
            policy = CompletableFuture.completedFuture(
                DomainTlsPolicy.none(part.recipientDomain(), "MTA-STS lookup failed: " + e));
        }
        policy.whenComplete((found, error) -> {
            DomainTlsPolicy applied = found != null ? found
                : DomainTlsPolicy.none(part.recipientDomain(), "MTA-STS lookup failed: " + error);
            try {
                routeAdmitted(part, endpoints, result, applied);
            } catch (RuntimeException | Error unexpected) {
                LOGGER.error("Unexpected failure while routing {}", part.id(), unexpected);
                new PendingPart(part, endpoints, result, applied).completeAll(Outcome.deferred(
                    DeferralReason.CONNECTION_FAILED, "Internal error while delivering: " + unexpected,
                    Optional.empty(), part.recipientDomain(), rules.defaultRule().name(), Optional.empty()));
            }
        });
    }

    private void routeAdmitted(DeliveryPart part, List<SmtpEndpoint> endpoints,
                               CompletableFuture<Map<String, Outcome>> result, DomainTlsPolicy policy) {
        List<SmtpEndpoint> admitted = new ArrayList<>(endpoints.size());
        Set<String> refused = new LinkedHashSet<>();
        for (SmtpEndpoint endpoint : endpoints) {
            if (policy.admits(endpoint.hostName())) {
                admitted.add(endpoint);
            } else {
                refused.add(endpoint.hostName());
            }
        }
        if (!refused.isEmpty()) {
            LOGGER.info("{} for {}: {} {}", TlsProblem.MX_NOT_IN_POLICY.description(), part.id(), refused,
                admitted.isEmpty() ? "(no MX host left: deferred)" : "(skipped)");
        }
        if (admitted.isEmpty()) {
            new PendingPart(part, endpoints, result, policy).completeAll(Outcome.deferred(
                DeferralReason.TLS_POLICY_FAILURE, "TLS policy not met for " + part.recipientDomain()
                    + ": its MTA-STS enforce policy (" + policy.status() + ") lists " + policy.mtaSts().orElseThrow()
                    .mxPatterns() + "; " + TlsProblem.MX_NOT_IN_POLICY.description() + ": " + String.join(", ", refused),
                Optional.empty(), part.recipientDomain(), rules.defaultRule().name(), Optional.empty()));
            return;
        }
        route(new PendingPart(part, admitted, result, policy));
    }

    /** Replaces the rules for parts routed from now on. */
    public void useRules(RuleSet newRules) {
        this.rules = Objects.requireNonNull(newRules, "newRules");
    }

    public RuleSet rules() {
        return rules;
    }

    public Governor governor() {
        return governor;
    }

    void route(PendingPart part) {
        if (closed) {
            part.completeAll(stopping(part.part()));
            return;
        }
        SmtpEndpoint endpoint = part.currentEndpoint();
        MxRule rule = rules.match(endpoint.hostName(), part.part().recipientDomain());
        Destination destination = governor.destination(rule, endpoint.hostName());
        while (true) {
            // A look-up first: the function computeIfAbsent takes would be allocated for every mail.
            DeliveryLane lane = lanes.get(destination.name());
            if (lane == null) {
                lane = lanes.computeIfAbsent(destination.name(), name -> new DeliveryLane(destination, this));
            }
            if (lane.offer(part)) {
                return;
            }
            lanes.remove(destination.name(), lane);
        }
    }

    /**
     * Opens a session to the part's current endpoint with the TLS its policies require there (see
     * {@link TlsPolicyResolver}). An opportunistic handshake that fails is retried once in plaintext and the server
     * remembered; under DANE the certificate is matched to the TLSA records before the session is handed out. A
     * policy that cannot be met is a {@link SmtpSessionException.Kind#TLS_FAILURE} naming the policy and what
     * failed; no mail is sent on such a session.
     */
    BlockingSmtpSession openSession(PendingPart pending, Destination destination) throws SmtpSessionException {
        SmtpEndpoint endpoint = pending.currentEndpoint();
        MxRule rule = destination.rule();
        DaneVerdict dane = tlsPolicy.dane(rule.dane(), endpoint.hostName(), endpoint.tlsaPort());
        TlsRequirement requirement = requirementFor(pending, rule, dane);
        if (!requirement.satisfiable()) {
            throw policyFailure(pending, requirement, TlsProblem.TLSA_LOOKUP, dane.description());
        }
        String server = endpoint.toString();
        boolean fallback = requirement.sessionMode() == TlsMode.OPPORTUNISTIC
            && tlsPolicy.plaintextFallbacks().remembered(server).isPresent();
        TlsMode mode = fallback ? TlsMode.DISABLED : requirement.sessionMode();
        BlockingSmtpSession session;
        try {
            session = sessionFactory.open(endpoint, sessionSettings(rule, mode));
        } catch (SmtpSessionException failure) {
            if (failure.kind() != SmtpSessionException.Kind.TLS_FAILURE) {
                throw failure;
            }
            if (mode != TlsMode.OPPORTUNISTIC) {
                throw new SmtpSessionException(failure.stage(), requirement.describe() + ": " + failure.getMessage()
                    + mtaStsNote(pending), failure.reply(), failure, failure.tlsProblem().orElse(TlsProblem.HANDSHAKE));
            }
            Instant until = tlsPolicy.plaintextFallbacks().remember(server);
            LOGGER.warn("Opportunistic TLS with {} failed ({}): retrying in plaintext, and without TLS to this server"
                + " until {}", server, failure.getMessage(), until);
            session = sessionFactory.open(endpoint, sessionSettings(rule, TlsMode.DISABLED));
            fallback = true;
        }
        SessionSecurity security = security(session, requirement, mode, fallback);
        if (!requirement.isMetBy(security.protection())) {
            session.close();
            TlsProblem problem = requirement.daneRequired() ? TlsProblem.TLSA_MISMATCH : TlsProblem.HANDSHAKE;
            throw policyFailure(pending, requirement, problem, "the session has " + security);
        }
        destination.recordSession(security.protection());
        return new SecuredSession(session, security);
    }

    private SessionSettings sessionSettings(MxRule rule, TlsMode mode) {
        return new SessionSettings(settings.heloName(), settings.bindAddress(), rule.connectTimeout(),
            rule.commandTimeout(), rule.dataTimeout(), mode, settings.gatewayCredentials())
            .withTransactionTimeout(rule.transactionTimeout());
    }

    /** What the session achieved; under DANE, whether its certificate matches the host's TLSA records. */
    private static SessionSecurity security(BlockingSmtpSession session, TlsRequirement requirement, TlsMode mode,
                                            boolean fallback) {
        String host = session.endpoint().hostName();
        Optional<TlsInfo> tls = session.tls();
        if (tls.isEmpty()) {
            return SessionSecurity.plaintext(host, requirement, fallback);
        }
        SessionSecurity.Protection protection = mode == TlsMode.VERIFY ? SessionSecurity.Protection.VERIFIED
            : SessionSecurity.Protection.ENCRYPTED;
        if (requirement.daneRequired()
            && requirement.dane().matcher().orElseThrow().matches(tls.get().peerCertificates(), host)) {
            protection = SessionSecurity.Protection.DANE_VERIFIED;
        }
        return SessionSecurity.encrypted(host, protection, tls.get().protocol(), tls.get().cipherSuite(),
            requirement, tls.get().certificateCheck());
    }

    private TlsRequirement requirementFor(PendingPart pending, MxRule rule, DaneVerdict hostDane) {
        return tlsPolicy.requirement(pending.tlsPolicy(), rule.name(), rule.tlsMode(), pending.part().requireTls(),
            hostDane);
    }

    private SmtpSessionException policyFailure(PendingPart pending, TlsRequirement requirement, TlsProblem problem,
                                               String detail) {
        return new SmtpSessionException(SmtpSessionException.Stage.STARTTLS, requirement.describe() + ": "
            + pending.currentEndpoint() + ": " + problem.description() + " (" + detail + ")" + mtaStsNote(pending),
            Optional.empty(), null, problem);
    }

    /** The domain's MTA-STS standing, for TLS failure messages: a failed policy fetch shows there. */
    private String mtaStsNote(PendingPart pending) {
        return tlsPolicy.usesMtaSts() ? " [MTA-STS of " + pending.part().recipientDomain() + ": "
            + pending.tlsPolicy().status() + "]" : "";
    }

    /**
     * Whether an open session may carry the part: it goes to one of the part's MX hosts and its TLS meets what
     * the part's policies require at that host (the host's DANE verdict is the session's). Pure; called under a
     * lane's lock.
     */
    boolean mayCarry(BlockingSmtpSession session, PendingPart part, Destination destination) {
        if (!part.acceptsHost(session.endpoint().hostName())) {
            return false;
        }
        return tlsPolicy.admits(((SecuredSession) session).security(), part.tlsPolicy(), destination.rule().tlsMode(),
            part.part().requireTls());
    }

    /**
     * Runs one transaction for the part on the session and completes the part from the classified replies.
     *
     * @return whether the session may carry more mail: false when a response rule asked to reconnect
     */
    boolean attempt(BlockingSmtpSession session, PendingPart pending, Destination destination, DeliveryLane lane) {
        DeliveryPart part = pending.part();
        SessionSecurity security = ((SecuredSession) session).security();
        if (!tlsPolicy.admits(security, pending.tlsPolicy(), destination.rule().tlsMode(), part.requireTls())) {
            // Lanes never hand such a pair out; should one slip through, nothing is sent and the part gets a
            // session opened for its own requirement.
            LOGGER.warn("Session {} does not meet the TLS policy of {}: not used for it", security, part.id());
            destination.budget().refund();
            lane.retryFirst(pending);
            return false;
        }
        SmtpTransaction transaction = new SmtpTransaction(part.reversePath(), part.recipients(), part.content(),
            part.partialDelivery(), part.dsn(), part.requireTls());
        boolean reused = session.transactionCount() > 0;
        TransactionResult result;
        try {
            result = session.send(transaction);
        } catch (SmtpSessionException failure) {
            if (reused && failure.stage() == SmtpSessionException.Stage.RSET && pending.takeFreshSessionRetry()) {
                LOGGER.debug("Reused session to {} failed at RSET, retrying {} on a fresh one",
                    session.endpoint(), part.id());
                destination.budget().refund();
                lane.retryFirst(pending);
                return false;
            }
            sessionFailed(pending, destination, failure, lane, true);
            return false;
        }
        FlowControl flowControl = destination.flowControl();
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction, result,
            flowControl.policy()::defersMail);
        boolean delivered = false;
        boolean deferredByServer = false;
        boolean reconnect = false;
        SmtpReply observed = null;
        for (RecipientVerdict verdict : verdicts.values()) {
            if (verdict.kind() == RecipientVerdict.Kind.DELIVERED) {
                delivered = true;
            } else if (!verdict.generatedLocally()) {
                deferredByServer |= verdict.kind() == RecipientVerdict.Kind.TEMPORARY_FAILURE;
                SmtpReply reply = verdict.reply().get();
                // Recipients refused with one reply (MAIL FROM, DATA) count once.
                if (!reply.equals(observed)) {
                    reconnect |= flowControl.observeReply(reply);
                    observed = reply;
                }
            }
        }
        flowControl.recordAttempt(delivered ? AttemptResult.SUCCEEDED
            : deferredByServer ? AttemptResult.FAILED : AttemptResult.REFUSED);
        if (reconnect && !delivered && deferredByServer && pending.takeFreshSessionRetry()) {
            LOGGER.info("A response rule asked to reconnect to {}: {} goes again on a fresh connection",
                session.endpoint(), part.id());
            destination.budget().refund();
            lane.retryFirst(pending);
            return false;
        }
        Optional<TlsReport> report = delivered ? Optional.of(new TlsReport(security, requirementFor(pending,
            destination.rule(), security.openedFor().dane()), pending.tlsPolicy())) : Optional.empty();
        if (delivered) {
            reportTestingFailure((SecuredSession) session, pending, destination);
        }
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (Map.Entry<String, RecipientVerdict> entry : verdicts.entrySet()) {
            outcomes.put(entry.getKey(), toOutcome(entry.getValue(), destination, report));
        }
        record(destination, outcomes);
        pending.complete(outcomes);
        return !reconnect;
    }

    /**
     * Counts and logs, once per session and recipient domain, a delivery that the domain's MTA-STS {@code testing}
     * policy would have refused under {@code enforce} (RFC 8461 section 5: testing delivers, and reports).
     */
    private static void reportTestingFailure(SecuredSession session, PendingPart pending, Destination destination) {
        DomainTlsPolicy policy = pending.tlsPolicy();
        if (policy.mtaSts().isEmpty()) {
            return;
        }
        Optional<String> failure = policy.testingFailure(session.security());
        if (failure.isPresent() && session.firstTestingFailureFor(policy.domain())) {
            destination.recordTls(TlsOutcome.MTA_STS_TESTING_FAILED);
            LOGGER.info("MTA-STS testing policy of {} ({}) would refuse delivery over {} under enforce; delivered"
                + " anyway: {}", policy.domain(), policy.status(), session.security(), failure.get());
        }
    }

    /** A connection could not be opened or greeted: next endpoint if any, else a deferral. */
    void connectionFailed(PendingPart pending, Destination destination, SmtpSessionException failure,
                          DeliveryLane lane) {
        sessionFailed(pending, destination, failure, lane, false);
    }

    /** @param tokenHeld whether the part still holds its message token (the failure came after the connect) */
    private void sessionFailed(PendingPart pending, Destination destination, SmtpSessionException failure,
                               DeliveryLane lane, boolean tokenHeld) {
        if (aborting) {
            if (failure.stage() == SmtpSessionException.Stage.CONTENT) {
                LOGGER.warn("Delivery of {} was cut by the stop after its content was sent: deferred; it may be"
                    + " delivered twice", pending.part().id());
            }
            pending.completeAll(stopping(pending.part()));
            return;
        }
        RecipientVerdict verdict = classifier.classify(failure);
        FlowControl flowControl = destination.flowControl();
        boolean reconnect = failure.reply().map(flowControl::observeReply).orElse(false);
        flowControl.recordAttempt(AttemptResult.FAILED);
        LOGGER.info("Delivery of {} via {} failed: {}", pending.part().id(), pending.currentEndpoint(),
            verdict.explanation());
        if (reconnect && pending.takeFreshSessionRetry()) {
            if (tokenHeld) {
                destination.budget().refund();
            }
            lane.retryFirst(pending);
            return;
        }
        if (verdict.triesNextMx() && pending.advanceEndpoint()) {
            route(pending);
            return;
        }
        Outcome outcome = toOutcome(verdict, destination, Optional.empty());
        boolean tlsFailure = verdict.deferralReason().orElse(null) == DeferralReason.TLS_POLICY_FAILURE;
        if (tlsFailure) {
            destination.recordTlsPolicyFailure();
        }
        if (verdict.triesNextMx() && outcome.kind() == Outcome.Kind.DEFERRED) {
            outcome = Outcome.deferred(outcome.reason().orElseThrow(),
                "No MX host of " + pending.part().recipientDomain()
                    + (tlsFailure ? " met the TLS policy" : " could be reached") + "; last error: "
                    + verdict.explanation(), verdict.reply(), destination.name(), destination.rule().name(),
                Optional.empty());
        }
        destination.recordFailed(pending.part().recipients().size());
        pending.completeAll(outcome);
    }

    /** A part that arrives while the engine stops waits locally, as if its destination were busy. */
    private Outcome stopping(DeliveryPart part) {
        return Outcome.deferred(DeferralReason.CONNECTION_QUOTA_REACHED, "Messages queued (delivery is stopping)",
            Optional.empty(), part.recipientDomain(), rules.defaultRule().name(),
            Optional.of(clock.instant().plus(jitter(settings.localDeferralDelay()))));
    }

    /**
     * A lane could not serve the part in time (or was full, or its destination is suspended): a local deferral, no
     * attempt counted. Held back by flow control, the part comes back when the backoff or suspension ends (spread
     * a little), and its message says the state, until when and why.
     */
    void deferLocally(PendingPart pending, Destination destination, DeferralReason reason) {
        deferLocally(pending, destination, reason, Optional.empty());
    }

    /**
     * As {@link #deferLocally(PendingPart, Destination, DeferralReason)}; a part turned away for the connection quota
     * comes back at {@code quotaReturnAt} when the lane gave one, else after the jittered local deferral delay.
     */
    void deferLocally(PendingPart pending, Destination destination, DeferralReason reason,
                      Optional<Instant> quotaReturnAt) {
        Instant now = clock.instant();
        Instant notBefore;
        String message = reason.message();
        if (reason == DeferralReason.SUSPENDED || reason == DeferralReason.DYNAMIC_FLOW_CONTROL) {
            FlowState state = destination.flowControl().state();
            notBefore = destination.flowControl().notBefore(state)
                .orElseGet(() -> now.plus(jitter(settings.localDeferralDelay())));
            message = message + ": " + destination.name() + " in " + state.kind()
                + state.until().map(until -> " until " + until).orElse(" until recovered") + " ("
                + state.cause().description() + state.cause().source().map(source -> ", " + source).orElse("") + ")";
        } else if (reason == DeferralReason.RATE_LIMITED) {
            notBefore = now.plus(destination.budget().timeUntilToken()).plus(jitter(Duration.ofSeconds(1)));
        } else {
            notBefore = quotaReturnAt.orElseGet(() -> now.plus(jitter(settings.localDeferralDelay())));
        }
        destination.recordDeferred(reason, pending.part().recipients().size());
        pending.completeAll(Outcome.deferred(reason, message, Optional.empty(), destination.name(),
            destination.rule().name(), Optional.of(notBefore)));
    }

    void failUnexpectedly(PendingPart pending, Destination destination, Throwable unexpected) {
        LOGGER.error("Unexpected failure while delivering {} via {}", pending.part().id(), destination.name(),
            unexpected);
        if (!pending.isDone()) {
            pending.completeAll(Outcome.deferred(DeferralReason.CONNECTION_FAILED,
                "Internal error while delivering: " + unexpected, Optional.empty(), destination.name(),
                destination.rule().name(), Optional.empty()));
        }
    }

    private Outcome toOutcome(RecipientVerdict verdict, Destination destination, Optional<TlsReport> tls) {
        switch (verdict.kind()) {
            case DELIVERED:
                return tls.isPresent()
                    ? Outcome.delivered(verdict.reply(), destination.name(), destination.rule().name(), tls.get())
                    : Outcome.delivered(verdict.reply(), destination.name(), destination.rule().name());
            case PERMANENT_FAILURE:
                return Outcome.bounced(verdict.explanation(), verdict.reply(), destination.name(),
                    destination.rule().name());
            case TEMPORARY_FAILURE:
            default:
                return Outcome.deferred(verdict.deferralReason().orElse(DeferralReason.SMTP_TEMPORARY_FAILURE),
                    verdict.explanation(), verdict.reply(), destination.name(), destination.rule().name(),
                    Optional.empty());
        }
    }

    private static void record(Destination destination, Map<String, Outcome> outcomes) {
        int delivered = 0;
        int failed = 0;
        for (Outcome outcome : outcomes.values()) {
            switch (outcome.kind()) {
                case DELIVERED:
                    delivered++;
                    break;
                case DEFERRED:
                    destination.recordDeferred(outcome.reason().orElseThrow(), 1);
                    break;
                default:
                    failed++;
                    break;
            }
        }
        destination.recordDelivered(delivered);
        destination.recordFailed(failed);
    }

    private Duration jitter(Duration base) {
        long millis = base.toMillis();
        return Duration.ofMillis(millis / 2 + ThreadLocalRandom.current().nextLong(millis + 1));
    }

    /** Lane housekeeping, run by the engine's timer every 200 ms (and by tests, to be deterministic). */
    void sweep() {
        try {
            long now = nowMillis();
            for (Map.Entry<String, DeliveryLane> entry : lanes.entrySet()) {
                if (entry.getValue().sweep(now)) {
                    lanes.remove(entry.getKey(), entry.getValue());
                }
            }
        } catch (RuntimeException e) {
            LOGGER.error("Lane housekeeping failed", e);
        }
    }

    EngineSettings settings() {
        return settings;
    }

    long nowMillis() {
        return clock.millis();
    }

    void execute(Runnable task) {
        workers.execute(task);
    }

    void schedule(Runnable task, Duration delay) {
        if (!closed) {
            timer.schedule(task, Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
        }
    }

    /** Parts waiting in lanes now, summed over destinations (for operators and tests). */
    public int waitingParts() {
        return lanes.values().stream().mapToInt(DeliveryLane::waitingCount).sum();
    }

    /**
     * Stops taking parts, defers every waiting part locally, closes idle sessions, and waits up to {@code grace} for
     * sessions in flight to finish their transaction. Then every session still serving is aborted (no QUIT), its part
     * completed as a local deferral, and this returns once the delivery threads are done: no byte goes out after.
     */
    @Override
    public void close(Duration grace) {
        closed = true;
        timer.shutdownNow();
        for (DeliveryLane lane : lanes.values()) {
            for (PendingPart part : lane.drain()) {
                deferLocally(part, lane.destination(), DeferralReason.CONNECTION_QUOTA_REACHED);
            }
        }
        lanes.clear();
        workers.shutdown();
        if (awaitWorkers(grace)) {
            return;
        }
        aborting = true;
        for (Serving cut : serving) {
            cut.abort();
        }
        workers.shutdownNow();
        if (!awaitWorkers(ABORT_WAIT)) {
            LOGGER.warn("Delivery threads still running {} after their sessions were aborted", ABORT_WAIT);
        }
        for (Serving cut : serving) {
            cut.completeAsStopped();
        }
    }

    private boolean awaitWorkers(Duration wait) {
        try {
            return workers.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** Completes a part that was to get a new connection when the engine closed: a local deferral. */
    void stopped(PendingPart pending) {
        pending.completeAll(stopping(pending.part()));
    }

    /** Registers a delivery thread's work, so that {@link #close(Duration)} can cut it after the grace. */
    Serving serving() {
        Serving work = new Serving();
        serving.add(work);
        return work;
    }

    void served(Serving work) {
        serving.remove(work);
    }

    /** The part and session one delivery thread is serving now. */
    final class Serving {
        private PendingPart part;
        private BlockingSmtpSession session;

        synchronized void part(PendingPart current) {
            this.part = current;
        }

        /** @return false when the engine is aborting: the caller must not use the session, which is aborted */
        boolean session(BlockingSmtpSession opened) {
            synchronized (this) {
                this.session = opened;
            }
            if (aborting && opened != null) {
                opened.abort();
                return false;
            }
            return true;
        }

        void abort() {
            BlockingSmtpSession current;
            synchronized (this) {
                current = session;
            }
            if (current != null) {
                current.abort();
            }
        }

        void completeAsStopped() {
            PendingPart current;
            synchronized (this) {
                current = part;
            }
            if (current != null && !current.isDone()) {
                LOGGER.warn("Delivery of {} was still running after its session was aborted: deferred; should its"
                    + " content have reached the server already, it may be delivered twice", current.part().id());
                current.completeAll(stopping(current.part()));
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }
}

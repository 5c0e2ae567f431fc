package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsProblem;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a part to its destination's lane: its domain's MX hosts ({@link MxLookups}, asynchronous and shared by the
 * parts of one domain), the TLS admission of its domain's MTA-STS policy (an {@code enforce} policy keeps only the MX
 * hosts it lists; mail waits for a discovery at most {@link TlsPolicyResolver#discoveryWait()}, then goes by its
 * rule, and no more than the lanes' capacity wait for one slow discovery), the MX rule of its current host and the
 * destination the governor counts it against. The MX lookup and the MTA-STS discovery start together, so a domain
 * seen for the first time costs one lookup's time, not two in a row; admission continues when both have completed,
 * on the engine's work executor, and no thread waits for either. A part whose domain has no host, whose lookup failed,
 * or whose MTA-STS policy admits none of its hosts ends here. Thread-safe.
 */
final class DeliveryRouter {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryRouter.class);

    private final Governor governor;
    private final MxLookups mx;
    private final TlsPolicyResolver tlsPolicy;
    private final AttemptRecorder recorder;
    private final InFlight inFlight;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final int maxWaiting;
    private final Executor work;
    private final Function<Destination, DeliveryLane> newLane;
    private final ConcurrentMap<String, DeliveryLane> lanes = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Discovery> discoveries = new ConcurrentHashMap<>();
    private volatile RuleSet rules;

    /** @param maxWaiting how many parts of one domain may wait for its slow MTA-STS discovery (the lanes' capacity) */
    DeliveryRouter(Governor governor, RuleSet rules, MxLookups mx, TlsPolicyResolver tlsPolicy,
                   AttemptRecorder recorder, InFlight inFlight, Scheduler scheduler, Ticker ticker, int maxWaiting,
                   Executor work, Function<Destination, DeliveryLane> newLane) {
        this.governor = governor;
        this.rules = Objects.requireNonNull(rules, "rules");
        this.mx = mx;
        this.tlsPolicy = tlsPolicy;
        this.recorder = recorder;
        this.inFlight = inFlight;
        this.scheduler = scheduler;
        this.ticker = ticker;
        this.maxWaiting = maxWaiting;
        this.work = work;
        this.newLane = newLane;
    }

    void useRules(RuleSet newRules) {
        this.rules = Objects.requireNonNull(newRules, "newRules");
    }

    RuleSet rules() {
        return rules;
    }

    Collection<DeliveryLane> lanes() {
        return lanes.values();
    }

    /** Retires a lane its sweep found empty. */
    void retire(String destination, DeliveryLane lane) {
        lanes.remove(destination, lane);
    }

    /**
     * Resolves the part's MX hosts and, side by side, discovers its domain's MTA-STS policy; then admits and queues
     * it. Returns at once.
     */
    void route(PendingPart part) {
        String domain = part.part().recipientDomain();
        CompletableFuture<DomainTlsPolicy> policy = discover(part, domain);
        mx.resolve(domain)
            .whenCompleteAsync((resolution, error) -> guarded(part, () -> resolved(part, resolution, policy)), work);
    }

    private void resolved(PendingPart part, MxResolution resolution, CompletableFuture<DomainTlsPolicy> policy) {
        if (stoppedFor(part)) {
            return;
        }
        DeliveryPart delivery = part.part();
        MxRule defaultRule = rules.defaultRule();
        switch (resolution.status()) {
            case FOUND:
                admit(part, resolution.endpoints(), policy);
                return;
            case TEMPORARY_FAILURE:
                recorder.deferUnrouted(part, DeferralReason.DNS_TEMPORARY_FAILURE, "Temporary problem looking up"
                    + " mail server for " + delivery.recipientDomain() + ": " + resolution.explanation(), defaultRule);
                return;
            case NO_HOST:
            default:
                String explanation = "There are no DNS entries for the host name " + delivery.recipientDomain()
                    + ": " + resolution.explanation();
                if (delivery.dnsProblemRetryAllowed()) {
                    recorder.deferUnrouted(part, DeferralReason.DNS_TEMPORARY_FAILURE, explanation, defaultRule);
                } else {
                    recorder.bounceUnrouted(part, explanation, defaultRule);
                }
        }
    }

    /** The domain's MTA-STS policy, or none once the part has waited the discovery wait for it. */
    private CompletableFuture<DomainTlsPolicy> discover(PendingPart part, String domain) {
        CompletableFuture<DomainTlsPolicy> policy;
        try {
            policy = tlsPolicy.domainPolicy(domain);
        } catch (RuntimeException e) {
            LOGGER.warn("TLS policy lookup of {} failed for {}", domain, part, e);
            policy = CompletableFuture.completedFuture(DomainTlsPolicy.none(domain, "MTA-STS lookup failed: " + e));
        }
        return policy.isDone() ? policy : bounded(domain, policy);
    }

    /** Once the domain's policy is known (or waited for long enough), keeps the hosts it admits. */
    private void admit(PendingPart part, List<SmtpEndpoint> endpoints, CompletableFuture<DomainTlsPolicy> policy) {
        String domain = part.part().recipientDomain();
        policy.whenCompleteAsync((found, error) -> guarded(part, () -> admitted(part, endpoints, found != null
            ? found : DomainTlsPolicy.none(domain, "MTA-STS lookup failed: " + error))), work);
    }

    /**
     * The policy, or none once the discovery wait has passed. Once a discovery has run for {@link MxLookups#SLOW} with
     * {@code maxWaiting} parts waiting for it, further parts do not wait: they go by their rule at once, as they
     * would after the wait, so that one domain's slow policy host does not hold every mail in flight.
     */
    private CompletableFuture<DomainTlsPolicy> bounded(String domain, CompletableFuture<DomainTlsPolicy> policy) {
        String key = domain.toLowerCase(java.util.Locale.ROOT);
        Discovery discovery = discoveries.computeIfAbsent(key, name -> new Discovery(ticker.nanos()));
        long running = ticker.nanos() - discovery.sinceNanos;
        if (running >= MxLookups.SLOW.toNanos() && discovery.waiting.get() >= maxWaiting) {
            return CompletableFuture.completedFuture(DomainTlsPolicy.none(domain, "MTA-STS discovery still running"
                + " after " + running / 1_000_000 + " ms, " + discovery.waiting.get() + " mails waiting for it"));
        }
        discovery.waiting.incrementAndGet();
        CompletableFuture<DomainTlsPolicy> waited = new CompletableFuture<>();
        Scheduler.Scheduled deadline = scheduler.schedule(tlsPolicy.discoveryWait(), () -> waited.complete(
            DomainTlsPolicy.none(domain, "MTA-STS discovery did not end within "
                + tlsPolicy.discoveryWait().toMillis() + " ms")));
        policy.whenComplete((found, error) -> {
            deadline.cancel();
            if (error != null) {
                waited.completeExceptionally(error);
            } else {
                waited.complete(found);
            }
        });
        waited.whenComplete((found, error) -> {
            if (discovery.waiting.decrementAndGet() == 0) {
                discoveries.remove(key, discovery);
            }
        });
        return waited;
    }

    private void admitted(PendingPart part, List<SmtpEndpoint> endpoints, DomainTlsPolicy policy) {
        if (stoppedFor(part)) {
            return;
        }
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
            LOGGER.info("{} for {}: {} {}", TlsProblem.MX_NOT_IN_POLICY.description(), part, refused,
                admitted.isEmpty() ? "(no MX host left: deferred)" : "(skipped)");
        }
        String domain = part.part().recipientDomain();
        if (admitted.isEmpty()) {
            recorder.deferUnrouted(part, DeferralReason.TLS_POLICY_FAILURE, "TLS policy not met for " + domain
                + ": its MTA-STS enforce policy (" + policy.status() + ") lists "
                + policy.mxPatterns() + "; " + TlsProblem.MX_NOT_IN_POLICY.description()
                + ": " + String.join(", ", refused), rules.defaultRule());
            return;
        }
        part.routeTo(admitted, policy);
        toLane(part);
    }

    /** Queues the part again after it moved to its next MX host. */
    void reroute(PendingPart part) {
        guarded(part, () -> toLane(part));
    }

    /** Queues the part in the lane of its current MX host's destination. */
    private void toLane(PendingPart part) {
        if (stoppedFor(part)) {
            return;
        }
        SmtpEndpoint endpoint = part.currentEndpoint();
        MxRule rule = rules.match(endpoint.hostName(), part.part().recipientDomain());
        Destination destination = governor.destination(rule, endpoint.hostName());
        while (true) {
            // A look-up first: the function computeIfAbsent takes would be allocated for every mail.
            DeliveryLane lane = lanes.get(destination.name());
            if (lane == null) {
                lane = lanes.computeIfAbsent(destination.name(), name -> newLane.apply(destination));
            }
            if (lane.offer(part)) {
                return;
            }
            lanes.remove(destination.name(), lane);
        }
    }

    /** Whether the part is done, or the engine stops (and then the part is deferred). */
    private boolean stoppedFor(PendingPart part) {
        if (part.isDone()) {
            return true;
        }
        if (inFlight.closing()) {
            recorder.stopping(part, rules.defaultRule());
            return true;
        }
        return false;
    }

    /** A domain's MTA-STS discovery that parts wait for: since when, and how many. */
    private static final class Discovery {
        final long sinceNanos;
        final AtomicInteger waiting = new AtomicInteger();

        Discovery(long sinceNanos) {
            this.sinceNanos = sinceNanos;
        }
    }

    private void guarded(PendingPart part, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | Error unexpected) {
            recorder.failInternally(part, Optional.empty(), rules.defaultRule(), unexpected);
        }
    }
}

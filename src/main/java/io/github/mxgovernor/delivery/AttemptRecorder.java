package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.DestinationStats;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.RecipientVerdict;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SecuredSession;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Instant;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends parts: turns an attempt's {@link AttemptResult} (or a local decision: a lane that could not serve the part in
 * time, a suspended destination, a failed lookup, an engine that stops) into one final {@link Outcome} per
 * recipient, deferrals through the {@link ReturnSchedule}, and counts each recipient's end once, on the destination's
 * {@link DestinationStats} (which count in the governor's), or on the governor's alone when no destination was
 * reached. Every part of the engine ends here, exactly once. Stateless; thread-safe.
 */
final class AttemptRecorder {
    private static final Logger LOGGER = LoggerFactory.getLogger(AttemptRecorder.class);
    static final String STOPPING = "Messages queued (delivery is stopping)";

    private final ReturnSchedule returns;
    private final TlsPolicyResolver tlsPolicy;
    private final Governor governor;

    AttemptRecorder(ReturnSchedule returns, TlsPolicyResolver tlsPolicy, Governor governor) {
        this.returns = returns;
        this.tlsPolicy = tlsPolicy;
        this.governor = governor;
    }

    /**
     * Ends the part as its attempt's result says: delivered recipients (with the session's TLS), bounced ones, and
     * deferred ones, which come back as the {@link ReturnSchedule} says. An attempt that failed before any transaction
     * on the last MX host says so: no MX host could be reached, or met the TLS policy.
     *
     * @param session the session that carried the transaction; empty when the attempt failed without one
     */
    void complete(AttemptResult result, PendingPart pending, Destination destination,
                  Optional<SecuredSession> session) {
        Optional<TlsReport> report = Optional.empty();
        if (result.delivered() && session.isPresent()) {
            report = Optional.of(new TlsReport(session.get().security(), tlsPolicy.requirement(pending.tlsPolicy(),
                destination.rule().name(), destination.rule().tlsMode(), pending.part().transaction().requireTls(),
                session.get().security().openedFor().dane()), pending.tlsPolicy()));
            reportTestingFailure(session.get(), pending, destination);
        }
        Instant now = governor.clock().instant();
        Optional<DeferralRecord> previous = pending.part().previous();
        Map<RecipientVerdict, Outcome> byVerdict = new IdentityHashMap<>();
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (Map.Entry<String, RecipientVerdict> entry : result.verdicts().entrySet()) {
            RecipientVerdict verdict = entry.getValue();
            Outcome outcome = byVerdict.get(verdict);
            if (outcome == null) {
                outcome = outcome(verdict, pending, destination, report, previous, now);
                byVerdict.put(verdict, outcome);
            }
            outcomes.put(entry.getKey(), outcome);
        }
        end(pending, outcomes, destination.stats());
    }

    private Outcome outcome(RecipientVerdict verdict, PendingPart pending, Destination destination,
                            Optional<TlsReport> tls, Optional<DeferralRecord> previous, Instant now) {
        String rule = destination.rule().name();
        switch (verdict.kind()) {
            case DELIVERED:
                return Outcome.delivered(verdict.reply(), destination.name(), rule, tls,
                    previous.map(record -> record.delivered(now)));
            case PERMANENT_FAILURE:
                return Outcome.bounced(verdict.explanation(), verdict.reply(), destination.name(), rule,
                    previous.map(record -> record.bounced(now, verdict.explanation(), verdict.reply())));
            case TEMPORARY_FAILURE:
            default:
                DeferralReason reason = verdict.deferralReason().orElseThrow();
                String message = verdict.explanation();
                if (verdict.triesNextMx()) {
                    message = "No MX host of " + pending.part().recipientDomain()
                        + (reason == DeferralReason.TLS_POLICY_FAILURE ? " met the TLS policy" : " could be reached")
                        + "; last error: " + message;
                }
                return returns.defer(previous, event(now, reason, message, verdict.reply(), destination.name(), rule),
                    verdict.reply(), now);
        }
    }

    /**
     * A lane could not serve the part in time (or was full, or its destination is suspended): a local deferral, no
     * attempt made. Its message says, for flow control, the state, until when and why.
     *
     * @param returnSlot for the connection quota, the lane's return slot when it gave one
     */
    void deferLocally(PendingPart pending, Destination destination, DeferralReason reason,
                      Optional<Instant> returnSlot) {
        String message = reason.message();
        if (reason == DeferralReason.SUSPENDED || reason == DeferralReason.DYNAMIC_FLOW_CONTROL) {
            FlowState state = destination.flowControl().state();
            message = message + ": " + destination.name() + " in " + state.kind()
                + state.until().map(until -> " until " + until).orElse(" until recovered") + " ("
                + state.cause().description() + state.cause().source().map(source -> ", " + source).orElse("") + ")";
        }
        Instant earliest = returns.localReturn(reason, Optional.of(destination), returnSlot);
        defer(pending, reason, message, destination.name(), destination.rule().name(), earliest, destination.stats());
    }

    /**
     * A part that arrives, or still waits, while the engine stops: it waits locally, as if its destination were busy.
     *
     * @param rule the rule of its destination when it has one, else the default rule
     * @return whether this ended the part (it had not ended before)
     */
    boolean stopping(PendingPart pending, MxRule rule) {
        return defer(pending, DeferralReason.CONNECTION_QUOTA_REACHED, STOPPING, pending.part().recipientDomain(),
            rule.name(), returns.localReturn(DeferralReason.CONNECTION_QUOTA_REACHED, Optional.empty(),
                Optional.empty()), governor.stats());
    }

    /**
     * A part that reached no destination, deferred for a failed attempt's {@code reason} (its MX lookup failed, its
     * domain's MTA-STS policy admits none of its MX hosts): counted on the governor, a failed attempt too.
     */
    void deferUnrouted(PendingPart pending, DeferralReason reason, String message, MxRule defaultRule) {
        governor.stats().recordFailedAttempt(reason);
        defer(pending, reason, message, pending.part().recipientDomain(), defaultRule.name(),
            governor.clock().instant(), governor.stats());
    }

    /** A part whose domain has no mail host at all, while its DNS problems may not be retried: it bounces. */
    void bounceUnrouted(PendingPart pending, String message, MxRule defaultRule) {
        Instant now = governor.clock().instant();
        Outcome bounced = Outcome.bounced(message, Optional.empty(), pending.part().recipientDomain(),
            defaultRule.name(), pending.part().previous().map(record -> record.bounced(now, message,
                Optional.empty())));
        end(pending, each(pending, bounced), governor.stats());
    }

    /** Something of our own making failed (a session implementation threw, say): deferred, nothing learnt. */
    void failInternally(PendingPart pending, Optional<Destination> destination, MxRule rule, Throwable unexpected) {
        LOGGER.error("Unexpected failure while delivering {} via {}", pending.part().id(),
            destination.map(Destination::name).orElse(pending.part().recipientDomain()), unexpected);
        defer(pending, DeferralReason.CONNECTION_FAILED, "Internal error while delivering: " + unexpected,
            destination.map(Destination::name).orElse(pending.part().recipientDomain()), rule.name(),
            governor.clock().instant(), destination.map(Destination::stats).orElse(governor.stats()));
    }

    private boolean defer(PendingPart pending, DeferralReason reason, String message, String destination,
                          String rule, Instant earliest, DestinationStats stats) {
        if (pending.isDone()) {
            return false;
        }
        Instant now = governor.clock().instant();
        Outcome outcome = returns.defer(pending.part().previous(),
            event(now, reason, message, Optional.empty(), destination, rule), Optional.empty(), earliest);
        return end(pending, each(pending, outcome), stats);
    }

    /**
     * The one end of a part: counted (before the part completes, so that whoever waits on it sees the counters it
     * changed), then completed. False, and nothing counted, when the part had ended before.
     */
    private static boolean end(PendingPart pending, Map<String, Outcome> outcomes, DestinationStats stats) {
        if (!pending.claimEnd()) {
            return false;
        }
        int delivered = 0;
        int bounced = 0;
        Map<DeferralReason, Integer> deferred = new EnumMap<>(DeferralReason.class);
        for (Outcome outcome : outcomes.values()) {
            switch (outcome.kind()) {
                case DELIVERED:
                    delivered++;
                    break;
                case BOUNCED:
                    bounced++;
                    break;
                default:
                    deferred.merge(outcome.reason().orElseThrow(), 1, Integer::sum);
                    break;
            }
        }
        stats.recordDelivered(delivered);
        deferred.forEach(stats::recordDeferred);
        stats.recordBounced(bounced);
        pending.finish(outcomes);
        return true;
    }

    private static DeferralEvent event(Instant at, DeferralReason reason, String message, Optional<SmtpReply> reply,
                                       String destination, String rule) {
        DeferralEvent.Builder event = DeferralEvent.builder(at, reason).message(message).destination(destination)
            .rule(rule);
        reply.ifPresent(event::serverReply);
        return event.build();
    }

    private static Map<String, Outcome> each(PendingPart pending, Outcome outcome) {
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (String recipient : pending.part().recipients()) {
            outcomes.put(recipient, outcome);
        }
        return outcomes;
    }

    /** Logs, once per session and recipient domain, a delivery an MTA-STS {@code testing} policy would refuse. */
    private static void reportTestingFailure(SecuredSession session, PendingPart pending, Destination destination) {
        DomainTlsPolicy policy = pending.tlsPolicy();
        if (!policy.hasMtaSts()) {
            return;
        }
        Optional<String> failure = policy.testingFailure(session.security());
        if (failure.isPresent() && session.firstTestingFailureFor(policy.domain())) {
            destination.stats().recordMtaStsTestingFailure();
            LOGGER.info("MTA-STS testing policy of {} ({}) would refuse delivery over {} under enforce; delivered"
                + " anyway: {}", policy.domain(), policy.status(), session.security(), failure.get());
        }
    }
}

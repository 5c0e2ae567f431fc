package io.github.mxgovernor.delivery;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.AttemptResult;
import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.TlsOutcome;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SecuredSession;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each attempt means, and its record: turns a transaction's replies or a session's failure into one outcome per
 * recipient through the {@link ReplyClassifier}, feeds the destination's {@link FlowControl} (whether the attempt
 * succeeded, failed or was refused for good, and each distinct server reply that was not a success), counts
 * recipients on the destination, and completes the part. Texts the engine or the classifier made up never reach the
 * response rules. Local deferrals (a lane that could not serve a part in time, a suspended destination, an engine
 * that stops) are decided here too. Stateless; thread-safe.
 */
final class AttemptRecorder {
    private static final Logger LOGGER = LoggerFactory.getLogger(AttemptRecorder.class);

    private final ReplyClassifier classifier;
    private final TlsPolicyResolver tlsPolicy;
    private final EngineSettings settings;
    private final Clock clock;

    AttemptRecorder(ReplyClassifier classifier, TlsPolicyResolver tlsPolicy, EngineSettings settings, Clock clock) {
        this.classifier = classifier;
        this.tlsPolicy = tlsPolicy;
        this.settings = settings;
        this.clock = clock;
    }

    /** A transaction's replies, classified, with flow control fed. */
    static final class Review {
        final Map<String, RecipientVerdict> verdicts;
        final boolean delivered;
        final boolean deferredByServer;
        final boolean reconnect;

        Review(Map<String, RecipientVerdict> verdicts, boolean delivered, boolean deferredByServer,
               boolean reconnect) {
            this.verdicts = verdicts;
            this.delivered = delivered;
            this.deferredByServer = deferredByServer;
            this.reconnect = reconnect;
        }

        /** A response rule asked to reconnect and the server took nothing: the part may go again, freshly. */
        boolean wantsFreshSession() {
            return reconnect && !delivered && deferredByServer;
        }
    }

    /** Classifies the transaction's replies and feeds flow control; the part is completed by {@link #complete}. */
    Review review(Destination destination, SmtpTransaction transaction, TransactionResult result) {
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
        return new Review(verdicts, delivered, deferredByServer, reconnect);
    }

    /** Completes the part from the review: outcomes (with the session's TLS when delivered), counters. */
    void complete(Review review, PendingPart pending, Destination destination, SecuredSession session) {
        Optional<TlsReport> report = Optional.empty();
        if (review.delivered) {
            report = Optional.of(new TlsReport(session.security(), tlsPolicy.requirement(pending.tlsPolicy(),
                destination.rule().name(), destination.rule().tlsMode(), pending.part().requireTls(),
                session.security().openedFor().dane()), pending.tlsPolicy()));
            reportTestingFailure(session, pending, destination);
        }
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (Map.Entry<String, RecipientVerdict> entry : review.verdicts.entrySet()) {
            outcomes.put(entry.getKey(), toOutcome(entry.getValue(), destination, report));
        }
        // Counted before the part completes, so that whoever waits on the part sees the counters it changed.
        if (!pending.isDone()) {
            record(destination, outcomes);
            pending.complete(outcomes);
        }
    }

    /** A session failure, classified, with flow control fed when the server had a part in it. */
    static final class Failure {
        final RecipientVerdict verdict;
        final boolean reconnect;

        Failure(RecipientVerdict verdict, boolean reconnect) {
            this.verdict = verdict;
            this.reconnect = reconnect;
        }
    }

    /**
     * Classifies a session failure (opening it, or during a transaction) and feeds flow control; null for a failure
     * of our own making (an exception other than {@link SmtpSessionException}), which {@link #failInternally} ends.
     */
    Failure review(Destination destination, PendingPart pending, Throwable failure) {
        if (!(failure instanceof SmtpSessionException)) {
            return null;
        }
        SmtpSessionException sessionFailure = (SmtpSessionException) failure;
        RecipientVerdict verdict = classifier.classify(sessionFailure);
        FlowControl flowControl = destination.flowControl();
        boolean reconnect = sessionFailure.reply().map(flowControl::observeReply).orElse(false);
        flowControl.recordAttempt(AttemptResult.FAILED);
        LOGGER.info("Delivery of {} via {} failed: {}", pending.part().id(), pending.currentEndpoint(),
            verdict.explanation());
        return new Failure(verdict, reconnect);
    }

    /** Completes the part after a session failure that leaves no other MX host to try. */
    void complete(Failure failure, PendingPart pending, Destination destination) {
        RecipientVerdict verdict = failure.verdict;
        Outcome outcome = toOutcome(verdict, destination, Optional.empty());
        boolean tlsFailure = verdict.deferralReason().orElse(null) == DeferralReason.TLS_POLICY_FAILURE;
        if (verdict.triesNextMx() && outcome.kind() == Outcome.Kind.DEFERRED) {
            outcome = Outcome.deferred(outcome.reason().orElseThrow(),
                "No MX host of " + pending.part().recipientDomain()
                    + (tlsFailure ? " met the TLS policy" : " could be reached") + "; last error: "
                    + verdict.explanation(), verdict.reply(), destination.name(), destination.rule().name(),
                Optional.empty());
        }
        if (!pending.isDone()) {
            if (tlsFailure) {
                destination.recordTlsPolicyFailure();
            }
            destination.recordFailed(pending.part().recipients().size());
            pending.completeAll(outcome);
        }
    }

    /** Something of our own making failed (a session implementation threw, say): deferred, nothing learnt. */
    void failInternally(PendingPart pending, Destination destination, Throwable unexpected) {
        LOGGER.error("Unexpected failure while delivering {} via {}", pending.part().id(), destination.name(),
            unexpected);
        pending.completeAll(Outcome.deferred(DeferralReason.CONNECTION_FAILED,
            "Internal error while delivering: " + unexpected, Optional.empty(), destination.name(),
            destination.rule().name(), Optional.empty()));
    }

    /** Logs, once per session and recipient domain, a delivery an MTA-STS {@code testing} policy would refuse. */
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

    /**
     * A lane could not serve the part in time (or was full, or its destination is suspended): a local deferral, no
     * attempt counted. Held back by flow control, the part comes back when the backoff or suspension ends (spread
     * a little), and its message says the state, until when and why; held back by the rate, when a token is due;
     * turned away for the connection quota, at {@code quotaReturnAt} when the lane gave a return slot, else after the
     * jittered local deferral delay.
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
        if (!pending.isDone()) {
            destination.recordDeferred(reason, pending.part().recipients().size());
            pending.completeAll(Outcome.deferred(reason, message, Optional.empty(), destination.name(),
                destination.rule().name(), Optional.of(notBefore)));
        }
    }

    /**
     * A part that arrives, or still waits, while the engine stops: it waits locally, as if its destination were busy.
     *
     * @param rule the rule of its destination when it has one, else the default rule
     */
    Outcome stopping(DeliveryPart part, MxRule rule) {
        return Outcome.deferred(DeferralReason.CONNECTION_QUOTA_REACHED, "Messages queued (delivery is stopping)",
            Optional.empty(), part.recipientDomain(), rule.name(),
            Optional.of(clock.instant().plus(jitter(settings.localDeferralDelay()))));
    }

    private static Outcome toOutcome(RecipientVerdict verdict, Destination destination, Optional<TlsReport> tls) {
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

    private static Duration jitter(Duration base) {
        long millis = base.toMillis();
        return Duration.ofMillis(millis / 2 + ThreadLocalRandom.current().nextLong(millis + 1));
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.tls.SecuredSession;
import io.github.mxgovernor.tls.SessionOpener;
import io.github.mxgovernor.tls.TlsPolicyResolver;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the attempts lanes dispatch, on futures: opens a session for a part (through the {@link SessionOpener}) or
 * takes the idle one it was given, sends its transaction, and, when the future completes, has the
 * {@link ReplyClassifier} say what the attempt means, the destination {@linkplain Destination#record record} it, the
 * {@link AttemptRecorder} end the part, and the lane decide what the session does next. No thread waits meanwhile:
 * continuations run on the engine's work executor.
 *
 * <p>Every path gives back what it took exactly once: a session that could not be opened releases its slot and
 * refunds its token whatever the failure (an {@link SmtpSessionException}, any other exception or an
 * {@link Error}, thrown or delivered by the future); a session that failed is aborted and its slot released.
 */
final class AttemptRunner {
    private static final Logger LOGGER = LoggerFactory.getLogger(AttemptRunner.class);

    private final SessionOpener opener;
    private final ReplyClassifier classifier;
    private final AttemptRecorder recorder;
    private final TlsPolicyResolver tlsPolicy;
    private final InFlight inFlight;
    private final Executor work;
    private final Consumer<PendingPart> nextMx;

    /** @param nextMx routes a part again after it moved to its next MX host */
    AttemptRunner(SessionOpener opener, ReplyClassifier classifier, AttemptRecorder recorder,
                  TlsPolicyResolver tlsPolicy, InFlight inFlight, Executor work, Consumer<PendingPart> nextMx) {
        this.opener = opener;
        this.classifier = classifier;
        this.recorder = recorder;
        this.tlsPolicy = tlsPolicy;
        this.inFlight = inFlight;
        this.work = work;
        this.nextMx = nextMx;
    }

    /** Opens a session for the part on {@code slot}, then runs its transaction there. */
    void open(DeliveryLane lane, PendingPart part, ConnectionSlot slot, MessageToken token) {
        Destination destination = lane.destination();
        CompletableFuture<SecuredSession> opening;
        try {
            opening = opener.open(part.currentEndpoint(), destination.rule(), part.tlsPolicy(),
                part.part().transaction().requireTls());
        } catch (Throwable thrown) {
            opening = CompletableFuture.failedFuture(thrown);
        }
        part.opening(opening);
        opening.whenCompleteAsync((secured, error) -> guarded(part, destination, () -> {
            if (error != null) {
                openFailed(lane, part, slot, token, unwrap(error));
            } else {
                opened(lane, part, slot, token, secured);
            }
        }), work);
    }

    private void openFailed(DeliveryLane lane, PendingPart part, ConnectionSlot slot, MessageToken token,
                            Throwable failure) {
        slot.release();
        token.refund();
        try {
            if (inFlight.closing()) {
                recorder.stopping(part, lane.destination().rule());
            } else if (!part.isDone()) {
                judgeFailure(lane, part, token, failure);
            }
        } finally {
            lane.openEnded();
        }
    }

    private void opened(DeliveryLane lane, PendingPart part, ConnectionSlot slot, MessageToken token,
                        SecuredSession secured) {
        PooledSession session = lane.adopt(secured, slot, part);
        if (inFlight.closing() || part.isDone()) {
            token.refund();
            lane.sessionBroken(session);
            return;
        }
        transact(lane, session, part, token);
    }

    /** Runs the part's transaction on a session of the lane (counted busy), then hands the session back. */
    void transact(DeliveryLane lane, PooledSession session, PendingPart part, MessageToken token) {
        Destination destination = lane.destination();
        SecuredSession secured = session.secured();
        if (!tlsPolicy.admits(secured.security(), part.tlsPolicy(), destination.rule().tlsMode(),
            part.part().transaction().requireTls())) {
            // Lanes never hand such a pair out; should one slip through, nothing is sent on it.
            LOGGER.warn("Session {} does not meet the TLS policy of {}: not used for it", secured, part);
            if (!lane.retryOnFreshSession(part, token, session)) {
                recorder.failInternally(part, Optional.of(destination), destination.rule(),
                    new IllegalStateException("no session meeting the TLS policy of " + part + " after a retry"));
                lane.sessionFree(session);
            }
            return;
        }
        SmtpTransaction transaction = part.part().transaction();
        boolean reused = session.session().transactionCount() > 0;
        part.sending(session);
        // After the stage is written: either the engine's close sees it sending, or this sees the engine closing.
        if (inFlight.closing() || part.isDone()) {
            token.refund();
            recorder.stopping(part, destination.rule());
            lane.sessionFree(session);
            return;
        }
        CompletableFuture<TransactionResult> sent;
        try {
            sent = session.session().send(transaction);
        } catch (Throwable thrown) {
            sent = CompletableFuture.failedFuture(thrown);
        }
        sent.whenCompleteAsync((result, error) -> guarded(part, destination, () -> {
            if (error != null) {
                sendFailed(lane, session, part, token, reused, unwrap(error));
            } else {
                sent(lane, session, part, token, result);
            }
        }), work);
    }

    private void sent(DeliveryLane lane, PooledSession session, PendingPart part, MessageToken token,
                      TransactionResult replies) {
        if (part.isDone()) {
            // Completed meanwhile by an engine that stopped: it was deferred, the session ends.
            LOGGER.warn("{} ended after delivery stopped (MAIL FROM {}): it was deferred and may be sent again",
                part, replies.mailFromReply().map(SmtpReply::toString).orElse("not sent"));
            lane.sessionBroken(session);
            return;
        }
        Destination destination = lane.destination();
        AttemptResult result = classifier.classify(part.part().transaction(), replies,
            destination.flowControl().policy());
        boolean reconnect = destination.record(result);
        // The server took nothing and deferred: the part may go again, freshly, once.
        if (reconnect && result.signal() == FlowSignal.THROTTLED && lane.retryOnFreshSession(part, token, session)) {
            LOGGER.info("A response rule asked to reconnect to {}: {} goes again on a fresh connection",
                session.hostName(), part);
            return;
        }
        recorder.complete(result, part, destination, Optional.of(session.secured()));
        if (reconnect) {
            lane.sessionSpent(session);
        } else {
            lane.sessionFree(session);
        }
    }

    private void sendFailed(DeliveryLane lane, PooledSession session, PendingPart part, MessageToken token,
                            boolean reused, Throwable failure) {
        if (reused && failure instanceof SmtpSessionException && !part.isDone()
            && ((SmtpSessionException) failure).stage() == SmtpSessionException.Stage.RSET
            && lane.retryOnFreshSession(part, token, session)) {
            LOGGER.debug("Reused session to {} failed at RSET, retrying {} on a fresh one", session.hostName(), part);
            return;
        }
        try {
            if (!part.isDone()) {
                judgeFailure(lane, part, token, failure);
            }
        } finally {
            // Last, so that the lane counts the session busy (and stays) while the part finds its way.
            lane.sessionBroken(session);
        }
    }

    /**
     * After a session failure: what it means, recorded on the destination; then the part goes again freshly, to its
     * next MX host, or ends. A failure of our own making (not an {@link SmtpSessionException}) teaches nothing.
     */
    private void judgeFailure(DeliveryLane lane, PendingPart part, MessageToken token, Throwable failure) {
        Destination destination = lane.destination();
        if (!(failure instanceof SmtpSessionException)) {
            recorder.failInternally(part, Optional.of(destination), destination.rule(), failure);
            return;
        }
        AttemptResult result = classifier.classify((SmtpSessionException) failure, part.part().recipients(),
            destination.flowControl().policy());
        boolean reconnect = destination.record(result);
        LOGGER.info("Delivery of {} via {} failed: {}", part.part().id(), part.currentEndpoint(),
            failure.getMessage());
        if (reconnect && lane.retryOnFreshSession(part, token, null)) {
            return;
        }
        if (result.triesNextMx() && part.advanceEndpoint()) {
            nextMx.accept(part);
            return;
        }
        recorder.complete(result, part, destination, Optional.empty());
    }

    /** A failure of the engine's own code still ends the part, rather than vanish in a future. */
    private void guarded(PendingPart part, Destination destination, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | Error unexpected) {
            recorder.failInternally(part, Optional.of(destination), destination.rule(), unexpected);
        }
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.tls.DomainTlsPolicy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A part on its way: where it stands, the endpoints left to try, how long it may still wait in a lane, and the future
 * its sender waits on. Ended exactly once (the first to claim its end wins), with one outcome per recipient.
 *
 * <p>Handed from thread to thread through futures and lane locks, which order its plain fields; what
 * {@link DeliveryEngine#close} reads while the part moves (its stage, the opening it may cancel, the session carrying
 * it) is volatile.
 */
final class PendingPart {
    /** Where a part stands. */
    enum Stage {
        /** Its MX hosts or its domain's MTA-STS policy are being looked up. */
        ROUTING,
        /** In its destination's lane, waiting for a connection and a token. */
        WAITING,
        /** A session is being opened for it. */
        OPENING,
        /** Its transaction runs: the content may be on the wire. */
        SENDING
    }

    private final DeliveryPart part;
    private final CompletableFuture<Map<String, Outcome>> result;
    private final AtomicBoolean ended = new AtomicBoolean();
    private List<SmtpEndpoint> endpoints = List.of();
    private DomainTlsPolicy tlsPolicy;
    private int endpointIndex;
    private long deadlineNanos;
    /** When a session took it into service, or began to open for it; guarded by its lane's lock. */
    private long takenNanos;
    private boolean retriedOnFreshSession;
    private boolean needsFreshSession;
    private volatile Stage stage = Stage.ROUTING;
    private volatile CompletableFuture<?> opening;
    private volatile PooledSession session;

    PendingPart(DeliveryPart part, CompletableFuture<Map<String, Outcome>> result) {
        this.part = part;
        this.result = result;
    }

    DeliveryPart part() {
        return part;
    }

    CompletableFuture<Map<String, Outcome>> result() {
        return result;
    }

    /**
     * Where the part goes: its MX endpoints in order, only those its domain's TLS policy admits, and that policy as
     * it stood when the part was routed.
     */
    void routeTo(List<SmtpEndpoint> admitted, DomainTlsPolicy policy) {
        this.endpoints = admitted;
        this.tlsPolicy = policy;
        this.endpointIndex = 0;
    }

    /** The recipient domain's TLS policy (MTA-STS); null before the part was routed. */
    DomainTlsPolicy tlsPolicy() {
        return tlsPolicy;
    }

    SmtpEndpoint currentEndpoint() {
        return endpoints.get(endpointIndex);
    }

    /** Whether {@code hostName} is one of this part's MX hosts, so a session to it may carry the part. */
    boolean acceptsHost(String hostName) {
        for (SmtpEndpoint endpoint : endpoints) {
            if (endpoint.hostName().equalsIgnoreCase(hostName)) {
                return true;
            }
        }
        return false;
    }

    /** Moves to the next endpoint; false when none is left. */
    boolean advanceEndpoint() {
        if (endpointIndex + 1 >= endpoints.size()) {
            return false;
        }
        endpointIndex++;
        return true;
    }

    /** When the part's wait in its lane ends, on the engine's ticker. */
    long deadlineNanos() {
        return deadlineNanos;
    }

    void waitUntil(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    /** When a session took the part into service, or began to open for it, on the engine's ticker. */
    long takenNanos() {
        return takenNanos;
    }

    void takenAt(long nanos) {
        this.takenNanos = nanos;
    }

    /**
     * Takes the part's one retry on a fresh session (a reused session turned out stale, or a response rule asked to
     * reconnect); false when it was taken before. From then on the part goes only on a newly opened session.
     */
    boolean takeFreshSessionRetry() {
        if (retriedOnFreshSession) {
            return false;
        }
        retriedOnFreshSession = true;
        needsFreshSession = true;
        return true;
    }

    /** Whether only a newly opened session may carry the part (see {@link #takeFreshSessionRetry()}). */
    boolean needsFreshSession() {
        return needsFreshSession;
    }

    Stage stage() {
        return stage;
    }

    void waiting() {
        stage = Stage.WAITING;
        session = null;
        opening = null;
    }

    /** A session is being opened for the part; {@code future} is cancelled if the engine stops meanwhile. */
    void opening(CompletableFuture<?> future) {
        opening = future;
        stage = Stage.OPENING;
    }

    CompletableFuture<?> openingFuture() {
        return opening;
    }

    /** The part's transaction starts on {@code carrier}. */
    void sending(PooledSession carrier) {
        session = carrier;
        opening = null;
        stage = Stage.SENDING;
    }

    /** The session carrying the part now, if its transaction runs. */
    PooledSession session() {
        return session;
    }

    /**
     * Takes the part's one end: true for the first caller, who then counts the outcomes and {@linkplain #finish
     * finishes} the part; false when it ended before (the engine stopping, say).
     */
    boolean claimEnd() {
        return ended.compareAndSet(false, true);
    }

    /** Completes the part's future, once its end was {@linkplain #claimEnd() claimed}. */
    void finish(Map<String, Outcome> outcomes) {
        result.complete(outcomes);
    }

    /** Whether the part's end was claimed: nothing more is to be done for it. */
    boolean isDone() {
        return ended.get();
    }

    @Override
    public String toString() {
        return part.id();
    }
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.tls.DomainTlsPolicy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A part on its way: the endpoints left to try, how long it may still wait in a lane, and the future its
 * sender waits on. Completed exactly once, with one outcome per recipient.
 */
final class PendingPart {
    private final DeliveryPart part;
    private final List<SmtpEndpoint> endpoints;
    private final CompletableFuture<Map<String, Outcome>> result;
    private final DomainTlsPolicy tlsPolicy;
    private int endpointIndex;
    private long deadlineMillis;
    private boolean retriedOnFreshSession;

    /** @param endpoints the MX endpoints to try in order, only those the domain's TLS policy admits */
    PendingPart(DeliveryPart part, List<SmtpEndpoint> endpoints, CompletableFuture<Map<String, Outcome>> result,
                DomainTlsPolicy tlsPolicy) {
        this.part = part;
        this.endpoints = endpoints;
        this.result = result;
        this.tlsPolicy = tlsPolicy;
    }

    DeliveryPart part() {
        return part;
    }

    /** The recipient domain's TLS policy (MTA-STS), as it stood when the part was routed. */
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

    long deadlineMillis() {
        return deadlineMillis;
    }

    void waitUntil(long deadlineMillis) {
        this.deadlineMillis = deadlineMillis;
    }

    /** A reused session may have been closed by the server while idle: the part gets one fresh session. */
    boolean takeFreshSessionRetry() {
        if (retriedOnFreshSession) {
            return false;
        }
        retriedOnFreshSession = true;
        return true;
    }

    void complete(Map<String, Outcome> outcomes) {
        result.complete(outcomes);
    }

    void completeAll(Outcome outcome) {
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (String recipient : part.recipients()) {
            outcomes.put(recipient, outcome);
        }
        result.complete(outcomes);
    }

    boolean isDone() {
        return result.isDone();
    }
}

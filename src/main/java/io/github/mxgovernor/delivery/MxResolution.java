package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpEndpoint;

import java.util.List;
import java.util.Objects;

/** The answer of an {@link MxResolver}: endpoints to try in order, no host at all, or a temporary failure. */
public final class MxResolution {
    /** The three answers a resolver can give. */
    public enum Status { FOUND, NO_HOST, TEMPORARY_FAILURE }

    private final Status status;
    private final List<SmtpEndpoint> endpoints;
    private final String explanation;

    private MxResolution(Status status, List<SmtpEndpoint> endpoints, String explanation) {
        this.status = status;
        this.endpoints = List.copyOf(endpoints);
        this.explanation = Objects.requireNonNull(explanation, "explanation");
    }

    /** Endpoints (MX host, address, port) in the order they should be tried; at least one. */
    public static MxResolution found(List<SmtpEndpoint> endpoints) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("found() needs at least one endpoint");
        }
        return new MxResolution(Status.FOUND, endpoints, "");
    }

    /** The domain has neither a usable MX nor an A record. */
    public static MxResolution noHost(String explanation) {
        return new MxResolution(Status.NO_HOST, List.of(), explanation);
    }

    /** DNS could not answer now (SERVFAIL, timeout). */
    public static MxResolution temporaryFailure(String explanation) {
        return new MxResolution(Status.TEMPORARY_FAILURE, List.of(), explanation);
    }

    public Status status() {
        return status;
    }

    public List<SmtpEndpoint> endpoints() {
        return endpoints;
    }

    public String explanation() {
        return explanation;
    }
}

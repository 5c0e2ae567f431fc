package io.github.mxgovernor.tls;

import java.util.Objects;
import java.util.Optional;

/**
 * What a PKIX check of a server's certificate found: the chain to a trusted anchor, the validity dates and the MX
 * host name, the checks {@link TlsMode#VERIFY} and MTA-STS {@code enforce} require. A session that does not require
 * them still makes them, to record (never enforce) the result: MTA-STS {@code testing} reports what {@code enforce}
 * would have refused. Immutable.
 */
public final class CertificateCheck {
    /** The three results of a check. */
    public enum Kind { VALID, FAILED, NOT_CHECKED }

    private static final CertificateCheck VALID = new CertificateCheck(Kind.VALID, Optional.empty(),
        "valid (PKIX chain, validity dates and host name)");

    private final Kind kind;
    private final Optional<TlsProblem> problem;
    private final String description;

    private CertificateCheck(Kind kind, Optional<TlsProblem> problem, String description) {
        this.kind = kind;
        this.problem = problem;
        this.description = description;
    }

    /** The certificate passed every check. */
    public static CertificateCheck valid() {
        return VALID;
    }

    /**
     * A check failed.
     *
     * @param problem {@link TlsProblem#UNTRUSTED_CHAIN}, {@link TlsProblem#EXPIRED_CERTIFICATE} or
     *     {@link TlsProblem#HOST_NAME_MISMATCH}
     * @param detail what the check said, for operators
     */
    public static CertificateCheck failed(TlsProblem problem, String detail) {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(detail, "detail");
        if (problem != TlsProblem.UNTRUSTED_CHAIN && problem != TlsProblem.EXPIRED_CERTIFICATE
            && problem != TlsProblem.HOST_NAME_MISMATCH) {
            throw new IllegalArgumentException("a certificate check fails on the chain, the dates or the host name,"
                + " not on " + problem);
        }
        return new CertificateCheck(Kind.FAILED, Optional.of(problem), problem.description()
            + (detail.isBlank() ? "" : ": " + detail));
    }

    /** The certificate was not checked; {@code why} says why. */
    public static CertificateCheck notChecked(String why) {
        Objects.requireNonNull(why, "why");
        if (why.isBlank()) {
            throw new IllegalArgumentException("say why the certificate was not checked");
        }
        return new CertificateCheck(Kind.NOT_CHECKED, Optional.empty(), "not checked: " + why);
    }

    public Kind kind() {
        return kind;
    }

    /** Which check failed; present exactly when {@link #kind()} is {@link Kind#FAILED}. */
    public Optional<TlsProblem> problem() {
        return problem;
    }

    /**
     * For operators: {@code valid (PKIX chain, validity dates and host name)}, {@code certificate chain not trusted:
     * ...}, {@code not checked: ...}.
     */
    public String description() {
        return description;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CertificateCheck)) {
            return false;
        }
        CertificateCheck that = (CertificateCheck) o;
        return kind == that.kind && problem.equals(that.problem) && description.equals(that.description);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, problem, description);
    }

    @Override
    public String toString() {
        return description;
    }
}

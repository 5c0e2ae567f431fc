package io.github.mxgovernor.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What a recipient domain publishes about TLS: its MTA-STS policy when one is in force, and a status for operators
 * that says where it comes from or why there is none (no TXT record, a malformed one, a failed fetch, a cached
 * policy kept while a refetch fails). Immutable.
 */
public final class DomainTlsPolicy {
    private final String domain;
    private final Optional<MtaStsPolicy> mtaSts;
    private final String status;

    private DomainTlsPolicy(String domain, Optional<MtaStsPolicy> mtaSts, String status) {
        this.domain = Objects.requireNonNull(domain, "domain");
        this.mtaSts = Objects.requireNonNull(mtaSts, "mtaSts");
        this.status = Objects.requireNonNull(status, "status");
    }

    /** The domain has no MTA-STS policy in force; {@code status} says why. */
    public static DomainTlsPolicy none(String domain, String status) {
        return new DomainTlsPolicy(domain, Optional.empty(), status);
    }

    /** The domain's policy is in force; {@code status} says which (id, expiry, problems met while refreshing). */
    public static DomainTlsPolicy mtaSts(String domain, MtaStsPolicy policy, String status) {
        return new DomainTlsPolicy(domain, Optional.of(policy), status);
    }

    public String domain() {
        return domain;
    }

    Optional<MtaStsPolicy> mtaSts() {
        return mtaSts;
    }

    /** Whether the domain has an MTA-STS policy in force (enforce or testing). */
    public boolean hasMtaSts() {
        return mtaSts.isPresent();
    }

    /** The MX host patterns the domain's MTA-STS policy lists; none without a policy. */
    public List<String> mxPatterns() {
        return mtaSts.map(MtaStsPolicy::mxPatterns).orElse(List.of());
    }

    /** For operators, such as {@code enforce (id 2024a, until 2025-01-02T00:00:00Z)} or {@code no TXT record}. */
    public String status() {
        return status;
    }

    /** Whether an MTA-STS policy in {@code enforce} mode is in force. */
    public boolean enforces() {
        return mtaSts.isPresent() && mtaSts.get().mode() == MtaStsPolicy.Mode.ENFORCE;
    }

    /** Whether mail may go to this MX host: always, except under {@code enforce} for a host the policy omits. */
    public boolean admits(String mxHost) {
        return !enforces() || mtaSts.get().allowsMx(mxHost);
    }

    /**
     * What a {@code testing} policy records of a delivery that {@code enforce} would have refused (RFC 8461 section
     * 5): the MX host is not one the policy lists, the session was not encrypted, or the server's certificate failed
     * the checks {@code enforce} requires (chain, dates, MX host name). Empty when the policy is not in testing mode
     * or {@code enforce} would have delivered too; a session whose certificate matched DANE TLSA records passes, as
     * DANE takes precedence over MTA-STS.
     *
     * @return such as {@code MTA-STS testing: mx.example.com is not in [*.example.net]; certificate chain not
     *     trusted: ...}
     */
    public Optional<String> testingFailure(SessionSecurity session) {
        if (mtaSts.isEmpty() || mtaSts.get().mode() != MtaStsPolicy.Mode.TESTING) {
            return Optional.empty();
        }
        MtaStsPolicy policy = mtaSts.get();
        List<String> failures = new ArrayList<>(2);
        if (!policy.allowsMx(session.mxHost())) {
            failures.add(session.mxHost().toLowerCase(Locale.ROOT) + " is not in " + policy.mxPatterns());
        }
        if (session.protection() == SessionSecurity.Protection.PLAINTEXT) {
            failures.add("the session was not encrypted" + (session.plaintextFallback()
                ? " (plaintext after a failed TLS handshake)" : ""));
        } else if (session.protection() != SessionSecurity.Protection.DANE_VERIFIED) {
            session.certificate().filter(check -> check.kind() != CertificateCheck.Kind.VALID)
                .ifPresent(check -> failures.add(check.kind() == CertificateCheck.Kind.FAILED
                    ? check.description() : "certificate " + check.description()));
        }
        return failures.isEmpty() ? Optional.empty()
            : Optional.of("MTA-STS testing: " + String.join("; ", failures));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DomainTlsPolicy)) {
            return false;
        }
        DomainTlsPolicy that = (DomainTlsPolicy) o;
        return domain.equals(that.domain) && mtaSts.equals(that.mtaSts) && status.equals(that.status);
    }

    @Override
    public int hashCode() {
        return Objects.hash(domain, mtaSts, status);
    }

    @Override
    public String toString() {
        return domain + ": " + status;
    }
}

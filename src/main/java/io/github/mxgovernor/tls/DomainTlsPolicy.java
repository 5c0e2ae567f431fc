package io.github.mxgovernor.tls;

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

    public Optional<MtaStsPolicy> mtaSts() {
        return mtaSts;
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
     * What {@code testing} records for a host {@code enforce} would refuse: present for a policy in testing mode
     * that does not list the host.
     */
    public Optional<String> testingMismatch(String mxHost) {
        return mtaSts.filter(policy -> policy.mode() == MtaStsPolicy.Mode.TESTING && !policy.allowsMx(mxHost))
            .map(policy -> "MTA-STS testing: " + mxHost.toLowerCase(Locale.ROOT) + " is not in " + policy.mxPatterns());
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

package io.github.mxgovernor.tls;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How a delivered mail travelled: the session's protection, protocol and cipher suite, the policy that applied and
 * the recipient domain's MTA-STS standing. Written on the delivered copy as the {@code mxgovernor.tls} attribute.
 */
public final class TlsReport {
    private final SessionSecurity session;
    private final TlsRequirement requirement;
    private final DomainTlsPolicy domain;

    public TlsReport(SessionSecurity session, TlsRequirement requirement, DomainTlsPolicy domain) {
        this.session = Objects.requireNonNull(session, "session");
        this.requirement = Objects.requireNonNull(requirement, "requirement");
        this.domain = Objects.requireNonNull(domain, "domain");
    }

    public SessionSecurity session() {
        return session;
    }

    public TlsRequirement requirement() {
        return requirement;
    }

    public DomainTlsPolicy domain() {
        return domain;
    }

    /**
     * The report as text fields: {@code mx}, {@code protection} ({@code plaintext}, {@code encrypted},
     * {@code verified}, {@code dane-verified}), {@code protocol} and {@code cipher} (when encrypted), {@code policy}
     * (which policy asked for what), {@code mtaSts} (the domain's MTA-STS standing), {@code dane} (the host's DANE
     * verdict), and when they apply {@code fallback} (plaintext after a failed opportunistic handshake) and
     * {@code mtaStsTesting} (what a {@code testing} policy would have refused).
     */
    public Map<String, String> fields() {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("mx", session.mxHost());
        fields.put("protection", session.protection().configValue());
        session.protocol().ifPresent(protocol -> fields.put("protocol", protocol));
        session.cipherSuite().ifPresent(cipher -> fields.put("cipher", cipher));
        fields.put("policy", requirement.describe());
        fields.put("mtaSts", domain.status());
        fields.put("dane", session.openedFor().dane().toString());
        if (session.plaintextFallback()) {
            fields.put("fallback", "plaintext: the TLS handshake with this server failed");
        }
        Optional<String> mismatch = domain.testingMismatch(session.mxHost());
        mismatch.ifPresent(text -> fields.put("mtaStsTesting", text));
        return fields;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TlsReport)) {
            return false;
        }
        TlsReport that = (TlsReport) o;
        return session.equals(that.session) && requirement.equals(that.requirement) && domain.equals(that.domain);
    }

    @Override
    public int hashCode() {
        return Objects.hash(session, requirement, domain);
    }

    @Override
    public String toString() {
        return fields().toString();
    }
}

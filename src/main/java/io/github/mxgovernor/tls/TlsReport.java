package io.github.mxgovernor.tls;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

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
     * verdict), {@code certificate} (when encrypted: what the PKIX checks of the server's certificate found, such as
     * {@code valid (PKIX chain, validity dates and host name)} or {@code certificate chain not trusted: ...}; enforced
     * only when {@code protection} is {@code verified}), and when they apply {@code fallback} (plaintext after a
     * failed opportunistic handshake) and {@code mtaStsTesting} (what the domain's MTA-STS {@code testing} policy
     * would have refused under {@code enforce}: MX host not listed, no TLS, certificate failures; see
     * {@link DomainTlsPolicy#testingFailure}).
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
        session.certificate().ifPresent(check -> fields.put("certificate", check.description()));
        if (session.plaintextFallback()) {
            fields.put("fallback", "plaintext: the TLS handshake with this server failed");
        }
        domain.testingFailure(session).ifPresent(text -> fields.put("mtaStsTesting", text));
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

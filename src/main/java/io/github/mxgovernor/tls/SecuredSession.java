package io.github.mxgovernor.tls;

import io.github.mxgovernor.smtp.SmtpSession;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A session {@link SessionOpener} opened, with what its TLS achieved: it is reused only for parts it protects
 * enough.
 */
public final class SecuredSession {
    private final SmtpSession session;
    private final SessionSecurity security;
    private final Set<String> testingFailuresReported = ConcurrentHashMap.newKeySet();

    public SecuredSession(SmtpSession session, SessionSecurity security) {
        this.session = Objects.requireNonNull(session, "session");
        this.security = Objects.requireNonNull(security, "security");
    }

    public SmtpSession session() {
        return session;
    }

    public SessionSecurity security() {
        return security;
    }

    /** True the first time the session reports an MTA-STS testing failure for this recipient domain. */
    public boolean firstTestingFailureFor(String domain) {
        return testingFailuresReported.add(domain);
    }

    @Override
    public String toString() {
        return security.toString();
    }
}

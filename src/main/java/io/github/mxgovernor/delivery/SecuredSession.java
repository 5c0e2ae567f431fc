package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.BlockingSmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.tls.SessionSecurity;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A session the engine opened, with what its TLS achieved: lanes reuse it only for parts it protects enough. */
final class SecuredSession implements BlockingSmtpSession {
    private final BlockingSmtpSession session;
    private final SessionSecurity security;
    private final Set<String> testingFailuresReported = ConcurrentHashMap.newKeySet();

    SecuredSession(BlockingSmtpSession session, SessionSecurity security) {
        this.session = session;
        this.security = security;
    }

    SessionSecurity security() {
        return security;
    }

    /** True the first time the session reports an MTA-STS testing failure for this recipient domain. */
    boolean firstTestingFailureFor(String domain) {
        return testingFailuresReported.add(domain);
    }

    @Override
    public SmtpEndpoint endpoint() {
        return session.endpoint();
    }

    @Override
    public Set<String> extensions() {
        return session.extensions();
    }

    @Override
    public Optional<TlsInfo> tls() {
        return session.tls();
    }

    @Override
    public TransactionResult send(SmtpTransaction transaction) throws SmtpSessionException {
        return session.send(transaction);
    }

    @Override
    public int transactionCount() {
        return session.transactionCount();
    }

    @Override
    public boolean isReusable() {
        return session.isReusable();
    }

    @Override
    public void close() {
        session.close();
    }

    @Override
    public String toString() {
        return security.toString();
    }

    @Override
    public void abort() {
        session.abort();
    }
}

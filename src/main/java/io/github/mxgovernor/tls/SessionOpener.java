package io.github.mxgovernor.tls;

import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SessionSettings;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpSession;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionFactory;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.smtp.TlsInfo;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Objects;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the session one part needs at one MX host, with the TLS its policies require there (see
 * {@link TlsPolicyResolver}): the host's DANE verdict first (looked up through {@link DaneVerdicts}, off the caller's
 * thread), then connect, greeting, EHLO and STARTTLS through the session factory, in the mode the requirement asks.
 *
 * <ul>
 *   <li>An opportunistic handshake that fails is retried once in plaintext and the server remembered
 *       ({@link PlaintextFallbacks}); a server remembered so gets plaintext at once.</li>
 *   <li>Under DANE the certificate is matched to the TLSA records before the session is handed out.</li>
 *   <li>A policy that cannot be met is a {@link SmtpSessionException.Kind#TLS_FAILURE} naming the policy and what
 *       failed; the session is closed first and carries no mail.</li>
 *   <li>SMTP AUTH (a gateway's credentials) is sent only on a session whose server proved its identity: its
 *       certificate passed the PKIX chain, validity and host-name checks, or matched the host's DANE records. Any
 *       other session is closed without AUTH and the opening fails with a {@link SmtpSessionException.Kind#TLS_FAILURE}
 *       at {@link SmtpSessionException.Stage#AUTH} saying why.</li>
 * </ul>
 * The returned future never completes with a session that failed a check; when it fails, no session is left open.
 * Thread-safe.
 */
public final class SessionOpener {
    private static final Logger LOGGER = LoggerFactory.getLogger(SessionOpener.class);

    private final SmtpSessionFactory sessions;
    private final TlsPolicyResolver policy;
    private final DaneVerdicts dane;
    private final String heloName;
    private final Optional<InetAddress> bindAddress;
    private final Optional<SmtpCredentials> credentials;

    /**
     * @param credentials SMTP AUTH for every session (delivery through gateways); empty for MX delivery
     */
    /**
     * @param lookups     runs the TLSA lookups of rules with {@code dane="true"} (they block)
     * @param scheduler   keeps their deadline
     * @param daneTimeout how long a host's TLSA lookup may take before its verdict is unusable
     */
    public SessionOpener(SmtpSessionFactory sessions, TlsPolicyResolver policy, Executor lookups, Scheduler scheduler,
                         Duration daneTimeout, String heloName, Optional<InetAddress> bindAddress,
                         Optional<SmtpCredentials> credentials) {
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.dane = new DaneVerdicts(policy, lookups, scheduler, daneTimeout);
        this.heloName = Objects.requireNonNull(heloName, "heloName");
        this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
        this.credentials = Objects.requireNonNull(credentials, "credentials");
    }

    /**
     * Opens a session to {@code endpoint} for a part under {@code rule}, whose recipient domain has the policy
     * {@code domain} and which asks for REQUIRETLS or not. Completes exceptionally with an
     * {@link SmtpSessionException} saying at which stage and why, or with whatever the factory threw.
     */
    public CompletableFuture<SecuredSession> open(SmtpEndpoint endpoint, MxRule rule, DomainTlsPolicy domain,
                                                  boolean requireTls) {
        return dane.verdict(rule.dane(), endpoint.hostName(), endpoint.tlsaPort()).thenCompose(verdict -> {
            TlsRequirement requirement = policy.requirement(domain, rule.name(), rule.tlsMode(), requireTls, verdict);
            if (!requirement.satisfiable()) {
                return CompletableFuture.failedFuture(policyFailure(endpoint, domain, requirement,
                    TlsProblem.TLSA_LOOKUP, verdict.description()));
            }
            String server = endpoint.toString();
            boolean remembered = requirement.sessionMode() == TlsMode.OPPORTUNISTIC
                && policy.plaintextFallbacks().remembered(server).isPresent();
            TlsMode mode = remembered ? TlsMode.DISABLED : requirement.sessionMode();
            return openSafely(endpoint, settings(rule, mode)).handle((session, error) -> {
                if (error == null) {
                    return CompletableFuture.completedFuture(new Opened(session, mode, remembered));
                }
                Throwable failure = unwrap(error);
                if (!(failure instanceof SmtpSessionException)
                    || ((SmtpSessionException) failure).kind() != SmtpSessionException.Kind.TLS_FAILURE) {
                    return CompletableFuture.<Opened>failedFuture(failure);
                }
                SmtpSessionException tlsFailure = (SmtpSessionException) failure;
                if (mode != TlsMode.OPPORTUNISTIC) {
                    return CompletableFuture.<Opened>failedFuture(new SmtpSessionException(tlsFailure.stage(),
                        requirement.describe() + ": " + tlsFailure.getMessage() + mtaStsNote(domain),
                        tlsFailure.reply(), tlsFailure, tlsFailure.tlsProblem().orElse(TlsProblem.HANDSHAKE)));
                }
                Instant until = policy.plaintextFallbacks().remember(server);
                LOGGER.warn("Opportunistic TLS with {} failed ({}): retrying in plaintext, and without TLS to this"
                    + " server until {}", server, tlsFailure.getMessage(), until);
                return openSafely(endpoint, settings(rule, TlsMode.DISABLED))
                    .thenApply(plain -> new Opened(plain, TlsMode.DISABLED, true));
            }).thenCompose(opening -> opening)
                .thenCompose(opened -> secure(opened, endpoint, domain, requirement));
        });
    }

    private CompletableFuture<SecuredSession> secure(Opened opened, SmtpEndpoint endpoint, DomainTlsPolicy domain,
                                                     TlsRequirement requirement) {
        SmtpSession session = opened.session;
        SessionSecurity security;
        try {
            security = security(session, requirement, opened.mode, opened.fallback);
        } catch (RuntimeException e) {
            session.abort();
            return CompletableFuture.failedFuture(e);
        }
        if (!requirement.isMetBy(security.protection())) {
            TlsProblem problem = requirement.daneRequired() ? TlsProblem.TLSA_MISMATCH : TlsProblem.HANDSHAKE;
            return closeThenFail(session, policyFailure(endpoint, domain, requirement, problem,
                "the session has " + security));
        }
        SecuredSession secured = new SecuredSession(session, security);
        if (credentials.isEmpty()) {
            return CompletableFuture.completedFuture(secured);
        }
        Optional<SmtpSessionException> untrusted = untrustedForCredentials(endpoint, security);
        if (untrusted.isPresent()) {
            LOGGER.warn("{}", untrusted.get().getMessage());
            return closeThenFail(session, untrusted.get());
        }
        CompletableFuture<Void> authenticated;
        try {
            authenticated = session.authenticate(credentials.get());
        } catch (RuntimeException e) {
            authenticated = CompletableFuture.failedFuture(e);
        }
        return authenticated.handle((ignored, error) -> {
            if (error != null) {
                session.abort();
                throw new CompletionException(unwrap(error));
            }
            return secured;
        });
    }

    /**
     * Why the credentials must not go over this session, if they must not: the server's identity is proved only by a
     * certificate that passed the PKIX checks or matched DANE. "Only over TLS" would let a man in the middle have them.
     */
    private static Optional<SmtpSessionException> untrustedForCredentials(SmtpEndpoint endpoint,
                                                                          SessionSecurity security) {
        String why;
        TlsProblem problem;
        switch (security.protection()) {
            case VERIFIED:
            case DANE_VERIFIED:
                return Optional.empty();
            case ENCRYPTED:
                Optional<CertificateCheck> check = security.certificate();
                if (check.isPresent() && check.get().kind() == CertificateCheck.Kind.VALID) {
                    return Optional.empty();
                }
                why = check.map(CertificateCheck::description).orElse("certificate not checked");
                problem = check.flatMap(CertificateCheck::problem).orElse(TlsProblem.UNTRUSTED_CHAIN);
                break;
            case PLAINTEXT:
            default:
                why = "the session is not encrypted" + (security.plaintextFallback()
                    ? " (plaintext after a failed TLS handshake)" : "");
                problem = security.plaintextFallback() ? TlsProblem.HANDSHAKE : TlsProblem.NO_STARTTLS;
                break;
        }
        return Optional.of(new SmtpSessionException(SmtpSessionException.Stage.AUTH, "SMTP AUTH credentials not sent"
            + " to " + endpoint + ": " + why + " (credentials go only to a server whose certificate passed the PKIX"
            + " chain and host name checks, or matched its DANE records)", Optional.empty(), null, problem));
    }

    private static CompletableFuture<SecuredSession> closeThenFail(SmtpSession session, Throwable failure) {
        // The failure is reported once the connection is gone, so that its slot is free only then.
        CompletableFuture<Void> closing;
        try {
            closing = session.close();
        } catch (RuntimeException e) {
            session.abort();
            closing = CompletableFuture.completedFuture(null);
        }
        return closing.handle((ignored, error) -> {
            throw new CompletionException(failure);
        });
    }

    /** The factory's future; what it throws instead (a RuntimeException, an Error) as a failed one. */
    private CompletableFuture<SmtpSession> openSafely(SmtpEndpoint endpoint, SessionSettings settings) {
        try {
            return Objects.requireNonNull(sessions.open(endpoint, settings), "the session factory returned null");
        } catch (Throwable thrown) {
            return CompletableFuture.failedFuture(thrown);
        }
    }

    private SessionSettings settings(MxRule rule, TlsMode mode) {
        // No credentials here: AUTH is a step of its own, taken only once the server's identity is known.
        return new SessionSettings(heloName, bindAddress, rule.connectTimeout(), rule.commandTimeout(),
            rule.dataTimeout(), mode).withTransactionTimeout(rule.transactionTimeout());
    }

    /** What the session achieved; under DANE, whether its certificate matches the host's TLSA records. */
    private static SessionSecurity security(SmtpSession session, TlsRequirement requirement, TlsMode mode,
                                            boolean fallback) {
        String host = session.endpoint().hostName();
        Optional<TlsInfo> tls = session.tls();
        if (tls.isEmpty()) {
            return SessionSecurity.plaintext(host, requirement, fallback);
        }
        SessionSecurity.Protection protection = mode == TlsMode.VERIFY ? SessionSecurity.Protection.VERIFIED
            : SessionSecurity.Protection.ENCRYPTED;
        if (requirement.daneRequired()
            && requirement.dane().matcher().orElseThrow().matches(tls.get().peerCertificates(), host)) {
            protection = SessionSecurity.Protection.DANE_VERIFIED;
        }
        return SessionSecurity.encrypted(host, protection, tls.get().protocol(), tls.get().cipherSuite(),
            requirement, tls.get().certificateCheck());
    }

    private SmtpSessionException policyFailure(SmtpEndpoint endpoint, DomainTlsPolicy domain,
                                               TlsRequirement requirement, TlsProblem problem, String detail) {
        return new SmtpSessionException(SmtpSessionException.Stage.STARTTLS, requirement.describe() + ": " + endpoint
            + ": " + problem.description() + " (" + detail + ")" + mtaStsNote(domain), Optional.empty(), null,
            problem);
    }

    /** The domain's MTA-STS standing, for TLS failure messages: a failed policy fetch shows there. */
    private String mtaStsNote(DomainTlsPolicy domain) {
        return policy.usesMtaSts() ? " [MTA-STS of " + domain.domain() + ": " + domain.status() + "]" : "";
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** A session just opened, and how. */
    private static final class Opened {
        final SmtpSession session;
        final TlsMode mode;
        final boolean fallback;

        Opened(SmtpSession session, TlsMode mode, boolean fallback) {
            this.session = session;
            this.mode = mode;
            this.fallback = fallback;
        }
    }
}

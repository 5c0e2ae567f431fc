package io.github.mxgovernor.smtp;

import java.util.concurrent.CompletableFuture;

/**
 * Opens SMTP sessions: connect, read the greeting, EHLO (HELO fallback), STARTTLS as the settings say, the whole
 * within {@link SessionSettings#openTimeout()}. Non-blocking: the future completes with the open session, or
 * exceptionally with an {@link SmtpSessionException} saying at which stage and why it could not be opened. SMTP
 * AUTH is not part of opening: see {@link SmtpSession#authenticate}.
 */
public interface SmtpSessionFactory {
    CompletableFuture<SmtpSession> open(SmtpEndpoint endpoint, SessionSettings settings);
}

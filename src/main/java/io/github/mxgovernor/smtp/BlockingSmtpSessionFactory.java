package io.github.mxgovernor.smtp;

/** Opens SMTP sessions: connect, read the greeting, EHLO (HELO fallback), STARTTLS as the settings say. */
public interface BlockingSmtpSessionFactory {
    BlockingSmtpSession open(SmtpEndpoint endpoint, SessionSettings settings) throws SmtpSessionException;
}

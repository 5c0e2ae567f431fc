package io.github.mxgovernor.smtp;

import java.util.Optional;
import java.util.Set;

/**
 * An open SMTP client session, greeted and past EHLO (and STARTTLS when the policy asked for it), able to
 * carry several transactions in turn. Not thread-safe: one thread drives a session at a time.
 */
public interface BlockingSmtpSession extends AutoCloseable {

    SmtpEndpoint endpoint();

    /** ESMTP extension keywords the server announced, upper case (for example {@code PIPELINING}). */
    Set<String> extensions();

    /** The negotiated TLS protocol and cipher suite, when the session is encrypted. */
    Optional<TlsInfo> tls();

    /**
     * Runs one transaction. If a transaction ran on this session before, the session resets first (RSET,
     * pipelined where the server allows). Replies to MAIL, RCPT and the content are returned, not thrown.
     *
     * @throws SmtpSessionException when the connection fails, times out, the server sends something that is
     *     not SMTP, or answers 421 (the session is then unusable and the transaction's fate is unknown only
     *     when the failure happened after the content was sent: see {@link SmtpSessionException#stage()})
     */
    TransactionResult send(SmtpTransaction transaction) throws SmtpSessionException;

    /** How many transactions this session has carried, whatever their outcome. */
    int transactionCount();

    /** Whether another transaction may be sent: the connection is open and no failure has been seen. */
    boolean isReusable();

    /** Says QUIT when the session is still usable, then closes the socket. Never throws. */
    @Override
    void close();

    /**
     * Closes the connection at once, without QUIT; safe from a thread other than the one driving the session, whose
     * blocked read or write then fails. Never throws.
     */
    void abort();
}

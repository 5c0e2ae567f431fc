package io.github.mxgovernor.smtp;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * An open SMTP client session, greeted and past EHLO (and STARTTLS when the settings asked for it), able to carry
 * several transactions in turn. Non-blocking: every method returns at once and no caller's thread ever waits on
 * the network; what a method starts completes its future later, on a thread of the implementation. One
 * transaction at a time: {@link #send} and {@link #authenticate} are not called again before the previous
 * future completed.
 */
public interface SmtpSession {

    SmtpEndpoint endpoint();

    /** ESMTP extension keywords the server announced, upper case (for example {@code PIPELINING}). */
    Set<String> extensions();

    /** The negotiated TLS protocol, cipher suite and certificate check, when the session is encrypted. */
    Optional<TlsInfo> tls();

    /**
     * SMTP AUTH (RFC 4954) with PLAIN, else LOGIN. The session sends the credentials to whatever server it is
     * connected to: whether that server's identity was verified enough to be trusted with them is the caller's
     * decision, made before calling. Completes exceptionally with an {@link SmtpSessionException} of kind
     * {@link SmtpSessionException.Kind#AUTHENTICATION_FAILED} when the server refuses them or offers no mechanism
     * the session knows (the session is then closed).
     */
    CompletableFuture<Void> authenticate(SmtpCredentials credentials);

    /**
     * Runs one transaction. If a transaction ran on this session before, the session resets first (RSET, pipelined
     * where the server allows). Replies to MAIL, RCPT and the content complete the future normally.
     *
     * <p>Completes exceptionally with an {@link SmtpSessionException} when the connection fails, a deadline passes,
     * the server sends something that is not SMTP, or answers 421 (the session is then unusable; the transaction's
     * fate is unknown only when the failure happened after the content was sent, see
     * {@link SmtpSessionException#stage()}); with an {@link IllegalArgumentException} for an address with control
     * characters (nothing sent); with an {@link java.io.UncheckedIOException} when the content cannot be read.
     */
    CompletableFuture<TransactionResult> send(SmtpTransaction transaction);

    /** How many transactions this session has carried, whatever their outcome. */
    int transactionCount();

    /** Whether another transaction may be sent: the connection is open and no failure has been seen. */
    boolean isReusable();

    /**
     * Ends the session in good order: QUIT when it is still usable, a short bounded wait for the reply, then the
     * socket is closed. Returns at once; the future completes once the socket is closed. Never fails.
     */
    CompletableFuture<Void> close();

    /**
     * Closes the connection at once, without QUIT, and fails whatever is in progress. Once this returns, no further
     * byte of this session reaches the server. Never throws; may be called from any thread, any number of times.
     */
    void abort();
}

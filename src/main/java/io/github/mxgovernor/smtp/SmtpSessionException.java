package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.TlsProblem;

import java.io.IOException;
import java.util.Objects;
import java.util.Optional;

/**
 * A session-level failure: the connection could not be opened or used, or the server answered a
 * session command (greeting, EHLO, STARTTLS, RSET) in a way that ends the session. After this exception
 * the session is not reusable. Replies to MAIL, RCPT and DATA are not exceptions: they are in
 * {@link TransactionResult}, except a reply that closes the connection mid-transaction, which is.
 */
public final class SmtpSessionException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Where in the session the failure happened. */
    public enum Stage { CONNECT, GREETING, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, CONTENT, RSET }

    /** What went wrong. */
    public enum Kind {
        /** TCP connect refused, unreachable, or reset before the greeting. */
        CONNECTION_REFUSED,
        /** No answer within the configured timeout. */
        TIMEOUT,
        /** The peer closed or reset the connection. */
        CONNECTION_LOST,
        /** The peer sent bytes that are not a well-formed SMTP reply. */
        PROTOCOL_ERROR,
        /**
         * The server refused the session with the reply given: a greeting other than 220, EHLO and HELO
         * refused, STARTTLS refused where it was not required, or a 421 (closing) at any point.
         */
        REFUSED_BY_SERVER,
        /** TLS was required by policy and could not be established (not offered, handshake, certificate). */
        TLS_FAILURE,
        /**
         * SMTP AUTH did not succeed: the credentials were refused, the server offers no mechanism the session
         * knows (PLAIN, LOGIN), or the session is not encrypted, so the credentials were not sent.
         */
        AUTHENTICATION_FAILED
    }

    private final Stage stage;
    private final Kind kind;
    private final transient Optional<SmtpReply> reply;
    private final TlsProblem tlsProblem;

    public SmtpSessionException(Stage stage, Kind kind, String message, Optional<SmtpReply> reply, Throwable cause) {
        this(stage, kind, message, reply, cause, null);
    }

    /** A {@link Kind#TLS_FAILURE} that says what failed. */
    public SmtpSessionException(Stage stage, String message, Optional<SmtpReply> reply, Throwable cause,
                                TlsProblem tlsProblem) {
        this(stage, Kind.TLS_FAILURE, message, reply, cause, Objects.requireNonNull(tlsProblem, "tlsProblem"));
    }

    private SmtpSessionException(Stage stage, Kind kind, String message, Optional<SmtpReply> reply, Throwable cause,
                                 TlsProblem tlsProblem) {
        super(message, cause);
        this.stage = Objects.requireNonNull(stage, "stage");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.reply = Objects.requireNonNull(reply, "reply");
        this.tlsProblem = tlsProblem;
    }

    public SmtpSessionException(Stage stage, Kind kind, String message) {
        this(stage, kind, message, Optional.empty(), null);
    }

    public Stage stage() {
        return stage;
    }

    public Kind kind() {
        return kind;
    }

    /** For a {@link Kind#TLS_FAILURE}: what failed, when the session could tell. */
    public Optional<TlsProblem> tlsProblem() {
        return Optional.ofNullable(tlsProblem);
    }

    /** The server's reply that ended the session, when there was one (for example a 421). */
    public Optional<SmtpReply> reply() {
        return reply == null ? Optional.empty() : reply;
    }
}

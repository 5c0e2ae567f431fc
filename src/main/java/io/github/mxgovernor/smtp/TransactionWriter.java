package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Sends a session's transactions one after the other, with RSET between them when an earlier MAIL FROM left state
 * at the server. How the commands go (pipelined, or one at a time) is the subclass's; the content goes by
 * {@link DataContent} or {@link BdatContent}. Runs on the connection's event loop.
 */
abstract class TransactionWriter {
    final SmtpConnection connection;
    final EhloCapabilities server;
    final DataContent data;
    final long commandTimeoutMillis;
    /** Whether the server holds state from an earlier transaction, so the next one starts with RSET. */
    boolean resetNeeded;

    TransactionWriter(SmtpConnection connection, EhloCapabilities server, DataContent data,
                      long commandTimeoutMillis) {
        this.connection = connection;
        this.server = server;
        this.data = data;
        this.commandTimeoutMillis = commandTimeoutMillis;
    }

    /** Sends a prepared transaction; see {@link SmtpSession#send}. */
    abstract CompletableFuture<TransactionResult> send(PreparedTransaction prepared);

    /** RSET, now, awaiting its reply. */
    final CompletableFuture<Void> resetNow() {
        return connection.command("RSET", Stage.RSET, commandTimeoutMillis).thenAccept(reply -> {
            requireResetAccepted(reply);
            resetNeeded = false;
        });
    }

    final void requireResetAccepted(SmtpReply reply) {
        if (!reply.isPositiveCompletion()) {
            throw new CompletionException(connection.fail(Stage.RSET, Kind.REFUSED_BY_SERVER, "RSET refused: " + reply,
                reply, null));
        }
    }

    /** MAIL and RCPT are answered with success or failure; anything else means the peers lost step. */
    final SmtpReply requireFinal(SmtpReply reply, Stage stage) {
        if (reply.isPositiveIntermediate()) {
            throw new CompletionException(connection.fail(stage, Kind.PROTOCOL_ERROR, "unexpected reply to " + stage
                + ": " + reply, reply, null));
        }
        return reply;
    }

    /** When the content is not sent: RSET at once if MAIL FROM left state, then the replies so far. */
    final CompletableFuture<TransactionResult> withoutContent(SmtpReply mailReply,
                                                              Map<String, SmtpReply> recipientReplies) {
        TransactionResult result = new TransactionResult(mailReply, recipientReplies, Optional.empty());
        if (!mailReply.isPositiveCompletion()) {
            return CompletableFuture.completedFuture(result);
        }
        return resetNow().thenApply(reset -> result);
    }

    /** Whether {@code failure} is a deadline that passed. */
    static boolean timedOut(Throwable failure) {
        Throwable cause = failure == null ? null : unwrap(failure);
        return cause instanceof SmtpSessionException && ((SmtpSessionException) cause).kind() == Kind.TIMEOUT;
    }

    /** The failure inside what a future stage threw. */
    static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}

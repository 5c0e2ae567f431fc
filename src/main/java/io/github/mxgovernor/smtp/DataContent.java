package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The content by DATA (RFC 5321 section 4.1.1.4): after the server's 354, the content dot-stuffed with CRLF line
 * endings and the final dot, written on a content thread, then the final reply within {@code dataTimeout}.
 */
final class DataContent {
    private final SmtpConnection connection;
    private final ContentBuffer buffer;
    private final Executor contentExecutor;
    private final long commandTimeoutMillis;
    private final long dataTimeoutMillis;

    DataContent(SmtpConnection connection, ContentBuffer buffer, Executor contentExecutor, long commandTimeoutMillis,
                long dataTimeoutMillis) {
        this.connection = connection;
        this.buffer = buffer;
        this.contentExecutor = contentExecutor;
        this.commandTimeoutMillis = commandTimeoutMillis;
        this.dataTimeoutMillis = dataTimeoutMillis;
    }

    /**
     * What follows the server's reply to DATA. A 354 sends the content when the mail is {@code deliverable}, and
     * only the final dot otherwise (its answer ignored); a refusal (4xx, 5xx) ends the transaction. Completes with
     * the reply the transaction reports as the content's: the final reply, the refusal of DATA when the content was
     * to go, or nothing when it was not. Any other reply to DATA is a {@link Kind#PROTOCOL_ERROR}. Runs on the event
     * loop.
     */
    CompletableFuture<Optional<SmtpReply>> afterDataReply(SmtpReply dataReply, boolean deliverable,
                                                          MessageContent content) {
        if (dataReply.code() != SmtpCodes.START_MAIL_INPUT && !dataReply.isTransientFailure()
            && !dataReply.isPermanentFailure()) {
            return CompletableFuture.failedFuture(connection.fail(Stage.DATA, Kind.PROTOCOL_ERROR,
                "unexpected reply to DATA: " + dataReply, dataReply, null));
        }
        if (dataReply.code() != SmtpCodes.START_MAIL_INPUT) {
            return CompletableFuture.completedFuture(deliverable ? Optional.of(dataReply) : Optional.empty());
        }
        if (!deliverable) {
            // a server that said 354 although no recipient can take the mail gets an empty message it cannot deliver
            connection.send(".");
            connection.flush();
            return connection.reply(Stage.DATA, "end of an empty DATA", commandTimeoutMillis)
                .thenApply(ignored -> Optional.empty());
        }
        return send(content).thenApply(Optional::of);
    }

    private CompletableFuture<SmtpReply> send(MessageContent content) {
        CompletableFuture<Void> written;
        try {
            written = CompletableFuture.runAsync(() -> write(content), contentExecutor);
        } catch (RuntimeException rejected) {
            connection.abort("no content thread took the content");
            return CompletableFuture.failedFuture(rejected);
        }
        return written.thenComposeAsync(sent -> connection.reply(Stage.CONTENT, "end of data", dataTimeoutMillis),
                connection.executor())
            .thenApply(reply -> {
                if (reply.isPositiveIntermediate()) {
                    throw new CompletionException(connection.fail(Stage.CONTENT, Kind.PROTOCOL_ERROR,
                        "unexpected reply to the end of data: " + reply, reply, null));
                }
                return reply;
            });
    }

    /** On a content thread: the held bytes, or the content read once more, dot-stuffed, then the final dot. */
    private void write(MessageContent content) {
        ContentStream stream = new ContentStream(connection);
        DotStuffingOutputStream body = new DotStuffingOutputStream(stream);
        try {
            if (buffer.isHeldWhole()) {
                body.write(buffer.bytes(), 0, buffer.length());
            } else {
                content.writeTo(body);
            }
            stream.expectReply();
            body.finish();
            stream.finish();
            // the connection holds its copy until the socket takes it
            buffer.release();
        } catch (IOException e) {
            stream.discard();
            buffer.release();
            if (stream.failed() || body.transportFailure() != null) {
                // the connection ended under the content: the reply awaited next says why
                return;
            }
            // leaving without the final dot makes the server drop the half-sent message
            connection.abort("could not read the message content");
            throw new UncheckedIOException(connection.endpoint() + ": could not read the message content", e);
        }
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The content by BDAT (RFC 3030): one {@code BDAT n LAST} with the bytes when the scan held the message whole,
 * else chunks of the session's buffer size streamed from a second reading, each behind its BDAT command, written
 * on a content thread. The reply to the content is the first refused chunk's, else the last chunk's.
 */
final class BdatContent {
    private final SmtpConnection connection;
    private final ContentBuffer buffer;
    private final Executor contentExecutor;
    private final PeerQuirks quirks;
    private final long dataTimeoutMillis;

    BdatContent(SmtpConnection connection, ContentBuffer buffer, Executor contentExecutor, PeerQuirks quirks,
                long dataTimeoutMillis) {
        this.connection = connection;
        this.buffer = buffer;
        this.contentExecutor = contentExecutor;
        this.quirks = quirks;
        this.dataTimeoutMillis = dataTimeoutMillis;
    }

    /**
     * Writes the content in BDAT chunks behind whatever the session wrote before, and flushes. Completes with the
     * number of chunks (when the connection ended under them, those written: the replies awaited then say why), or
     * exceptionally with an {@link UncheckedIOException} when the content could not be read (the connection then
     * closed without the LAST chunk, so the server drops what it got).
     */
    CompletableFuture<Integer> write(MessageContent content) {
        try {
            return CompletableFuture.supplyAsync(() -> writeChunks(content), contentExecutor);
        } catch (RuntimeException rejected) {
            connection.abort("no content thread took the content");
            return CompletableFuture.failedFuture(rejected);
        }
    }

    private int writeChunks(MessageContent content) {
        ContentStream stream = new ContentStream(connection);
        int[] chunks = {0};
        try {
            if (buffer.isHeldWhole()) {
                stream.command("BDAT " + buffer.length() + " LAST");
                stream.write(buffer.bytes(), 0, buffer.length());
                stream.finish();
                // the connection holds its copy until the socket takes it
                buffer.release();
                return 1;
            }
            buffer.startChunking((bytes, length, last) -> {
                stream.command(last ? "BDAT " + length + " LAST" : "BDAT " + length);
                stream.write(bytes, 0, length);
                chunks[0]++;
            });
            content.writeTo(buffer);
            buffer.finish();
            stream.finish();
            buffer.release();
            return chunks[0];
        } catch (IOException e) {
            stream.discard();
            buffer.release();
            if (stream.failed()) {
                // the connection ended under the content: the reply awaited next says why
                return Math.max(1, chunks[0]);
            }
            // leaving without the LAST chunk makes the server drop the half-sent message
            connection.abort("could not read the message content");
            throw new UncheckedIOException(connection.endpoint() + ": could not read the message content", e);
        }
    }

    /**
     * Reads one reply per chunk, each within {@code dataTimeout}. A BDAT answered as an unknown command means the
     * server does not do CHUNKING, whatever it said: it may read the content as commands, so the session ends and
     * later sessions to it use DATA; so does a BDAT never answered. Runs on the event loop.
     */
    CompletableFuture<SmtpReply> awaitReplies(int chunks) {
        SmtpReply[] last = new SmtpReply[1];
        SmtpReply[] refusal = new SmtpReply[1];
        return ReplySequence.read(connection, chunks, dataTimeoutMillis, index -> Stage.CONTENT,
            index -> index == chunks - 1 ? "BDAT LAST" : "BDAT", (index, reply) -> {
                if (SmtpCodes.isUnknownCommand(reply)) {
                    quirks.recordBroken(connection.endpoint(), PeerQuirks.Extension.CHUNKING);
                    throw new CompletionException(connection.fail(Stage.CONTENT, Kind.PROTOCOL_ERROR,
                        "server offers CHUNKING but refused BDAT as a command: " + reply, reply, null));
                }
                if (reply.isPositiveIntermediate()) {
                    throw new CompletionException(connection.fail(Stage.CONTENT, Kind.PROTOCOL_ERROR,
                        "unexpected reply to " + (index == chunks - 1 ? "BDAT LAST" : "BDAT") + ": " + reply, reply,
                        null));
                }
                if (refusal[0] == null && !reply.isPositiveCompletion()) {
                    refusal[0] = reply;
                }
                last[0] = reply;
            })
            .whenComplete((done, failure) -> {
                if (TransactionWriter.timedOut(failure)) {
                    quirks.recordBroken(connection.endpoint(), PeerQuirks.Extension.CHUNKING);
                }
            })
            .thenApply(done -> refusal[0] != null ? refusal[0] : last[0]);
    }
}

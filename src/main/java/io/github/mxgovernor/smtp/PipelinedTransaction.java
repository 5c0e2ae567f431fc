package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A transaction to a server with PIPELINING (RFC 2920): RSET (when needed), MAIL FROM, every RCPT TO and DATA go
 * out in one write, their replies read in order. Without partial delivery and with more than one recipient, DATA is
 * held back until the RCPT replies are known. With CHUNKING, {@code BDAT n LAST} and the content ride in that same
 * write instead of DATA, so a reused connection carries a one-recipient mail in one round trip.
 *
 * <p>A server that answers the start of the burst and then nothing until {@code commandTimeout} does not pipeline,
 * whatever it said: it is remembered in {@link PeerQuirks} and later sessions to it go one command at a time.
 */
final class PipelinedTransaction extends TransactionWriter {
    private final BdatContent bdat;
    private final PeerQuirks quirks;

    /** @param bdat the content's way when CHUNKING is used, null for DATA */
    PipelinedTransaction(SmtpConnection connection, EhloCapabilities server, DataContent data, BdatContent bdat,
                         PeerQuirks quirks, long commandTimeoutMillis) {
        super(connection, server, data, commandTimeoutMillis);
        this.bdat = bdat;
        this.quirks = quirks;
    }

    /** The replies to the envelope commands of a burst. */
    private static final class Envelope {
        private final SmtpReply mailReply;
        private final Map<String, SmtpReply> recipientReplies;
        private final int accepted;

        Envelope(SmtpReply mailReply, Map<String, SmtpReply> recipientReplies, int accepted) {
            this.mailReply = mailReply;
            this.recipientReplies = recipientReplies;
            this.accepted = accepted;
        }
    }

    @Override
    CompletableFuture<TransactionResult> send(PreparedTransaction prepared) {
        boolean reset = resetNeeded;
        boolean blind = prepared.contentMayGoBlind();
        if (reset) {
            connection.send("RSET");
        }
        connection.send(prepared.mailFromCommand());
        for (String recipient : prepared.recipients()) {
            connection.send(prepared.rcptCommand(recipient, server));
        }
        CompletableFuture<Integer> blindChunks;
        if (blind && bdat != null) {
            // the content thread flushes the burst behind the content
            blindChunks = bdat.write(prepared.content());
        } else {
            if (blind) {
                connection.send("DATA");
            }
            connection.flush();
            blindChunks = CompletableFuture.completedFuture(0);
        }
        resetNeeded = true;
        return blindChunks.handleAsync((chunks, failure) -> {
            Throwable cause = failure == null ? null : unwrap(failure);
            if (cause != null && !(cause instanceof SmtpSessionException)) {
                // the content could not be read: nothing the server says changes that
                throw new CompletionException(cause);
            }
            // a connection that failed under the content may have said why in its replies
            return readEnvelope(prepared, reset).thenCompose(envelope -> {
                if (cause != null) {
                    throw new CompletionException(cause);
                }
                return afterEnvelope(prepared, blind, chunks, envelope);
            });
        }, connection.executor()).thenCompose(result -> result);
    }

    private CompletableFuture<TransactionResult> afterEnvelope(PreparedTransaction prepared, boolean blind,
                                                               int blindChunks, Envelope envelope) {
        boolean deliverable = prepared.deliverable(envelope.mailReply, envelope.accepted);
        if (bdat != null) {
            if (blind) {
                return bdat.awaitReplies(blindChunks).thenApply(reply -> result(envelope,
                    deliverable ? Optional.of(reply) : Optional.empty()));
            }
            if (!deliverable) {
                return withoutContent(envelope.mailReply, envelope.recipientReplies);
            }
            return bdat.write(prepared.content())
                .thenComposeAsync(bdat::awaitReplies, connection.executor())
                .thenApply(reply -> result(envelope, Optional.of(reply)));
        }
        CompletableFuture<SmtpReply> dataReply;
        if (blind) {
            dataReply = connection.reply(Stage.DATA, "DATA", commandTimeoutMillis);
        } else if (deliverable) {
            dataReply = connection.command("DATA", Stage.DATA, commandTimeoutMillis);
        } else {
            return withoutContent(envelope.mailReply, envelope.recipientReplies);
        }
        return dataReply.thenCompose(reply -> data.afterDataReply(reply, deliverable, prepared.content()))
            .thenApply(contentReply -> result(envelope, contentReply));
    }

    private static TransactionResult result(Envelope envelope, Optional<SmtpReply> contentReply) {
        return new TransactionResult(envelope.mailReply, envelope.recipientReplies, contentReply);
    }

    /** Reads the replies to RSET, MAIL FROM and each RCPT TO of the burst, in order. */
    private CompletableFuture<Envelope> readEnvelope(PreparedTransaction prepared, boolean reset) {
        int[] repliesRead = {0};
        CompletableFuture<Void> resetReply = reset
            ? connection.reply(Stage.RSET, "RSET", commandTimeoutMillis).thenAccept(reply -> {
                repliesRead[0]++;
                requireResetAccepted(reply);
            })
            : CompletableFuture.completedFuture(null);
        CompletableFuture<Envelope> envelope = resetReply
            .thenCompose(done -> connection.reply(Stage.MAIL, "MAIL", commandTimeoutMillis))
            .thenCompose(mailReply -> {
                repliesRead[0]++;
                requireFinal(mailReply, Stage.MAIL);
                return recipientReplies(prepared.recipients(), 0, mailReply, new LinkedHashMap<>(), 0, repliesRead);
            });
        return envelope.whenComplete((read, failure) -> {
            Throwable cause = failure == null ? null : unwrap(failure);
            if (cause instanceof SmtpSessionException && ((SmtpSessionException) cause).kind() == Kind.TIMEOUT
                && repliesRead[0] > 0) {
                // answered the start of the burst, then nothing: it reads one command and drops the rest
                quirks.recordBroken(connection.endpoint(), PeerQuirks.Extension.PIPELINING);
            }
        });
    }

    private CompletableFuture<Envelope> recipientReplies(List<String> recipients, int index, SmtpReply mailReply,
                                                         Map<String, SmtpReply> replies, int accepted,
                                                         int[] repliesRead) {
        if (index == recipients.size()) {
            return CompletableFuture.completedFuture(new Envelope(mailReply, replies, accepted));
        }
        return connection.reply(Stage.RCPT, "RCPT", commandTimeoutMillis).thenCompose(reply -> {
            repliesRead[0]++;
            replies.put(recipients.get(index), requireFinal(reply, Stage.RCPT));
            return recipientReplies(recipients, index + 1, mailReply, replies,
                accepted + (reply.isPositiveCompletion() ? 1 : 0), repliesRead);
        });
    }
}

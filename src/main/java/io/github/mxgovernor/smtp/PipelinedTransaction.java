package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;

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
        // the replies are read once the burst is out: the content may take long to read
        return blindChunks.thenComposeAsync(chunks -> readEnvelope(prepared, reset)
            .thenCompose(envelope -> afterEnvelope(prepared, blind, chunks, envelope)), connection.executor());
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
        List<String> recipients = prepared.recipients();
        int mailAt = reset ? 1 : 0;
        IntFunction<Stage> stage = index -> index < mailAt ? Stage.RSET : index == mailAt ? Stage.MAIL : Stage.RCPT;
        SmtpReply[] mailReply = new SmtpReply[1];
        Map<String, SmtpReply> recipientReplies = new LinkedHashMap<>();
        int[] accepted = {0};
        int[] repliesRead = {0};
        return ReplySequence.read(connection, mailAt + 1 + recipients.size(), commandTimeoutMillis, stage,
            index -> stage.apply(index).toString(), (index, reply) -> {
                repliesRead[0]++;
                if (index < mailAt) {
                    requireResetAccepted(reply);
                } else if (index == mailAt) {
                    mailReply[0] = requireFinal(reply, Stage.MAIL);
                } else {
                    recipientReplies.put(recipients.get(index - mailAt - 1), requireFinal(reply, Stage.RCPT));
                    accepted[0] += reply.isPositiveCompletion() ? 1 : 0;
                }
            })
            .whenComplete((read, failure) -> {
                if (TransactionWriter.timedOut(failure) && repliesRead[0] > 0) {
                    // answered the start of the burst, then nothing: it reads one command and drops the rest
                    quirks.recordBroken(connection.endpoint(), PeerQuirks.Extension.PIPELINING);
                }
            })
            .thenApply(read -> new Envelope(mailReply[0], recipientReplies, accepted[0]));
    }
}

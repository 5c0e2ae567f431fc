package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A transaction to a server without PIPELINING: one command at a time, each reply awaited before the next command.
 * MAIL FROM refused ends it there; no recipient accepted (or one refused, without partial delivery) resets instead
 * of DATA. The content goes by DATA.
 */
final class StepByStepTransaction extends TransactionWriter {
    StepByStepTransaction(SmtpConnection connection, EhloCapabilities server, DataContent data,
                          long commandTimeoutMillis) {
        super(connection, server, data, commandTimeoutMillis);
    }

    @Override
    CompletableFuture<TransactionResult> send(PreparedTransaction prepared) {
        CompletableFuture<Void> reset = resetNeeded ? resetNow() : CompletableFuture.completedFuture(null);
        return reset.thenCompose(done -> {
            resetNeeded = true;
            return connection.command(prepared.mailFromCommand(), Stage.MAIL, commandTimeoutMillis);
        }).thenCompose(mailReply -> {
            requireFinal(mailReply, Stage.MAIL);
            if (!mailReply.isPositiveCompletion()) {
                return CompletableFuture.completedFuture(new TransactionResult(mailReply, Map.of(),
                    Optional.empty()));
            }
            return recipients(prepared, mailReply, prepared.recipients(), 0, new LinkedHashMap<>(), 0);
        });
    }

    private CompletableFuture<TransactionResult> recipients(PreparedTransaction prepared, SmtpReply mailReply,
                                                            List<String> recipients, int index,
                                                            Map<String, SmtpReply> replies, int accepted) {
        if (index == recipients.size()) {
            if (!prepared.deliverable(mailReply, accepted)) {
                return withoutContent(mailReply, replies);
            }
            return connection.command("DATA", Stage.DATA, commandTimeoutMillis)
                .thenCompose(dataReply -> data.afterDataReply(dataReply, true, prepared.content()))
                .thenApply(contentReply -> new TransactionResult(mailReply, replies, contentReply));
        }
        String recipient = recipients.get(index);
        return connection.command(prepared.rcptCommand(recipient, server), Stage.RCPT, commandTimeoutMillis)
            .thenCompose(reply -> {
                replies.put(recipient, requireFinal(reply, Stage.RCPT));
                return recipients(prepared, mailReply, recipients, index + 1, replies,
                    accepted + (reply.isPositiveCompletion() ? 1 : 0));
            });
    }
}

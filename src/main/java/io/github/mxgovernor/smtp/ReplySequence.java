package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.IntFunction;

/**
 * Reads a run of replies in order (those to a pipelined burst, or to BDAT chunks) and hands each to a handler. A loop,
 * not a chain of stages: replies already queued are taken one after the other on the same stack frame, however many
 * there are (a burst to a thousand recipients). Runs on the connection's event loop.
 */
final class ReplySequence {
    /** Takes the reply at {@code index}; throws (a {@link CompletionException}) to end the run with a failure. */
    @FunctionalInterface
    interface Handler {
        void take(int index, SmtpReply reply);
    }

    private final SmtpConnection connection;
    private final int count;
    private final long timeoutMillis;
    private final IntFunction<Stage> stage;
    private final IntFunction<String> what;
    private final Handler handler;
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private ReplySequence(SmtpConnection connection, int count, long timeoutMillis, IntFunction<Stage> stage,
                          IntFunction<String> what, Handler handler) {
        this.connection = connection;
        this.count = count;
        this.timeoutMillis = timeoutMillis;
        this.stage = stage;
        this.what = what;
        this.handler = handler;
    }

    /**
     * Reads {@code count} replies, each within {@code timeoutMillis}; the reply at index {@code i} answers the
     * command of {@code stage(i)}, described as {@code what(i)} in messages. Completes once the handler took the
     * last, or with the first failure.
     */
    static CompletableFuture<Void> read(SmtpConnection connection, int count, long timeoutMillis,
                                        IntFunction<Stage> stage, IntFunction<String> what, Handler handler) {
        ReplySequence sequence = new ReplySequence(connection, count, timeoutMillis, stage, what, handler);
        sequence.readFrom(0);
        return sequence.done;
    }

    private void readFrom(int first) {
        for (int index = first; index < count; index++) {
            CompletableFuture<SmtpReply> next = connection.reply(stage.apply(index), what.apply(index), timeoutMillis);
            if (!next.isDone()) {
                int awaited = index;
                next.whenComplete((reply, failure) -> {
                    if (took(awaited, reply, failure)) {
                        readFrom(awaited + 1);
                    }
                });
                return;
            }
            SmtpReply reply;
            try {
                reply = next.join();
            } catch (CompletionException failure) {
                took(index, null, failure);
                return;
            }
            if (!took(index, reply, null)) {
                return;
            }
        }
        done.complete(null);
    }

    private boolean took(int index, SmtpReply reply, Throwable failure) {
        if (failure != null) {
            done.completeExceptionally(TransactionWriter.unwrap(failure));
            return false;
        }
        try {
            handler.take(index, reply);
            return true;
        } catch (RuntimeException e) {
            done.completeExceptionally(TransactionWriter.unwrap(e));
            return false;
        }
    }
}

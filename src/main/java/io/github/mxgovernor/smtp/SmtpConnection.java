package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One SMTP connection on a Netty channel, the last handler of its pipeline (after the {@link ReplyDecoder}): writes
 * commands, hands out the server's replies in order, each within its deadline, and remembers why the connection
 * ended, so that whoever waits next is told. Its methods run on the channel's event loop, except those that say
 * any thread may call them.
 *
 * <ul>
 *   <li>Every command written expects one reply; a reply nobody asked for ends the connection (a server that is out
 *       of step, or one that injects replies).</li>
 *   <li>A 421 ends the connection, whatever command it answers.</li>
 *   <li>Writes are watched: when bytes are waiting to go out and none has gone for the stall time (the session's
 *       {@code dataTimeout}), the server stopped reading and the connection is closed.</li>
 * </ul>
 */
final class SmtpConnection extends ChannelInboundHandlerAdapter {
    /** Why a connection ended; the first reason recorded is kept. */
    private static final class Ending {
        enum Why { PEER, MALFORMED, STALLED, LOCAL }

        private final Why why;
        private final String detail;
        private final Throwable cause;

        Ending(Why why, String detail, Throwable cause) {
            this.why = why;
            this.detail = detail;
            this.cause = cause;
        }
    }

    /** The one reply being awaited: who awaits it (for messages) and until when. */
    private static final class Awaited {
        private final Stage stage;
        private final String what;
        private final long timeoutMillis;
        private final CompletableFuture<SmtpReply> future = new CompletableFuture<>();
        private ScheduledFuture<?> timer;

        Awaited(Stage stage, String what, long timeoutMillis) {
            this.stage = stage;
            this.what = what;
            this.timeoutMillis = timeoutMillis;
        }
    }

    private final SmtpEndpoint endpoint;
    private final long stallMillis;
    private final long quitWaitMillis;
    private final ArrayDeque<SmtpReply> replies = new ArrayDeque<>(4);
    private final AtomicReference<Ending> ending = new AtomicReference<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private volatile Channel channel;
    private volatile boolean retiring;
    private ReplyDecoder decoder;
    private int expectedReplies = 1;
    private Awaited awaited;
    private int pendingWrites;
    private long lastProgressNanos;
    private ScheduledFuture<?> stallCheck;

    /**
     * @param stallTime how long bytes may wait to go out without any going (the session's {@code dataTimeout})
     * @param quitWait how long the server has to answer QUIT before the connection is closed anyway
     */
    SmtpConnection(SmtpEndpoint endpoint, Duration stallTime, Duration quitWait) {
        this.endpoint = endpoint;
        this.stallMillis = millis(stallTime);
        this.quitWaitMillis = millis(quitWait);
    }

    /** A timer's delay in milliseconds, never 0 (which would mean no wait at all). */
    static long millis(Duration duration) {
        if (duration.compareTo(Duration.ofMillis(Long.MAX_VALUE / 2)) >= 0) {
            return Long.MAX_VALUE / 2;
        }
        return Math.max(1, duration.toMillis());
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        decoder = ctx.pipeline().get(ReplyDecoder.class);
        channel.closeFuture().addListener(closing -> connectionClosed());
    }

    SmtpEndpoint endpoint() {
        return endpoint;
    }

    Channel channel() {
        return channel;
    }

    EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /**
     * Runs tasks on the event loop; once the loop is shut down, on the caller's thread, where they fail at their
     * first step (so that a stage chained with it always completes).
     */
    Executor executor() {
        return task -> {
            try {
                eventLoop().execute(task);
            } catch (RejectedExecutionException shutDown) {
                task.run();
            }
        };
    }

    /** Whether the connection can carry commands: open, no failure seen, not saying goodbye. Any thread. */
    boolean isOpen() {
        Channel open = channel;
        return ending.get() == null && !retiring && open != null && open.isActive();
    }

    /** Completes once the connection is closed; never fails. Any thread. */
    CompletableFuture<Void> closeFuture() {
        return closed;
    }

    /**
     * Whether the server sent bytes that no reply handed out accounts for: a reply queued, or the rest of the read
     * being decoded. Asked while a reply is being handled, this tells what came right behind it.
     */
    boolean hasUnreadInput() {
        return !replies.isEmpty() || (decoder != null && decoder.hasUnreadInput());
    }

    /** Writes a command line without flushing; its reply is expected. */
    void send(String command) {
        expectedReplies++;
        write(commandLine(channel, command));
    }

    void flush() {
        channel.flush();
    }

    /** Writes a command, flushes, and awaits its reply. */
    CompletableFuture<SmtpReply> command(String command, Stage stage, long timeoutMillis) {
        send(command);
        flush();
        return reply(stage, stage.toString(), timeoutMillis);
    }

    /**
     * The next reply, within {@code timeoutMillis}. Completes exceptionally, the connection closed, with an
     * {@link SmtpSessionException} at {@code stage} when the reply is a 421, does not come in time, is malformed,
     * or the connection ended.
     *
     * @param what what the reply answers, for messages ({@code "end of data"})
     */
    CompletableFuture<SmtpReply> reply(Stage stage, String what, long timeoutMillis) {
        SmtpReply queued = replies.poll();
        if (queued != null) {
            return accepted(queued, stage);
        }
        Ending ended = ending.get();
        if (ended != null) {
            return CompletableFuture.failedFuture(failureAwaiting(ended, stage, what));
        }
        if (awaited != null) {
            return CompletableFuture.failedFuture(new IllegalStateException(endpoint + ": the reply to "
                + awaited.what + " is awaited already"));
        }
        Awaited next = new Awaited(stage, what, timeoutMillis);
        next.timer = eventLoop().schedule(() -> replyTimedOut(next), timeoutMillis, TimeUnit.MILLISECONDS);
        awaited = next;
        return next.future;
    }

    /**
     * Writes bytes from a content thread (any thread but the event loop), in order with everything written before;
     * {@code written} hears how the write went. {@code commands} is how many replies the bytes call for.
     */
    void submit(ByteBuf bytes, int commands, boolean flush, ChannelFutureListener written) {
        try {
            eventLoop().execute(() -> {
                expectedReplies += commands;
                write(bytes).addListener(written);
                if (flush) {
                    flush();
                }
            });
        } catch (RejectedExecutionException shutDown) {
            bytes.release();
            abort("the client is shutting down");
            throw shutDown;
        }
    }

    /** Ends the connection after a failure, without QUIT, and returns the failure to report. */
    SmtpSessionException fail(Stage stage, Kind kind, String message, SmtpReply reply, Throwable cause) {
        end(Ending.Why.LOCAL, message, cause);
        channel.close();
        return exception(stage, kind, message, reply, cause);
    }

    /**
     * Ends the connection after the server refused in good order (QUIT, then close) and returns the failure to
     * report: {@code message}, then the reply when there is one.
     */
    SmtpSessionException refuse(Stage stage, Kind kind, String message, SmtpReply reply) {
        quit();
        return exception(stage, kind, reply == null ? message : message + ": " + reply, reply, null);
    }

    /** A failure at {@code stage}, its message prefixed with the endpoint; ends nothing. */
    SmtpSessionException exception(Stage stage, Kind kind, String message, SmtpReply reply, Throwable cause) {
        return new SmtpSessionException(stage, kind, endpoint + ": " + message, Optional.ofNullable(reply), cause);
    }

    /**
     * Ends the connection in good order: QUIT when it can still carry commands, at most the QUIT wait for the
     * reply, then close. Returns the {@link #closeFuture()}.
     */
    CompletableFuture<Void> quit() {
        if (isOpen()) {
            retiring = true;
            send("QUIT");
            flush();
            reply(null, "QUIT", quitWaitMillis).whenComplete((reply, failure) -> channel.close());
        } else {
            retiring = true;
            channel.close();
        }
        return closed;
    }

    /**
     * Closes the connection at once: nothing written after this returns reaches the server (the socket itself is
     * closed before returning). Whoever waits for a reply is told {@code why}. Any thread.
     */
    void abort(String why) {
        endAbruptly(Ending.Why.LOCAL, why);
    }

    private void endAbruptly(Ending.Why why, String detail) {
        end(why, detail, null);
        Channel open = channel;
        if (open == null) {
            return;
        }
        if (open instanceof AbortableSocketChannel) {
            ((AbortableSocketChannel) open).closeSocket();
        }
        open.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof SmtpReply)) {
            ctx.fireChannelRead(msg);
            return;
        }
        SmtpReply reply = (SmtpReply) msg;
        if (ending.get() != null) {
            return;
        }
        if (expectedReplies == 0) {
            Ending.Why why = reply.isServiceClosing() ? Ending.Why.PEER : Ending.Why.MALFORMED;
            end(why, "server sent a reply to no command: " + reply, null);
            channel.close();
            return;
        }
        expectedReplies--;
        Awaited waiting = awaited;
        if (waiting == null) {
            replies.add(reply);
            return;
        }
        awaited = null;
        waiting.timer.cancel(false);
        if (reply.isServiceClosing() && waiting.stage != null) {
            waiting.future.completeExceptionally(closing(reply, waiting.stage));
        } else {
            waiting.future.complete(reply);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof ReplyDecoder.MalformedReplyException) {
            end(Ending.Why.MALFORMED, cause.getMessage(), cause);
        } else {
            end(Ending.Why.PEER, String.valueOf(cause.getMessage()), cause);
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        connectionClosed();
    }

    /** A reply handed out: a 421 ends the connection instead. */
    private CompletableFuture<SmtpReply> accepted(SmtpReply reply, Stage stage) {
        if (reply.isServiceClosing() && stage != null) {
            return CompletableFuture.failedFuture(closing(reply, stage));
        }
        return CompletableFuture.completedFuture(reply);
    }

    private SmtpSessionException closing(SmtpReply reply, Stage stage) {
        return fail(stage, Kind.REFUSED_BY_SERVER, "server is closing the connection: " + reply, reply, null);
    }

    private void replyTimedOut(Awaited waiting) {
        if (awaited != waiting) {
            return;
        }
        awaited = null;
        String message = "no reply to " + waiting.what + " within " + waiting.timeoutMillis + " ms";
        waiting.future.completeExceptionally(waiting.stage == null ? new IOException(message)
            : fail(waiting.stage, Kind.TIMEOUT, message, null, null));
        if (waiting.stage == null) {
            channel.close();
        }
    }

    private void end(Ending.Why why, String detail, Throwable cause) {
        if (ending.compareAndSet(null, new Ending(why, detail, cause))) {
            Channel open = channel;
            if (open == null || open.eventLoop().inEventLoop()) {
                failAwaited();
                return;
            }
            try {
                open.eventLoop().execute(this::failAwaited);
            } catch (RejectedExecutionException shutDown) {
                // the event loop is gone, and whoever waited with it
            }
        }
    }

    private void connectionClosed() {
        end(Ending.Why.PEER, "connection closed by the server", null);
        failAwaited();
        cancelStallCheck();
        closed.complete(null);
    }

    private void failAwaited() {
        Awaited waiting = awaited;
        Ending ended = ending.get();
        if (waiting == null || ended == null) {
            return;
        }
        awaited = null;
        waiting.timer.cancel(false);
        waiting.future.completeExceptionally(waiting.stage == null ? new IOException(ended.detail)
            : failureAwaiting(ended, waiting.stage, waiting.what));
    }

    /** What the one awaiting a reply is told when the connection ended under it. */
    private SmtpSessionException failureAwaiting(Ending ended, Stage stage, String what) {
        switch (ended.why) {
            case MALFORMED:
                return exception(stage, Kind.PROTOCOL_ERROR, "malformed reply to " + what + ": " + ended.detail, null,
                    ended.cause);
            case STALLED:
                return exception(stage, Kind.TIMEOUT, "could not send " + (stage == Stage.CONTENT ? "the content"
                    : stage.toString()) + ": " + ended.detail, null, ended.cause);
            default:
                // before the greeting, a closed connection is a refused one
                Kind kind = stage == Stage.GREETING ? Kind.CONNECTION_REFUSED : Kind.CONNECTION_LOST;
                return exception(stage, kind, "connection lost awaiting the reply to " + what + ": " + ended.detail,
                    null, ended.cause);
        }
    }

    private ChannelFuture write(ByteBuf bytes) {
        if (pendingWrites++ == 0) {
            lastProgressNanos = System.nanoTime();
            if (stallCheck == null && ending.get() == null) {
                stallCheck = eventLoop().schedule(this::checkStall, stallMillis, TimeUnit.MILLISECONDS);
            }
        }
        return channel.write(bytes).addListener(done -> {
            pendingWrites--;
            lastProgressNanos = System.nanoTime();
        });
    }

    private void checkStall() {
        stallCheck = null;
        if (pendingWrites == 0 || ending.get() != null) {
            return;
        }
        long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastProgressNanos);
        if (idleMillis >= stallMillis) {
            endAbruptly(Ending.Why.STALLED, "the server took nothing for " + stallMillis + " ms");
            return;
        }
        stallCheck = eventLoop().schedule(this::checkStall, stallMillis - idleMillis, TimeUnit.MILLISECONDS);
    }

    private void cancelStallCheck() {
        if (stallCheck != null) {
            stallCheck.cancel(false);
            stallCheck = null;
        }
    }

    private static ByteBuf commandLine(Channel channel, String command) {
        ByteBuf line = channel.alloc().buffer(ByteBufUtil.utf8MaxBytes(command) + 2);
        // non-ASCII addresses go out as UTF-8 and the server decides
        ByteBufUtil.writeUtf8(line, command);
        line.writeByte('\r').writeByte('\n');
        return line;
    }
}

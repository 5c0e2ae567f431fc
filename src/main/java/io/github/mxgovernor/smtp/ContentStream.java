package io.github.mxgovernor.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The connection as an output stream for a content thread: what {@link MessageContent#writeTo} produces goes to the
 * channel in pieces of {@link #PIECE_BYTES}, in order behind whatever the session wrote before. Memory stays bounded
 * whatever the size of the message: when more than {@link #MAX_IN_FLIGHT} bytes are on their way and not yet taken
 * by the socket, the content thread waits until the server takes some, or the connection ends (the connection's
 * stall watch ends it when the server takes nothing for the session's {@code dataTimeout}).
 *
 * <p>Nothing reaches the network before {@link #finish()}, unless the content outgrows {@link #FLUSH_BYTES}: a small
 * message goes out in the same write as the commands before it. {@link #flush()} and {@link #close()} do nothing,
 * so content writers cannot push half a message out early or close the connection. Once a write failed or the
 * connection ended, every write throws a {@link TransportFailure}: {@link #failed()} tells a failure of the
 * transport from one of the content's source. The writer then just stops: the connection knows why it ended, and
 * the reply awaited next says so.
 */
final class ContentStream extends OutputStream {
    static final int PIECE_BYTES = 16 * 1024;
    static final int FLUSH_BYTES = 64 * 1024;
    static final long MAX_IN_FLIGHT = 256 * 1024;
    private static final long WAIT_SLICE_MILLIS = 100;

    /** The connection could not take the content. */
    static final class TransportFailure extends IOException {
        private static final long serialVersionUID = 1L;

        TransportFailure(String message) {
            super(message);
        }
    }

    private final SmtpConnection connection;
    private final Object lock = new Object();
    private long inFlight;
    private boolean failed;
    private ByteBuf piece;
    private int commandsInPiece;
    private int unflushed;

    /** @throws IllegalStateException on the connection's event loop, which waiting for the network would stall */
    ContentStream(SmtpConnection connection) {
        if (connection.eventLoop().inEventLoop()) {
            throw new IllegalStateException("message content is written on a content thread, not on an I/O thread:"
                + " the content executor must not run tasks on the thread that submits them");
        }
        this.connection = connection;
    }

    /** Whether the transport failed under this stream (as opposed to the content's source). */
    boolean failed() {
        synchronized (lock) {
            return failed;
        }
    }

    /** Writes a command line among the content (BDAT); its reply is expected. */
    void command(String line) throws IOException {
        expectReply();
        write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** The bytes written next end a command (the final dot of DATA): one more reply is expected. */
    void expectReply() {
        commandsInPiece++;
    }

    @Override
    public void write(int b) throws IOException {
        ensurePiece();
        piece.writeByte(b);
        if (!piece.isWritable()) {
            submit(false);
        }
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        int done = 0;
        while (done < length) {
            ensurePiece();
            int step = Math.min(length - done, piece.writableBytes());
            piece.writeBytes(bytes, offset + done, step);
            done += step;
            if (!piece.isWritable()) {
                submit(false);
            }
        }
    }

    /** Sends what is left and flushes: the content and the commands among it are on their way. */
    void finish() throws IOException {
        ensurePiece();
        submit(true);
    }

    /** Drops what was not sent, after a failure. */
    void discard() {
        if (piece != null) {
            piece.release();
            piece = null;
        }
    }

    @Override
    public void flush() {
        // the session decides when the content goes out
    }

    @Override
    public void close() {
        // the connection is the session's
    }

    private void ensurePiece() throws TransportFailure {
        if (piece == null) {
            checkOpen();
            piece = connection.channel().alloc().buffer(PIECE_BYTES, PIECE_BYTES);
        }
    }

    private void submit(boolean flush) throws IOException {
        ByteBuf bytes = piece;
        int size = bytes.readableBytes();
        int commands = commandsInPiece;
        piece = null;
        commandsInPiece = 0;
        unflushed += size;
        boolean flushNow = flush || unflushed >= FLUSH_BYTES;
        if (flushNow) {
            unflushed = 0;
        }
        synchronized (lock) {
            inFlight += size;
        }
        try {
            connection.submit(bytes, commands, flushNow, (ChannelFuture written) -> {
                synchronized (lock) {
                    inFlight -= size;
                    failed |= !written.isSuccess();
                    lock.notifyAll();
                }
            });
        } catch (RuntimeException shutDown) {
            markFailed();
            throw new TransportFailure("the client is shutting down");
        }
        awaitRoom();
    }

    private void awaitRoom() throws TransportFailure {
        synchronized (lock) {
            while (inFlight > MAX_IN_FLIGHT) {
                if (failed || !connection.isOpen()) {
                    failed = true;
                    throw new TransportFailure("the connection ended");
                }
                try {
                    lock.wait(WAIT_SLICE_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    connection.abort("the content thread was interrupted");
                }
            }
        }
    }

    private void checkOpen() throws TransportFailure {
        synchronized (lock) {
            if (!failed && connection.isOpen()) {
                return;
            }
            failed = true;
        }
        throw new TransportFailure("the connection ended");
    }

    private void markFailed() {
        synchronized (lock) {
            failed = true;
        }
    }
}

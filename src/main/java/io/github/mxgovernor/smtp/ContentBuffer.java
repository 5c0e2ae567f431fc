package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.util.Arrays;

/**
 * Message content with every line ending made CRLF (bare LF and bare CR included) and a last line closed by
 * CRLF, not dot-stuffed: the bytes BDAT carries and RFC 1870 counts. One instance serves a session's
 * transactions in turn, in one of two modes:
 * <ul>
 *   <li>{@link #startScan()}: keeps the normalised bytes up to the limit and goes on counting past it, so one
 *       pass over the content tells its size and whether it has 8-bit bytes and, for most mails, holds it
 *       whole ({@link #isHeldWhole()});</li>
 *   <li>{@link #startChunking(ChunkSink)}: hands each full buffer to a sink (one BDAT chunk) and the rest,
 *       marked last, on {@link #finish()}, so a mail larger than the limit streams in bounded memory.</li>
 * </ul>
 * The buffer grows on demand up to the limit; {@link #release()} drops a buffer grown beyond what the session
 * keeps between transactions.
 */
final class ContentBuffer extends CrlfOutputStream {
    private static final int INITIAL_BYTES = 8 * 1024;
    private static final byte[] CRLF = {'\r', '\n'};

    /** Receives the chunks of a mail in chunking mode. */
    @FunctionalInterface
    interface ChunkSink {
        void chunk(byte[] bytes, int length, boolean last) throws IOException;
    }

    private final int limit;
    private final int retained;
    private byte[] buffer = new byte[0];
    private int length;
    private long size;
    private boolean eightBit;
    private boolean overflowed;
    private ChunkSink sink;

    /**
     * @param limit the most bytes held at once: larger content is only counted while scanning, and goes in
     *     chunks of this size while chunking
     * @param retained the largest buffer kept between transactions
     */
    ContentBuffer(int limit, int retained) {
        if (limit < 1) {
            throw new IllegalArgumentException("content buffer limit must be positive, was " + limit);
        }
        this.limit = limit;
        this.retained = Math.min(retained, limit);
    }

    /** Starts a scan: the content written next is counted, and held while it fits in the limit. */
    void startScan() {
        reset();
        sink = null;
    }

    /** Starts chunking: the content written next goes to {@code chunks} one full buffer at a time. */
    void startChunking(ChunkSink chunks) {
        reset();
        sink = chunks;
    }

    private void reset() {
        length = 0;
        size = 0;
        eightBit = false;
        overflowed = false;
        restart();
    }

    @Override
    void text(byte[] bytes, int offset, int count, boolean lineStart) throws IOException {
        if (!eightBit) {
            for (int i = offset; i < offset + count; i++) {
                if (bytes[i] < 0) {
                    eightBit = true;
                    break;
                }
            }
        }
        putAll(bytes, offset, count);
    }

    @Override
    void lineEnd() throws IOException {
        putAll(CRLF, 0, CRLF.length);
    }

    /** Closes the last line when the content did not; in chunking mode, hands over the last chunk. */
    void finish() throws IOException {
        finishLines();
        if (sink != null) {
            sink.chunk(buffer, length, true);
            length = 0;
        }
    }

    /** The normalised size (RFC 1870), complete after {@link #finish()}. */
    long size() {
        return size;
    }

    boolean hasEightBitBytes() {
        return eightBit;
    }

    /** Whether the whole scanned content is in {@link #bytes()}; false when it was larger than the limit. */
    boolean isHeldWhole() {
        return !overflowed;
    }

    /** The held bytes, valid up to {@link #length()}. */
    byte[] bytes() {
        return buffer;
    }

    int length() {
        return length;
    }

    /** Drops a buffer grown beyond what the session keeps between transactions. */
    void release() {
        if (buffer.length > retained) {
            buffer = new byte[0];
        }
        length = 0;
    }

    private void putAll(byte[] bytes, int offset, int count) throws IOException {
        int done = 0;
        while (done < count) {
            if (overflowed) {
                size += count - done;
                return;
            }
            if (length == limit) {
                if (sink == null) {
                    overflowed = true;
                    continue;
                }
                sink.chunk(buffer, length, false);
                length = 0;
            }
            int step = Math.min(count - done, limit - length);
            if (length + step > buffer.length) {
                grow(length + step);
            }
            System.arraycopy(bytes, offset + done, buffer, length, step);
            length += step;
            size += step;
            done += step;
        }
    }

    private void grow(int needed) {
        int capacity = Math.max(INITIAL_BYTES, buffer.length);
        while (capacity < needed) {
            capacity = capacity > limit / 2 ? limit : capacity * 2;
        }
        buffer = Arrays.copyOf(buffer, Math.min(capacity, limit));
    }
}

package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Message content with every line ending made CRLF (bare LF and bare CR included), as SMTP carries it: the content
 * comes out as runs of bytes without line endings ({@link #text}) and line ends ({@link #lineEnd}), and
 * {@link #finishLines()} closes the last line when the content did not. Nothing is held beyond one pending CR.
 * {@link #flush()} and {@link #close()} do nothing: the session decides when bytes go on the wire, and owns the
 * connection.
 */
abstract class CrlfOutputStream extends OutputStream {
    private final byte[] single = new byte[1];
    private boolean atLineStart = true;
    private boolean pendingCr;

    /**
     * A run of bytes of one line, none of them CR or LF.
     *
     * @param lineStart whether the run starts its line
     */
    abstract void text(byte[] bytes, int offset, int length, boolean lineStart) throws IOException;

    /** One line ending, CRLF. */
    abstract void lineEnd() throws IOException;

    /** Starts afresh, at the start of a line. */
    final void restart() {
        atLineStart = true;
        pendingCr = false;
    }

    @Override
    public final void write(int b) throws IOException {
        single[0] = (byte) b;
        write(single, 0, 1);
    }

    @Override
    public final void write(byte[] bytes, int offset, int length) throws IOException {
        int end = offset + length;
        int runStart = offset;
        for (int i = offset; i < end; i++) {
            byte b = bytes[i];
            if (b != '\r' && b != '\n') {
                continue;
            }
            if (i > runStart) {
                endPendingCr();
                text(bytes, runStart, i - runStart, atLineStart);
                atLineStart = false;
            }
            runStart = i + 1;
            if (b == '\n' && pendingCr) {
                pendingCr = false;
                endLine();
            } else if (b == '\n') {
                endPendingCr();
                endLine();
            } else {
                endPendingCr();
                pendingCr = true;
            }
        }
        if (end > runStart) {
            endPendingCr();
            text(bytes, runStart, end - runStart, atLineStart);
            atLineStart = false;
        }
    }

    /** Ends the last line if the content did not. */
    final void finishLines() throws IOException {
        endPendingCr();
        if (!atLineStart) {
            endLine();
        }
    }

    @Override
    public final void flush() {
        // the session decides when bytes go on the wire
    }

    @Override
    public final void close() {
        // the stream's sink belongs to the session
    }

    private void endPendingCr() throws IOException {
        if (pendingCr) {
            pendingCr = false;
            endLine();
        }
    }

    private void endLine() throws IOException {
        lineEnd();
        atLineStart = true;
    }
}

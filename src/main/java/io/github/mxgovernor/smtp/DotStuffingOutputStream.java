package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Frames message content for the SMTP DATA command while it streams: every line ending becomes CRLF (bare LF
 * and bare CR included), a line starting with '.' gets a second '.', and {@link #finish()} closes the last
 * line when needed and writes the terminating ".CRLF". Nothing is buffered here beyond one pending CR.
 *
 * <p>{@link #flush()} and {@link #close()} do nothing, so content writers cannot push half a message onto the
 * wire early or close the connection. A write failure of the underlying stream is remembered
 * ({@link #transportFailure()}) so the session can tell it apart from a failure of the content source.
 */
final class DotStuffingOutputStream extends OutputStream {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] END_OF_DATA = {'.', '\r', '\n'};

    private final OutputStream out;
    private boolean atLineStart = true;
    private boolean pendingCr;
    private IOException transportFailure;

    DotStuffingOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
        try {
            if (pendingCr) {
                pendingCr = false;
                endLine();
                if (b == '\n') {
                    return;
                }
            }
            if (b == '\r') {
                pendingCr = true;
            } else if (b == '\n') {
                endLine();
            } else {
                if (atLineStart) {
                    atLineStart = false;
                    if (b == '.') {
                        out.write('.');
                    }
                }
                out.write(b);
            }
        } catch (IOException e) {
            transportFailure = e;
            throw e;
        }
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        try {
            int end = offset + length;
            int runStart = offset;
            for (int i = offset; i < end; i++) {
                byte b = bytes[i];
                if (pendingCr) {
                    pendingCr = false;
                    endLine();
                    if (b == '\n') {
                        runStart = i + 1;
                        continue;
                    }
                }
                if (b == '\r' || b == '\n') {
                    if (i > runStart) {
                        out.write(bytes, runStart, i - runStart);
                    }
                    runStart = i + 1;
                    if (b == '\r') {
                        pendingCr = true;
                    } else {
                        endLine();
                    }
                } else if (atLineStart) {
                    atLineStart = false;
                    if (b == '.') {
                        // the run is empty at a line start, so the extra dot goes right before this one
                        out.write('.');
                    }
                }
            }
            if (end > runStart) {
                out.write(bytes, runStart, end - runStart);
            }
        } catch (IOException e) {
            transportFailure = e;
            throw e;
        }
    }

    /** Ends the last line if the content did not, then writes the terminating ".CRLF". */
    void finish() throws IOException {
        try {
            if (pendingCr) {
                pendingCr = false;
                endLine();
            }
            if (!atLineStart) {
                endLine();
            }
            out.write(END_OF_DATA);
        } catch (IOException e) {
            transportFailure = e;
            throw e;
        }
    }

    /** The write failure of the underlying stream, or null when every write succeeded. */
    IOException transportFailure() {
        return transportFailure;
    }

    @Override
    public void flush() {
        // the session flushes once the whole content is written
    }

    @Override
    public void close() {
        // closing would close the connection; the session owns it
    }

    private void endLine() throws IOException {
        out.write(CRLF);
        atLineStart = true;
    }
}

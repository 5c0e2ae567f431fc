package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Frames message content for the SMTP DATA command while it streams: every line ending becomes CRLF (bare LF
 * and bare CR included), a line starting with '.' gets a second '.', and {@link #finish()} closes the last
 * line when needed and writes the terminating ".CRLF". Nothing is buffered here beyond one pending CR.
 *
 * <p>{@link #flush()} and {@link #close()} do nothing, so content writers cannot push half a message onto the
 * wire early or close the connection (see {@link CrlfOutputStream}). A write failure of the underlying stream is remembered
 * ({@link #transportFailure()}) so the session can tell it apart from a failure of the content source.
 */
final class DotStuffingOutputStream extends CrlfOutputStream {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] END_OF_DATA = {'.', '\r', '\n'};

    private final OutputStream out;
    private IOException transportFailure;

    DotStuffingOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    void text(byte[] bytes, int offset, int length, boolean lineStart) throws IOException {
        try {
            if (lineStart && bytes[offset] == '.') {
                out.write('.');
            }
            out.write(bytes, offset, length);
        } catch (IOException e) {
            transportFailure = e;
            throw e;
        }
    }

    @Override
    void lineEnd() throws IOException {
        try {
            out.write(CRLF);
        } catch (IOException e) {
            transportFailure = e;
            throw e;
        }
    }

    /** Ends the last line if the content did not, then writes the terminating ".CRLF". */
    void finish() throws IOException {
        finishLines();
        try {
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
}

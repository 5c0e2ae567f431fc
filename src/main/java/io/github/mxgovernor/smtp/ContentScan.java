package io.github.mxgovernor.smtp;

import java.io.OutputStream;

/**
 * Counts what the MAIL FROM parameters need to know about a message without keeping it: whether any byte has
 * the high bit set (BODY=8BITMIME, RFC 6152) and the size with every line ending as CRLF and a final CRLF,
 * not counting dot-stuffing or the terminating dot (SIZE, RFC 1870).
 */
final class ContentScan extends OutputStream {
    private long size;
    private boolean eightBit;
    private boolean atLineStart = true;
    private boolean pendingCr;

    @Override
    public void write(int b) {
        if ((b & 0x80) != 0) {
            eightBit = true;
        }
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
            size++;
            atLineStart = false;
        }
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            write(bytes[i]);
        }
    }

    boolean hasEightBitBytes() {
        return eightBit;
    }

    /** The size the content will have on the wire as RFC 1870 counts it. */
    long normalisedSize() {
        return size + (pendingCr || !atLineStart ? 2 : 0);
    }

    private void endLine() {
        size += 2;
        atLineStart = true;
    }
}

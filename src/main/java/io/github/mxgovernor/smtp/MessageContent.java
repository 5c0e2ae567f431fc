package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The RFC 5322 message to transmit, as raw bytes. Line endings may be CRLF or bare LF; the session
 * normalises them and applies the transfer framing (dot-stuffing for DATA). Must be writable more than once.
 */
public interface MessageContent {
    void writeTo(OutputStream out) throws IOException;
}

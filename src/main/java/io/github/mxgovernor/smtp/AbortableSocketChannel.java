package io.github.mxgovernor.smtp;

import io.netty.channel.socket.nio.NioSocketChannel;

import java.io.IOException;

/**
 * A Netty NIO socket channel whose socket any thread may close at once. {@code Channel.close()} called off the
 * event loop only schedules the close, so the loop may still write what it holds; closing the JDK channel waits for
 * a write in progress and refuses every later one, so once {@link #closeSocket()} returns no further byte goes out.
 */
final class AbortableSocketChannel extends NioSocketChannel {
    void closeSocket() {
        try {
            javaChannel().close();
        } catch (IOException ignored) {
            // closed is what was wanted
        }
    }
}

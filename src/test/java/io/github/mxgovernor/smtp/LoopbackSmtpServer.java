package io.github.mxgovernor.smtp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A lenient SMTP server on 127.0.0.1 for many connections at once, on two Netty threads of its own (so the thread
 * count of a test does not grow with its connections): greeting, EHLO with the extensions given, 250 to MAIL, RCPT
 * and RSET, DATA to the lone dot, BDAT by its byte counts, 221 to QUIT unless told never to answer it; the greeting
 * may come after a delay (scheduled on its threads, holding none). It counts what it saw. Public for the engine's
 * scale test.
 */
public final class LoopbackSmtpServer implements AutoCloseable {
    private final EventLoopGroup group = new NioEventLoopGroup(2, task -> {
        Thread thread = new Thread(task, "loopback-smtp-server");
        thread.setDaemon(true);
        return thread;
    });
    private final Channel listener;
    private final List<String> extensions;
    private final boolean answersQuit;
    private final Duration greetingDelay;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger messages = new AtomicInteger();
    private final AtomicInteger quits = new AtomicInteger();

    private LoopbackSmtpServer(List<String> extensions, boolean answersQuit, Duration greetingDelay)
            throws InterruptedException {
        this.extensions = extensions;
        this.answersQuit = answersQuit;
        this.greetingDelay = greetingDelay;
        this.listener = new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel channel) {
                    channel.pipeline().addLast(new Conversation());
                }
            })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** A server that offers these extensions and says goodbye to QUIT. */
    public static LoopbackSmtpServer start(String... extensions) throws InterruptedException {
        return new LoopbackSmtpServer(List.of(extensions), true, Duration.ZERO);
    }

    /** A server that greets each connection {@code greetingDelay} after accepting it. */
    public static LoopbackSmtpServer greetingAfter(Duration greetingDelay, String... extensions)
            throws InterruptedException {
        return new LoopbackSmtpServer(List.of(extensions), true, greetingDelay);
    }

    /** A server that reads QUIT and never answers it, as a NAT that dropped the connection would not. */
    static LoopbackSmtpServer neverAnsweringQuit(String... extensions) throws InterruptedException {
        return new LoopbackSmtpServer(List.of(extensions), false, Duration.ZERO);
    }

    public SmtpEndpoint endpoint() {
        InetSocketAddress address = (InetSocketAddress) listener.localAddress();
        return new SmtpEndpoint("mx.test", address.getAddress(), address.getPort());
    }

    /** Connections open now. */
    public int openConnections() {
        return open.get();
    }

    public int messagesReceived() {
        return messages.get();
    }

    int quitsReceived() {
        return quits.get();
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** One connection: commands by line, content by DATA or BDAT. */
    private final class Conversation extends ByteToMessageDecoder {
        private static final int MAX_LINE = 64 * 1024;
        private boolean inData;
        private long bdatLeft;
        private boolean bdatLast;

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            open.incrementAndGet();
            if (greetingDelay.isZero()) {
                reply(ctx, "220 loopback ready");
            } else {
                ctx.executor().schedule(() -> reply(ctx, "220 loopback ready"), greetingDelay.toNanos(),
                    TimeUnit.NANOSECONDS);
            }
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            open.decrementAndGet();
            super.channelInactive(ctx);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (bdatLeft > 0) {
                int skipped = (int) Math.min(bdatLeft, in.readableBytes());
                in.skipBytes(skipped);
                bdatLeft -= skipped;
                if (bdatLeft == 0) {
                    endChunk(ctx);
                }
                return;
            }
            int lineFeed = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (lineFeed < 0) {
                if (in.readableBytes() > MAX_LINE) {
                    ctx.close();
                }
                return;
            }
            String line = in.readCharSequence(lineFeed - in.readerIndex(), StandardCharsets.ISO_8859_1).toString()
                .replace("\r", "");
            in.skipBytes(1);
            if (inData) {
                if (line.equals(".")) {
                    inData = false;
                    messages.incrementAndGet();
                    reply(ctx, "250 2.0.0 queued");
                }
                return;
            }
            command(ctx, line);
        }

        private void command(ChannelHandlerContext ctx, String line) {
            String verb = line.split(" ", 2)[0].toUpperCase(Locale.ROOT);
            switch (verb) {
                case "EHLO":
                    StringBuilder ehlo = new StringBuilder(extensions.isEmpty() ? "250 " : "250-").append("loopback");
                    for (int i = 0; i < extensions.size(); i++) {
                        ehlo.append(i == extensions.size() - 1 ? "\r\n250 " : "\r\n250-").append(extensions.get(i));
                    }
                    reply(ctx, ehlo.toString());
                    break;
                case "DATA":
                    inData = true;
                    reply(ctx, "354 go ahead");
                    break;
                case "BDAT":
                    String[] words = line.split(" ");
                    bdatLeft = Long.parseLong(words[1]);
                    bdatLast = words.length > 2 && words[2].equalsIgnoreCase("LAST");
                    if (bdatLeft == 0) {
                        endChunk(ctx);
                    }
                    break;
                case "QUIT":
                    quits.incrementAndGet();
                    if (answersQuit) {
                        ctx.writeAndFlush(ascii("221 2.0.0 bye\r\n")).addListener(written -> ctx.close());
                    }
                    break;
                default:
                    reply(ctx, "250 2.0.0 ok");
                    break;
            }
        }

        private void endChunk(ChannelHandlerContext ctx) {
            if (bdatLast) {
                messages.incrementAndGet();
                reply(ctx, "250 2.0.0 queued");
            } else {
                reply(ctx, "250 2.0.0 chunk taken");
            }
        }

        private void reply(ChannelHandlerContext ctx, String text) {
            ctx.writeAndFlush(ascii(text + "\r\n"));
        }

        private ByteBuf ascii(String text) {
            return io.netty.buffer.Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
        }
    }
}

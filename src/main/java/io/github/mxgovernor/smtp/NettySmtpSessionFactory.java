package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsTrust;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.FastThreadLocalThread;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Opens non-blocking {@link SmtpSession}s on Netty (the Netty James ships). Close the factory to stop its I/O
 * threads; every session it opened is then closed at once.
 *
 * <h2>Threads</h2>
 * A fixed number of I/O threads ({@code mx-governor-smtp-io-N}, daemons) carry every session of the factory, however
 * many are open: a session holds no thread while it waits for the network. Reading the content
 * ({@link MessageContent#writeTo}, which may block on the message store), scanning it and converting it to 7 bits
 * run on the content executor the caller gives, never on an I/O thread. A message held whole (see
 * {@link #CONTENT_BUFFER_BYTES}) holds no thread while it goes out, and its bytes are dropped once copied to the
 * connection; a larger one streams from a content thread,
 * which waits while the server takes what was sent (at most {@code dataTimeout} without progress, and
 * {@code transactionTimeout} in all). A session holds no content buffer between transactions: thousands may wait
 * idle. The futures of sessions complete on I/O threads: callers must not block in
 * stages they chain on them (use the {@code *Async} variants with an executor of their own for slow work).
 *
 * <h2>Opening</h2>
 * Connects within {@code connectTimeout} (from {@code bindAddress} when one is set), reads the greeting
 * (anything but 220 is {@link Kind#REFUSED_BY_SERVER} at {@link Stage#GREETING}; the connection closing or
 * resetting before the greeting is {@link Kind#CONNECTION_REFUSED}), says EHLO and falls back to HELO when EHLO
 * gets a 5xx (both refused, or EHLO refused with a 4xx, is {@code REFUSED_BY_SERVER} at {@link Stage#EHLO}).
 * When the server refused in good order (not 421), the session says QUIT before closing. All of it, STARTTLS with
 * its handshake and the EHLO after it included, must end within {@link SessionSettings#openTimeout()}, or the
 * opening fails with a {@link Kind#TIMEOUT} at the stage it had reached. SMTP AUTH is not part of opening:
 * {@link SmtpSession#authenticate} (PLAIN, else LOGIN; never over plaintext) is the caller's step.
 *
 * <h2>TLS</h2>
 * <ul>
 *   <li>{@link TlsMode#DISABLED}: never STARTTLS.</li>
 *   <li>{@link TlsMode#OPPORTUNISTIC}: STARTTLS when offered, certificate not checked; when not offered or
 *       refused (for example 454) the session goes on in plaintext, but a failed handshake is
 *       {@link Kind#TLS_FAILURE} (the caller decides whether to retry in plaintext).</li>
 *   <li>{@link TlsMode#REQUIRED}: STARTTLS must be offered, accepted and negotiated, certificate not checked;
 *       otherwise {@code TLS_FAILURE} at {@link Stage#STARTTLS} and no mail is sent.</li>
 *   <li>{@link TlsMode#VERIFY}: as REQUIRED, and the chain must validate (PKIX) and name the MX host
 *       ({@link SmtpEndpoint#hostName()}, HTTPS rules, also sent as SNI).</li>
 * </ul>
 * In OPPORTUNISTIC and REQUIRED the certificate is checked as VERIFY would check it, but only to record what was
 * found ({@link TlsInfo#certificateCheck()}), also for resumed TLS sessions: the session goes on whatever the
 * result. A TLS failure says what failed in {@link SmtpSessionException#tlsProblem()}: STARTTLS not offered or
 * refused, the handshake, or (in VERIFY) an expired certificate, an untrusted chain or another host's name. After
 * the handshake the session says EHLO again and replaces the extensions with the new answer. Bytes the server sends
 * after its 220 to STARTTLS and before the handshake are a {@link Kind#PROTOCOL_ERROR}.
 *
 * <h2>Transactions</h2>
 * <ul>
 *   <li>Before a transaction, the session says RSET when an earlier MAIL FROM left state at the server (every
 *       transaction does, except one whose content was not sent and that the session reset already). A refused
 *       RSET is {@code REFUSED_BY_SERVER} at {@link Stage#RSET}.</li>
 *   <li>With PIPELINING (RFC 2920), RSET, MAIL FROM, every RCPT TO and DATA go out in one write and their replies
 *       are read in order. Without partial delivery and with more than one recipient, DATA is held back until the
 *       RCPT replies are known. Without PIPELINING, one command at a time.</li>
 *   <li>With PIPELINING and CHUNKING (RFC 3030), BDAT replaces DATA and rides in the same write: RSET, MAIL FROM,
 *       RCPT TO and {@code BDAT n LAST} with the content, so a reused connection carries a one-recipient mail in
 *       one round trip (DATA takes two). A mail larger than {@link #CONTENT_BUFFER_BYTES} goes in chunks of that
 *       size, all pipelined. The reply to the content is the first refused chunk's, else the last chunk's.
 *       CHUNKING without PIPELINING is not used: alone it saves nothing worth a second code path.</li>
 *   <li>The content is sent only when MAIL FROM and at least one RCPT TO were accepted, and with partial delivery
 *       off only when every RCPT TO was. When the content will not be sent and DATA was not already pipelined, the
 *       session says RSET at once. When DATA was pipelined and got 354 anyway, the session sends only the
 *       terminating dot and ignores the answer.</li>
 *   <li>Duplicate recipients are sent once. Addresses with control characters fail the transaction with an
 *       {@link IllegalArgumentException} before anything is read or sent.</li>
 *   <li>Before anything is sent, the content is written once into the session's buffer, line endings made CRLF
 *       and a last line closed: that tells its size and whether it has 8-bit bytes, and a mail of up to
 *       {@link #CONTENT_BUFFER_BYTES} is then sent from the buffer, so it is read once. A larger one is only
 *       counted, and read a second time while it is sent, in bounded memory. DATA doubles leading dots on the
 *       way out.</li>
 *   <li>{@code MAIL FROM} carries {@code BODY=8BITMIME} when the content has a byte above 0x7F and the server
 *       offers 8BITMIME, {@code SIZE=n} when the server offers SIZE, {@code SMTPUTF8} when an address is not ASCII,
 *       and {@code RET} and {@code ENVID} (xtext) when the server offers DSN (RFC 3461) and the transaction has
 *       them; {@code RCPT TO} then carries that recipient's {@code NOTIFY} and {@code ORCPT=rfc822;...}.</li>
 *   <li>A transaction the server declared it cannot take is not sent: it returns
 *       {@link TransactionResult#refusedLocally} with a {@link LocalRefusal} and the session stays as it was (not
 *       counted in {@link SmtpSession#transactionCount()}): a message larger than the SIZE the server announced;
 *       8-bit content for a server without 8BITMIME, unless {@link MessageContent#sevenBitForm()} gives a 7-bit
 *       form (which is then sent instead); a non-ASCII address for a server without SMTPUTF8; a REQUIRETLS
 *       transaction (RFC 8689) on a session without TLS or to a server that does not offer REQUIRETLS (otherwise
 *       {@code MAIL FROM} carries {@code REQUIRETLS}).</li>
 * </ul>
 * What a transaction returns is as {@link TransactionResult} says: the reply to MAIL FROM; each recipient's reply
 * in the order sent (with pipelining, the server's actual replies even after a refused MAIL FROM, typically 503);
 * the reply after the content, or the refusal of DATA itself when the content would have been sent, or nothing
 * when it was not to be sent.
 *
 * <h2>Deadlines and failures</h2>
 * Every deadline runs on the I/O threads' scheduler, which reads a monotonic clock. A 421 to any command, the
 * connection closing, a reply not within {@code commandTimeout} (or {@code dataTimeout} after the content), a
 * transaction not done within {@code transactionTimeout}, or bytes that are not a well-formed reply fail with an
 * {@link SmtpSessionException} at the stage of the command that was waiting; the session is then closed and not
 * reusable. {@link Stage#CONTENT} means the content was being sent or its final reply awaited, so the mail's fate
 * is unknown. A reply of the wrong class (3xx to MAIL FROM, RCPT TO or the end of data, anything but 354, 4xx and
 * 5xx to DATA) is a {@link Kind#PROTOCOL_ERROR}, and so is a reply to no command. Bytes waiting to go out of which
 * the server takes none for {@code dataTimeout} (a peer that stopped reading) close the connection: a
 * {@link Kind#TIMEOUT}. When {@link MessageContent#writeTo} itself fails while the content is being sent, the
 * connection is closed without the terminating dot or last chunk (so the server drops the partial message) and the
 * transaction fails with an {@link java.io.UncheckedIOException}; when it fails before anything was sent (while
 * sizing), the session is left as it was. {@link SmtpSession#close()} says QUIT and waits for the reply at most
 * {@link #QUIT_WAIT} (or {@code commandTimeout}, when shorter); {@link SmtpSession#abort()} closes the socket before
 * it returns.
 *
 * <h2>Replies</h2>
 * Replies are bounded as {@link ReplyDecoder} says: a line over 2,048 octets, more than 100 lines or more than
 * 16 KiB in one reply is a {@link Kind#PROTOCOL_ERROR}; a reply keeps at most 512 characters of each line and 4,096
 * in all.
 *
 * <h2>Servers that lie</h2>
 * The factory remembers, for an hour, servers (address and port) that broke an extension they announced: a
 * pipelined burst answered in part and then silence until {@code commandTimeout} (PIPELINING), and a BDAT answered
 * 500, 502 or 504 or not answered within {@code dataTimeout} (CHUNKING). The failing session ends with a
 * {@link Kind#TIMEOUT} or {@link Kind#PROTOCOL_ERROR} (the mail is deferred, never lost); later sessions to that
 * server do without the extension.
 */
public final class NettySmtpSessionFactory implements SmtpSessionFactory, AutoCloseable {
    /** The most content bytes a session holds in memory: a larger mail is read twice (see above). */
    public static final int CONTENT_BUFFER_BYTES = 1024 * 1024;
    /** The longest a session waits for the reply to QUIT before closing the connection anyway. */
    public static final Duration QUIT_WAIT = Duration.ofSeconds(5);
    private static final long SHUTDOWN_WAIT_SECONDS = 10;

    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final Executor contentExecutor;
    private final TlsContexts tls;
    private final PeerQuirks quirks;
    private final int contentBufferBytes;

    /**
     * Verifies certificates (in {@link TlsMode#VERIFY}) against the JDK's default trust store, with
     * {@link #defaultIoThreads()} I/O threads.
     *
     * @param contentExecutor where message content is read, scanned and converted (a bounded pool of the caller's)
     */
    public NettySmtpSessionFactory(Executor contentExecutor) {
        this(TlsTrust.jdkDefault().trustManager(), contentExecutor, defaultIoThreads());
    }

    /**
     * Verifies certificates (in {@link TlsMode#VERIFY}) with {@code trust}: the leaf's dates, the PKIX chain, then the
     * host name, so that a refusal's {@link SmtpSessionException#tlsProblem()} says which failed. Sessions that do
     * not verify make the same checks without enforcing them, and {@link TlsInfo#certificateCheck()} tells what they
     * found.
     *
     * @param contentExecutor where message content is read, scanned and converted (a bounded pool of the caller's)
     * @param ioThreads how many threads carry every session's network I/O
     */
    public NettySmtpSessionFactory(X509ExtendedTrustManager trust, Executor contentExecutor, int ioThreads) {
        this(TlsContexts.verifyingWith(Objects.requireNonNull(trust, "trust")), contentExecutor, ioThreads,
            Clock.systemUTC(), CONTENT_BUFFER_BYTES);
    }

    /**
     * Verifies certificates (in {@link TlsMode#VERIFY}) with {@code verifyingContext}; what a refusal says failed is
     * then read from the JDK's exceptions. Sessions that do not verify do not check certificates either
     * ({@link TlsInfo#certificateCheck()} says so).
     */
    public NettySmtpSessionFactory(SSLContext verifyingContext, Executor contentExecutor, int ioThreads) {
        this(TlsContexts.verifyingWith(verifyingContext), contentExecutor, ioThreads, Clock.systemUTC(),
            CONTENT_BUFFER_BYTES);
    }

    /** For tests: the clock that ages what is remembered of servers, and a smaller content buffer. */
    NettySmtpSessionFactory(TlsContexts tls, Executor contentExecutor, int ioThreads, Clock clock,
                            int contentBufferBytes) {
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be at least 1, was " + ioThreads);
        }
        if (contentBufferBytes < 1) {
            throw new IllegalArgumentException("contentBufferBytes must be positive, was " + contentBufferBytes);
        }
        this.tls = tls;
        this.contentExecutor = Objects.requireNonNull(contentExecutor, "contentExecutor");
        this.quirks = new PeerQuirks(Objects.requireNonNull(clock, "clock"));
        this.contentBufferBytes = contentBufferBytes;
        this.group = new NioEventLoopGroup(ioThreads, ioThreadFactory());
        this.bootstrap = new Bootstrap()
            .group(group)
            .channelFactory((io.netty.channel.ChannelFactory<AbortableSocketChannel>) AbortableSocketChannel::new)
            .option(ChannelOption.TCP_NODELAY, true)
            // replies are small: reads of 64 bytes to 16 KiB, sized by what arrives
            .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 1024, 16 * 1024));
    }

    /** The I/O threads a factory has unless told otherwise: one per available processor. */
    public static int defaultIoThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    private static ThreadFactory ioThreadFactory() {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread thread = new FastThreadLocalThread(task, "mx-governor-smtp-io-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    @Override
    public CompletableFuture<SmtpSession> open(SmtpEndpoint endpoint, SessionSettings settings) {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(settings, "settings");
        if (group.isShuttingDown()) {
            return CompletableFuture.failedFuture(new IllegalStateException("the SMTP client is closed"));
        }
        Duration quitWait = settings.commandTimeout().compareTo(QUIT_WAIT) < 0 ? settings.commandTimeout() : QUIT_WAIT;
        SmtpConnection connection = new SmtpConnection(endpoint, settings.dataTimeout(), quitWait);
        Bootstrap connecting = bootstrap.clone()
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, SmtpConnection.millis(settings.connectTimeout())))
            .handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel channel) {
                    channel.pipeline().addLast("replies", new ReplyDecoder()).addLast("smtp", connection);
                }
            });
        InetSocketAddress remote = new InetSocketAddress(endpoint.address(), endpoint.port());
        ChannelFuture connected = settings.bindAddress().isPresent()
            ? connecting.connect(remote, new InetSocketAddress(settings.bindAddress().get(), 0))
            : connecting.connect(remote);
        return new SessionOpening(connection, settings, tls, quirks, contentExecutor, contentBufferBytes)
            .start(connected);
    }

    /**
     * Stops the I/O threads, closing every session of this factory at once, and waits (a few seconds at most) for
     * them to end, so that nothing goes out after this returns.
     */
    @Override
    public void close() {
        group.shutdownGracefully(0, SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)
            .awaitUninterruptibly(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
    }
}

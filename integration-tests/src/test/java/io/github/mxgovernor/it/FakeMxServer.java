package io.github.mxgovernor.it;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLSocket;

/**
 * A fake SMTP server (an MX for tests and load runs) on a loopback address, one thread per connection.
 *
 * <p>It speaks enough ESMTP for a delivery client: greeting, EHLO (PIPELINING advertised or not), HELO, MAIL, RCPT,
 * DATA with dot-unstuffing, RSET, NOOP, QUIT, and BDAT (RFC 3030) when {@linkplain Builder#chunking(boolean) CHUNKING}
 * is offered. Pipelined commands are answered in order from the input buffer, and the replies of one burst are written
 * together; a BDAT chunk still arriving is part of the burst that announced it. The {@linkplain #latency(Duration) latency} is applied once per burst
 * (and once before the greeting), which is what a network round trip costs a client.
 *
 * <p>With a {@linkplain Builder#tls(SSLContext) TLS context}, EHLO offers STARTTLS (until TLS is on) and STARTTLS
 * upgrades the connection with that context's certificate; without one, STARTTLS is not offered and refused. With
 * {@linkplain Builder#auth(boolean) AUTH}, EHLO offers {@code AUTH PLAIN} and any AUTH command is accepted and kept
 * ({@link #authCommands()}).
 *
 * <p>{@link MxBehaviour} makes it misbehave: hang, drop, babble, greet or answer EHLO without end, drip its TLS
 * handshake, or leave QUIT unanswered.
 *
 * <p>Counters are exact: a connection counts as open from its accept until the server notices the client's close,
 * drops the socket, or decides to close it (QUIT, a 421 reply), which it does before sending that last reply.
 * Latency, reply policy and behaviour may be changed while clients are connected.
 */
public final class FakeMxServer implements AutoCloseable {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] GARBAGE = "HTTP/1.1 400 Bad Request\r\n\u0000\u00ff\u00fe garbage \u0007\r\n"
        .getBytes(StandardCharsets.ISO_8859_1);
    private static final int MAX_LINE_BUFFER = 64 * 1024 * 1024;
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /** The pace of an endless greeting and of a dripped TLS handshake. */
    private static final Duration DRIP_INTERVAL = Duration.ofMillis(100);
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*");

    private final InetAddress address;
    private final String hostName;
    private final boolean retainContent;
    private final ServerSocket serverSocket;
    private final ExecutorService connectionThreads;
    private final Thread acceptor;
    private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
    private final ConnectionGauge gauge;
    private final SSLContext tlsContext;
    private final boolean auth;

    private volatile Duration latency;
    private volatile ReplyPolicy replyPolicy;
    private volatile MxBehaviour behaviour;
    private volatile boolean pipelining;
    private volatile boolean chunking;
    private volatile boolean closed;

    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger peakConnections = new AtomicInteger();
    private final AtomicInteger totalConnections = new AtomicInteger();
    private final AtomicInteger connectionNumbers = new AtomicInteger();
    private final AtomicInteger acceptedMessages = new AtomicInteger();
    private final AtomicInteger tlsHandshakes = new AtomicInteger();
    private final AtomicInteger messagesOverTls = new AtomicInteger();
    private final AtomicLong replyBursts = new AtomicLong();
    private final AtomicInteger openAfterQuit = new AtomicInteger();
    private final Queue<String> authCommands = new ConcurrentLinkedQueue<>();
    private final Queue<ReceivedMessage> messages = new ConcurrentLinkedQueue<>();
    private final Queue<Integer> messagesPerClosedConnection = new ConcurrentLinkedQueue<>();
    private final Map<String, LongAdder> commandCounts = new ConcurrentHashMap<>();

    private FakeMxServer(Builder builder) throws IOException {
        this.address = builder.address;
        this.hostName = builder.hostName != null ? builder.hostName : "mx-" + address.getHostAddress();
        this.retainContent = builder.retainContent;
        this.latency = builder.latency;
        this.replyPolicy = builder.replyPolicy;
        this.behaviour = builder.behaviour;
        this.gauge = builder.gauge;
        this.tlsContext = builder.tlsContext;
        this.auth = builder.auth;
        this.pipelining = builder.pipelining;
        this.chunking = builder.chunking;
        this.serverSocket = new ServerSocket();
        try {
            serverSocket.setReuseAddress(true);
            serverSocket.bind(new InetSocketAddress(address, builder.port), builder.backlog);
        } catch (IOException e) {
            closeQuietly(serverSocket);
            throw e;
        }
        String name = "fake-mx-" + address.getHostAddress() + ":" + serverSocket.getLocalPort();
        AtomicInteger threadNumbers = new AtomicInteger();
        this.connectionThreads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, name + "-conn-" + threadNumbers.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.acceptor = new Thread(this::acceptLoop, name + "-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * A server on {@code address} (a literal 127.x.y.z or ::1), to be configured and
     * {@linkplain Builder#start() started}.
     */
    public static Builder builder(String address) {
        return new Builder(address);
    }

    /** Starts a server with the defaults on an ephemeral port of {@code address}. */
    public static FakeMxServer start(String address) {
        return builder(address).start();
    }

    /** Configures a {@link FakeMxServer}. */
    public static final class Builder {
        private final InetAddress address;
        private int port;
        private int backlog = 512;
        private String hostName;
        private boolean pipelining = true;
        private boolean chunking;
        private boolean retainContent = true;
        private Duration latency = Duration.ZERO;
        private ReplyPolicy replyPolicy;
        private MxBehaviour behaviour = MxBehaviour.NORMAL;
        private ConnectionGauge gauge = new ConnectionGauge();
        private SSLContext tlsContext;
        private boolean auth;

        private Builder(String address) {
            Objects.requireNonNull(address, "address");
            if (!IP_LITERAL.matcher(address).matches()) {
                throw new IllegalArgumentException("address must be a literal loopback address, got '" + address + "'");
            }
            try {
                this.address = InetAddress.getByName(address);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(
                    "address must be a literal loopback address, got '" + address + "'", e);
            }
            if (!this.address.isLoopbackAddress()) {
                throw new IllegalArgumentException("address must be a literal loopback address, got '" + address + "'");
            }
        }

        /** The port to bind; 0 (the default) for an ephemeral one. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        public Builder backlog(int backlog) {
            if (backlog < 1) {
                throw new IllegalArgumentException("backlog must be positive, got " + backlog);
            }
            this.backlog = backlog;
            return this;
        }

        /** The name in the greeting and EHLO reply; defaults to {@code mx-<address>}. */
        public Builder hostName(String hostName) {
            this.hostName = Objects.requireNonNull(hostName, "hostName");
            return this;
        }

        /** Whether EHLO advertises PIPELINING (default true). */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = pipelining;
            return this;
        }

        /** Whether EHLO advertises CHUNKING and BDAT is accepted (default false, as most test servers). */
        public Builder chunking(boolean chunking) {
            this.chunking = chunking;
            return this;
        }

        /** Whether accepted messages keep their content (default true); load runs turn it off to save memory. */
        public Builder retainContent(boolean retainContent) {
            this.retainContent = retainContent;
            return this;
        }

        public Builder latency(Duration latency) {
            this.latency = checkLatency(latency);
            return this;
        }

        public Builder replyPolicy(ReplyPolicy replyPolicy) {
            this.replyPolicy = replyPolicy;
            return this;
        }

        public Builder behaviour(MxBehaviour behaviour) {
            this.behaviour = Objects.requireNonNull(behaviour, "behaviour");
            return this;
        }

        /** Offers STARTTLS and completes handshakes with this server context's certificate. */
        public Builder tls(SSLContext serverContext) {
            this.tlsContext = Objects.requireNonNull(serverContext, "serverContext");
            return this;
        }

        /** Whether EHLO offers {@code AUTH PLAIN}; AUTH is then accepted whatever it carries (default false). */
        public Builder auth(boolean auth) {
            this.auth = auth;
            return this;
        }

        /** Also counts this server's connections on a gauge shared with other servers. */
        public Builder gauge(ConnectionGauge gauge) {
            this.gauge = Objects.requireNonNull(gauge, "gauge");
            return this;
        }

        /** Binds and starts accepting. */
        public FakeMxServer start() {
            try {
                return new FakeMxServer(this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind " + address.getHostAddress() + ":" + port, e);
            }
        }
    }

    private static Duration checkLatency(Duration latency) {
        Objects.requireNonNull(latency, "latency");
        if (latency.isNegative()) {
            throw new IllegalArgumentException("latency must not be negative, got " + latency);
        }
        return latency;
    }

    public InetAddress address() {
        return address;
    }

    /** The bound port (the ephemeral one when the builder asked for 0). */
    public int port() {
        return serverSocket.getLocalPort();
    }

    public String hostName() {
        return hostName;
    }

    /** Delay applied once before each burst of replies (and before the greeting). */
    public void latency(Duration latency) {
        this.latency = checkLatency(latency);
    }

    /** Replaces some replies; {@code null} to answer everything normally. */
    public void replyPolicy(ReplyPolicy replyPolicy) {
        this.replyPolicy = replyPolicy;
    }

    public void behaviour(MxBehaviour behaviour) {
        this.behaviour = Objects.requireNonNull(behaviour, "behaviour");
    }

    /** Whether later EHLO replies advertise PIPELINING. */
    public void pipelining(boolean pipelining) {
        this.pipelining = pipelining;
    }

    /** Whether later EHLO replies advertise CHUNKING and BDAT is accepted. */
    public void chunking(boolean chunking) {
        this.chunking = chunking;
    }

    public int openConnections() {
        return openConnections.get();
    }

    /** The most connections open at once since start or the last {@link #resetStatistics()}. */
    public int peakConnections() {
        return peakConnections.get();
    }

    public int totalConnections() {
        return totalConnections.get();
    }

    public int messageCount() {
        return acceptedMessages.get();
    }

    /** TLS handshakes completed after STARTTLS. */
    public int tlsHandshakes() {
        return tlsHandshakes.get();
    }

    /** Accepted messages that came over TLS. */
    public int messagesOverTls() {
        return messagesOverTls.get();
    }

    /** Bursts of replies written (the greeting counts as one): the round trips clients had to wait for. */
    public long replyBursts() {
        return replyBursts.get();
    }

    /** How often a command verb (EHLO, MAIL, RCPT, DATA, RSET, ...; upper case) was received. */
    public long commandCount(String verb) {
        LongAdder count = commandCounts.get(verb.toUpperCase(Locale.ROOT));
        return count == null ? 0 : count.sum();
    }

    /** Connections open now whose QUIT went unanswered ({@link MxBehaviour#SILENT_QUIT}). */
    public int openAfterQuit() {
        return openAfterQuit.get();
    }

    /** The AUTH command lines received, credentials included, in arrival order. */
    public List<String> authCommands() {
        return new ArrayList<>(authCommands);
    }

    /** Accepted messages in the order they were accepted. */
    public List<ReceivedMessage> messages() {
        return new ArrayList<>(messages);
    }

    /** The Message-ID of every accepted message that has one, in acceptance order (duplicates kept). */
    public List<String> messageIds() {
        return messages.stream()
            .map(ReceivedMessage::messageId)
            .flatMap(Optional::stream)
            .collect(Collectors.toList());
    }

    /** For each connection closed so far, in closing order: how many messages it carried. */
    public List<Integer> messagesPerClosedConnection() {
        return new ArrayList<>(messagesPerClosedConnection);
    }

    /**
     * Forgets accepted messages and zeroes the counters; the peak restarts from the connections open now. Counts are
     * only meaningful if this is called while no client is mid-transaction.
     */
    public void resetStatistics() {
        messages.clear();
        messagesPerClosedConnection.clear();
        commandCounts.clear();
        acceptedMessages.set(0);
        totalConnections.set(0);
        replyBursts.set(0);
        peakConnections.set(openConnections.get());
    }

    /** Stops accepting, closes every connection and waits for their threads to end. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(serverSocket);
        openSockets.forEach(FakeMxServer::closeQuietly);
        connectionThreads.shutdownNow();
        try {
            acceptor.join(CLOSE_TIMEOUT.toMillis());
            if (!connectionThreads.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(
                    "connection threads of " + this + " did not end within " + CLOSE_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "FakeMxServer{" + address.getHostAddress() + ":" + port() + ", open=" + openConnections()
            + ", peak=" + peakConnections() + ", total=" + totalConnections() + ", messages=" + messageCount() + '}';
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = serverSocket.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            int number = connectionNumbers.incrementAndGet();
            totalConnections.incrementAndGet();
            peakConnections.accumulateAndGet(openConnections.incrementAndGet(), Math::max);
            gauge.opened();
            openSockets.add(socket);
            if (closed) {
                // close() may have walked the open sockets before this one was added
                endConnection(socket, 0);
                return;
            }
            try {
                connectionThreads.execute(new Connection(socket, number));
            } catch (RuntimeException e) {
                // rejected because close() shut the pool down between accept and execute
                endConnection(socket, 0);
            }
        }
    }

    private void endConnection(Socket socket, int messagesAccepted) {
        closeQuietly(socket);
        release(socket, messagesAccepted);
    }

    /** Stops counting the connection as open; only the first call per socket counts. */
    private void release(Socket socket, int messagesAccepted) {
        if (openSockets.remove(socket)) {
            messagesPerClosedConnection.add(messagesAccepted);
            openConnections.decrementAndGet();
            gauge.closed();
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // closing is best effort: the peer may already be gone
        }
    }

    private static String extractMessageId(byte[] content) {
        String headers = headerSection(content);
        String unfolded = headers.replaceAll("\r?\n[ \t]+", " ");
        for (String line : unfolded.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("Message-ID")) {
                String value = line.substring(colon + 1).trim();
                return value.isEmpty() ? null : value;
            }
        }
        return null;
    }

    private static String headerSection(byte[] content) {
        for (int i = 0; i < content.length; i++) {
            boolean emptyLine = content[i] == '\n'
                && (i + 1 < content.length && content[i + 1] == '\n'
                    || i + 2 < content.length && content[i + 1] == '\r' && content[i + 2] == '\n');
            if (emptyLine) {
                return new String(content, 0, i, StandardCharsets.ISO_8859_1);
            }
        }
        return new String(content, StandardCharsets.ISO_8859_1);
    }

    private enum BurstEnd { NEED_INPUT, MID_CHUNK, CLOSE_AFTER_REPLIES, ABORTED, START_TLS, ENDLESS_REPLY }

    private final class Connection implements Runnable {
        private final Socket socket;
        private final int number;
        private final ByteArrayOutputStream replies = new ByteArrayOutputStream();
        private byte[] buffer = new byte[16 * 1024];
        private int start;
        private int end;
        private InputStream in;
        private OutputStream out;
        private boolean greeted;
        private String sender;
        private final List<String> recipients = new ArrayList<>();
        private ByteArrayOutputStream content;
        /** The chunks of the current BDAT transaction so far; null outside one. */
        private ByteArrayOutputStream chunks;
        /** Bytes of the announced BDAT chunk still to arrive; the chunk's reply is due when it reaches zero. */
        private long chunkRemaining;
        private boolean chunkIsLast;
        private boolean chunkRefused;
        private int chunkSize;
        private String chunkLine;
        private int accepted;
        private boolean closeAfterReplies;
        private boolean startTlsAfterReplies;
        private boolean endlessReplyAfterReplies;
        private boolean quitUnanswered;
        private boolean tls;

        Connection(Socket socket, int number) {
            this.socket = socket;
            this.number = number;
        }

        @Override
        public void run() {
            try {
                socket.setTcpNoDelay(true);
                in = socket.getInputStream();
                out = new BufferedOutputStream(socket.getOutputStream());
                if (behaviour == MxBehaviour.ENDLESS_GREETING) {
                    writeForever("220-" + hostName + " still greeting", DRIP_INTERVAL);
                    return;
                }
                answer(SmtpStage.GREETING, "", null, "220 " + hostName + " ESMTP fake MX");
                if (closeAfterReplies) {
                    flushLastReplies();
                } else {
                    converse();
                }
            } catch (IOException e) {
                // the client went away, or close() closed the socket
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (quitUnanswered) {
                    openAfterQuit.decrementAndGet();
                }
                endConnection(socket, accepted);
            }
        }

        /** Writes {@code line} again and again, {@code interval} apart (none for as fast as the client reads). */
        private void writeForever(String line, Duration interval) throws IOException, InterruptedException {
            byte[] bytes = (line + "\r\n").getBytes(StandardCharsets.US_ASCII);
            while (!closed) {
                out.write(bytes);
                out.flush();
                if (!interval.isZero()) {
                    TimeUnit.NANOSECONDS.sleep(interval.toNanos());
                }
            }
        }

        /**
         * Reads the client's hello and sends this server's side of the TLS handshake one byte every
         * {@link #DRIP_INTERVAL}; should the client wait for all of it, waits for the client to go.
         */
        private void dripHandshake() throws IOException, InterruptedException {
            SSLEngine engine = tlsContext.createSSLEngine();
            engine.setUseClientMode(false);
            engine.beginHandshake();
            int packetSize = engine.getSession().getPacketBufferSize();
            ByteBuffer fromClient = ByteBuffer.allocate(packetSize);
            fromClient.put(buffer, start, end - start);
            start = 0;
            end = 0;
            ByteBuffer toClient = ByteBuffer.allocate(4 * packetSize);
            ByteBuffer application = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
            byte[] read = new byte[packetSize];
            while (true) {
                SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
                if (status == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
                        task.run();
                    }
                } else if (status == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    if (engine.wrap(ByteBuffer.allocate(0), toClient).getStatus()
                            == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                        ByteBuffer larger = ByteBuffer.allocate(2 * toClient.capacity());
                        toClient.flip();
                        toClient = larger.put(toClient);
                    }
                } else if (status == SSLEngineResult.HandshakeStatus.NEED_UNWRAP && toClient.position() == 0) {
                    fromClient.flip();
                    SSLEngineResult result = engine.unwrap(fromClient, application);
                    fromClient.compact();
                    if (result.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                        int count = in.read(read, 0, Math.min(read.length, fromClient.remaining()));
                        if (count < 0) {
                            return;
                        }
                        fromClient.put(read, 0, count);
                    }
                } else {
                    break;
                }
            }
            toClient.flip();
            while (toClient.hasRemaining() && !closed) {
                out.write(toClient.get());
                out.flush();
                TimeUnit.NANOSECONDS.sleep(DRIP_INTERVAL.toNanos());
            }
            while (in.read(read) >= 0) {
                // the whole flight went out (no client waits that long): wait for the client to go
            }
        }

        private void converse() throws IOException, InterruptedException {
            while (true) {
                BurstEnd burstEnd = processBufferedLines();
                if (burstEnd == BurstEnd.ABORTED) {
                    return;
                }
                if (burstEnd == BurstEnd.MID_CHUNK) {
                    // the client is still sending the chunk: nothing it waits for is due yet
                    if (!readMore()) {
                        return;
                    }
                    continue;
                }
                if (burstEnd == BurstEnd.NEED_INPUT && in.available() > 0) {
                    // the rest of the client's burst is already here: answer it together with what we have
                    if (!readMore()) {
                        return;
                    }
                    continue;
                }
                if (burstEnd == BurstEnd.CLOSE_AFTER_REPLIES) {
                    flushLastReplies();
                    return;
                }
                if (burstEnd == BurstEnd.START_TLS) {
                    flushReplies();
                    if (behaviour == MxBehaviour.DRIP_TLS_HANDSHAKE) {
                        dripHandshake();
                        return;
                    }
                    if (!startTls()) {
                        return;
                    }
                    continue;
                }
                if (burstEnd == BurstEnd.ENDLESS_REPLY) {
                    flushReplies();
                    writeForever("250-" + hostName + " has more to say", Duration.ZERO);
                    return;
                }
                flushReplies();
                if (!readMore()) {
                    return;
                }
            }
        }

        private BurstEnd processBufferedLines() throws IOException {
            while (true) {
                if (chunkRemaining > 0) {
                    if (start == end) {
                        return BurstEnd.MID_CHUNK;
                    }
                    if (behaviour == MxBehaviour.CLOSE_MID_DATA) {
                        socket.setSoLinger(true, 0);
                        socket.close();
                        return BurstEnd.ABORTED;
                    }
                    int length = (int) Math.min(chunkRemaining, end - start);
                    if (!chunkRefused) {
                        chunks.write(buffer, start, length);
                    }
                    start += length;
                    chunkRemaining -= length;
                    if (chunkRemaining > 0) {
                        return BurstEnd.MID_CHUNK;
                    }
                    endOfChunk();
                    if (closeAfterReplies) {
                        return BurstEnd.CLOSE_AFTER_REPLIES;
                    }
                    continue;
                }
                int lf = indexOfLf();
                if (lf < 0) {
                    return BurstEnd.NEED_INPUT;
                }
                int lineStart = start;
                int lineEnd = lf > lineStart && buffer[lf - 1] == '\r' ? lf - 1 : lf;
                start = lf + 1;
                if (content != null) {
                    if (behaviour == MxBehaviour.CLOSE_MID_DATA) {
                        socket.setSoLinger(true, 0);
                        socket.close();
                        return BurstEnd.ABORTED;
                    }
                    contentLine(lineStart, lineEnd);
                } else {
                    command(new String(buffer, lineStart, lineEnd - lineStart, StandardCharsets.UTF_8));
                }
                if (closeAfterReplies) {
                    return BurstEnd.CLOSE_AFTER_REPLIES;
                }
                if (startTlsAfterReplies) {
                    startTlsAfterReplies = false;
                    return BurstEnd.START_TLS;
                }
                if (endlessReplyAfterReplies) {
                    return BurstEnd.ENDLESS_REPLY;
                }
            }
        }

        /** Upgrades the connection after the 220 to STARTTLS; false when the handshake failed. */
        private boolean startTls() throws IOException {
            // anything the client sent after STARTTLS and before the handshake is discarded (RFC 3207)
            start = 0;
            end = 0;
            SSLSocket secured = (SSLSocket) tlsContext.getSocketFactory().createSocket(socket, null, socket.getPort(),
                false);
            secured.setUseClientMode(false);
            try {
                secured.startHandshake();
            } catch (IOException e) {
                return false;
            }
            tlsHandshakes.incrementAndGet();
            in = secured.getInputStream();
            out = new BufferedOutputStream(secured.getOutputStream());
            tls = true;
            greeted = false;
            resetTransaction();
            return true;
        }

        private int indexOfLf() {
            for (int i = start; i < end; i++) {
                if (buffer[i] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        private boolean readMore() throws IOException {
            if (start == end) {
                start = 0;
                end = 0;
            } else if (end == buffer.length) {
                if (start > 0) {
                    System.arraycopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                } else if (buffer.length < MAX_LINE_BUFFER) {
                    byte[] larger = new byte[buffer.length * 2];
                    System.arraycopy(buffer, 0, larger, 0, end);
                    buffer = larger;
                } else {
                    throw new IOException("line longer than " + MAX_LINE_BUFFER + " bytes");
                }
            }
            int read = in.read(buffer, end, buffer.length - end);
            if (read < 0) {
                return false;
            }
            end += read;
            return true;
        }

        private void contentLine(int lineStart, int lineEnd) {
            int length = lineEnd - lineStart;
            if (length == 1 && buffer[lineStart] == '.') {
                endOfData();
                return;
            }
            int from = length > 0 && buffer[lineStart] == '.' ? lineStart + 1 : lineStart;
            content.write(buffer, from, lineEnd - from);
            content.write(CRLF, 0, CRLF.length);
        }

        private void command(String line) {
            int space = line.indexOf(' ');
            String verb = (space < 0 ? line : line.substring(0, space)).toUpperCase(Locale.ROOT);
            String argument = space < 0 ? "" : line.substring(space + 1).trim();
            commandCounts.computeIfAbsent(verb, v -> new LongAdder()).increment();
            if ((verb.equals("EHLO") || verb.equals("HELO")) && behaviour == MxBehaviour.ENDLESS_EHLO_REPLY) {
                endlessReplyAfterReplies = true;
                return;
            }
            switch (verb) {
                case "EHLO":
                    resetTransaction();
                    if (answer(SmtpStage.EHLO, line, null, ehloReply(argument))) {
                        greeted = true;
                    }
                    break;
                case "HELO":
                    resetTransaction();
                    if (answer(SmtpStage.HELO, line, null, "250 " + hostName)) {
                        greeted = true;
                    }
                    break;
                case "MAIL":
                    mail(line, argument);
                    break;
                case "RCPT":
                    rcpt(line, argument);
                    break;
                case "DATA":
                    data(line);
                    break;
                case "BDAT":
                    bdat(line, argument);
                    break;
                case "RSET":
                    resetTransaction();
                    answer(SmtpStage.RSET, line, null, "250 2.0.0 Ok");
                    break;
                case "NOOP":
                    answer(SmtpStage.NOOP, line, null, "250 2.0.0 Ok");
                    break;
                case "STARTTLS":
                    if (tlsContext == null || tls) {
                        reply("502 5.5.1 STARTTLS not available");
                    } else {
                        reply("220 2.0.0 Ready to start TLS");
                        startTlsAfterReplies = true;
                    }
                    break;
                case "QUIT":
                    if (behaviour == MxBehaviour.SILENT_QUIT) {
                        if (!quitUnanswered) {
                            quitUnanswered = true;
                            openAfterQuit.incrementAndGet();
                        }
                        break;
                    }
                    answer(SmtpStage.QUIT, line, null, "221 2.0.0 Bye");
                    closeAfterReplies = true;
                    break;
                case "AUTH":
                    if (auth && greeted) {
                        authCommands.add(line);
                        reply("235 2.7.0 Authentication successful");
                    } else {
                        reply("502 5.5.1 AUTH not available");
                    }
                    break;
                default:
                    reply("500 5.5.2 Command unrecognized");
            }
        }

        private String ehloReply(String clientName) {
            StringBuilder reply = new StringBuilder("250-").append(hostName).append(" greets ").append(clientName);
            if (pipelining) {
                reply.append("\r\n250-PIPELINING");
            }
            if (chunking) {
                reply.append("\r\n250-CHUNKING");
            }
            if (tlsContext != null && !tls) {
                reply.append("\r\n250-STARTTLS");
            }
            if (auth) {
                reply.append("\r\n250-AUTH PLAIN");
            }
            return reply.append("\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES").toString();
        }

        private void mail(String line, String argument) {
            if (!greeted) {
                reply("503 5.5.1 Send EHLO or HELO first");
                return;
            }
            if (sender != null) {
                reply("503 5.5.1 Sender already given");
                return;
            }
            String address = pathOf(argument, "FROM:");
            if (address == null) {
                reply("501 5.5.4 Syntax: MAIL FROM:<address>");
                return;
            }
            if (answer(SmtpStage.MAIL, line, address, "250 2.1.0 Ok")) {
                sender = address;
            }
        }

        private void rcpt(String line, String argument) {
            if (sender == null) {
                reply("503 5.5.1 Need MAIL first");
                return;
            }
            String address = pathOf(argument, "TO:");
            if (address == null || address.isEmpty()) {
                reply("501 5.5.4 Syntax: RCPT TO:<address>");
                return;
            }
            if (answer(SmtpStage.RCPT, line, address, "250 2.1.5 Ok")) {
                recipients.add(address);
            }
        }

        private void data(String line) {
            if (sender == null) {
                reply("503 5.5.1 Need MAIL first");
                return;
            }
            if (recipients.isEmpty()) {
                reply("554 5.5.1 No valid recipients");
                return;
            }
            String reply = replyFor(SmtpStage.DATA, line, null, null, null,
                "354 End data with <CR><LF>.<CR><LF>");
            if (reply.startsWith("354")) {
                content = new ByteArrayOutputStream();
            }
        }

        /**
         * Reads a BDAT command; its chunk follows at once, and the reply (or the refusal of a bad transaction) is due
         * when the whole chunk has arrived. A chunk size that cannot be read leaves the stream unframed: the
         * connection is closed after a 501, as a real server has no other way out.
         */
        private void bdat(String line, String argument) {
            String[] words = argument.split(" +");
            boolean last = words.length == 2 && words[1].equalsIgnoreCase("LAST");
            long size;
            try {
                size = words.length == 1 || last ? Long.parseLong(words[0]) : -1;
            } catch (NumberFormatException e) {
                size = -1;
            }
            if (!chunking || size < 0 || size > Integer.MAX_VALUE) {
                reply(chunking ? "501 5.5.4 Syntax: BDAT size [LAST]" : "502 5.5.1 BDAT not available");
                closeAfterReplies = true;
                return;
            }
            chunkRefused = sender == null || recipients.isEmpty();
            if (!chunkRefused && chunks == null) {
                chunks = new ByteArrayOutputStream();
            }
            chunkRemaining = size;
            chunkSize = (int) size;
            chunkIsLast = last;
            chunkLine = line;
            if (size == 0) {
                endOfChunk();
            }
        }

        private void endOfChunk() {
            if (chunkRefused) {
                reply(sender == null ? "503 5.5.1 Need MAIL first" : "554 5.5.1 No valid recipients");
                chunks = null;
                return;
            }
            if (chunkIsLast) {
                byte[] received = chunks.toByteArray();
                chunks = null;
                accept(received);
            } else if (!replyFor(SmtpStage.BDAT, chunkLine, null, null, null,
                "250 2.0.0 " + chunkSize + " octets received").startsWith("2")) {
                chunks = null;
                resetTransaction();
            }
        }

        private void endOfData() {
            byte[] received = content.toByteArray();
            content = null;
            accept(received);
        }

        /** Answers the end of a message's content: the reply that accepts or refuses it. */
        private void accept(byte[] received) {
            String messageId = extractMessageId(received);
            String reply = replyFor(SmtpStage.END_OF_DATA, "", null, received, messageId,
                "250 2.0.0 Ok: queued as " + number + "." + (accepted + 1));
            if (reply.startsWith("2")) {
                messages.add(new ReceivedMessage(sender, recipients, retainContent ? received : null, received.length,
                    messageId, number, Instant.now()));
                accepted++;
                acceptedMessages.incrementAndGet();
                if (tls) {
                    messagesOverTls.incrementAndGet();
                }
            }
            resetTransaction();
        }

        private void resetTransaction() {
            sender = null;
            recipients.clear();
            chunks = null;
        }

        /** Sends the policy's reply or {@code normalReply}; true when the sent reply is positive. */
        private boolean answer(SmtpStage stage, String line, String address, String normalReply) {
            return replyFor(stage, line, address, null, null, normalReply).startsWith("2");
        }

        private String replyFor(SmtpStage stage, String line, String address, byte[] received, String messageId,
                                String normalReply) {
            ReplyPolicy policy = replyPolicy;
            String reply = null;
            if (policy != null) {
                reply = policy.replyTo(new ClientCommand(stage, line, number, accepted, sender, recipients, address,
                    received, messageId));
            }
            if (reply == null) {
                reply = normalReply;
            }
            reply(reply);
            if (reply.startsWith("421")) {
                closeAfterReplies = true;
            }
            return reply;
        }

        private void reply(String reply) {
            byte[] bytes = reply.getBytes(StandardCharsets.UTF_8);
            replies.write(bytes, 0, bytes.length);
            if (!reply.endsWith("\r\n")) {
                replies.write(CRLF, 0, CRLF.length);
            }
        }

        private void flushReplies() throws IOException, InterruptedException {
            flushReplies(false);
        }

        /**
         * Sends the replies before the server closes. The connection stops counting as open before they are written,
         * so a client that waits for them and reconnects at once is never counted twice.
         */
        private void flushLastReplies() throws IOException, InterruptedException {
            flushReplies(true);
        }

        private void flushReplies(boolean last) throws IOException, InterruptedException {
            MxBehaviour current = behaviour;
            if (replies.size() == 0 || current == MxBehaviour.HANG) {
                replies.reset();
                if (last) {
                    release(socket, accepted);
                }
                return;
            }
            long delay = latency.toNanos();
            if (delay > 0) {
                TimeUnit.NANOSECONDS.sleep(delay);
            }
            replyBursts.incrementAndGet();
            if (last) {
                release(socket, accepted);
            }
            if (current == MxBehaviour.GARBAGE) {
                out.write(GARBAGE);
            } else {
                replies.writeTo(out);
            }
            replies.reset();
            out.flush();
        }
    }

    /** The address inside {@code <...>} after {@code keyword} (case-insensitive), or null when malformed. */
    private static String pathOf(String argument, String keyword) {
        if (!argument.regionMatches(true, 0, keyword, 0, keyword.length())) {
            return null;
        }
        String rest = argument.substring(keyword.length()).trim();
        if (!rest.startsWith("<")) {
            return null;
        }
        int close = rest.indexOf('>');
        return close < 0 ? null : rest.substring(1, close);
    }
}

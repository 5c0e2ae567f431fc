package io.github.mxgovernor.smtp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A fake SMTP server on 127.0.0.1 that plays one {@link Script} per accepted connection, in order, and checks
 * the client's bytes exactly. A mismatch ends the connection and is reported by {@link #close()}, so a test that
 * closes the server in {@code @AfterEach} fails when the client did not behave as scripted.
 */
final class ScriptedSmtpServer implements AutoCloseable {
    private static final int READ_TIMEOUT_MILLIS = 2000;
    private static final int SPLIT_PAUSE_MILLIS = 20;

    /** What the server does and expects on one connection, step by step. */
    static final class Script {
        private final List<Step> steps = new ArrayList<>();

        static Script create() {
            return new Script();
        }

        /** Sends these reply lines, each ended by CRLF, in one write. */
        Script reply(String... lines) {
            byte[] bytes = ascii(String.join("\r\n", lines) + "\r\n");
            steps.add(connection -> connection.send(bytes));
            return this;
        }

        /** Sends raw bytes as given (no CRLF added): garbage, partial lines. */
        Script sendRaw(String raw) {
            byte[] bytes = ascii(raw);
            steps.add(connection -> connection.send(bytes));
            return this;
        }

        /** Sends each part in its own write, pausing briefly so the client reads them separately. */
        Script sendInParts(String... parts) {
            steps.add(connection -> {
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        Thread.sleep(SPLIT_PAUSE_MILLIS);
                    }
                    connection.send(ascii(parts[i]));
                }
            });
            return this;
        }

        /**
         * Expects exactly these command lines (CRLF each), and that the client sent nothing beyond them: a client
         * that does not wait for the reply fails here.
         */
        Script expect(String... lines) {
            return expectBytes(String.join("\r\n", lines) + "\r\n");
        }

        /** Expects exactly these bytes and nothing sent beyond them. */
        Script expectBytes(String raw) {
            byte[] expected = ascii(raw);
            steps.add(connection -> connection.expect(expected, false));
            return this;
        }

        /** Expects these command lines to arrive in one single read, as one pipelined write produces them. */
        Script expectBurst(String... lines) {
            byte[] expected = ascii(String.join("\r\n", lines) + "\r\n");
            steps.add(connection -> connection.expect(expected, true));
            return this;
        }

        /** Expects exactly these bytes in one single read, as one pipelined write produces them. */
        Script expectBurstBytes(String raw) {
            byte[] expected = ascii(raw);
            steps.add(connection -> connection.expect(expected, true));
            return this;
        }

        /** Neither reads nor writes until {@code released} opens: a server that stopped taking data. */
        Script stopReadingUntil(CountDownLatch released) {
            steps.add(connection -> {
                if (!released.await(3 * READ_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                    throw new AssertionError("the test never released the stalled server");
                }
            });
            return this;
        }

        /** Expects the client to close the connection without sending anything more. */
        Script expectClosed() {
            steps.add(Connection::expectClosed);
            return this;
        }

        /** Waits for the client to send something (at least one byte) and records it unchecked. */
        Script readSome() {
            steps.add(Connection::readSome);
            return this;
        }

        /** Reads and records whatever the client sends until it closes the connection. */
        Script discardUntilClosed() {
            steps.add(Connection::discardUntilClosed);
            return this;
        }

        /**
         * Takes what the client sends just fast enough never to stall it for long: at most {@code bytes} bytes, then
         * a pause of {@code pauseMillis}, until the client closes. Nothing is recorded.
         */
        Script drainSlowlyUntilClosed(int bytes, int pauseMillis) {
            steps.add(connection -> connection.drainSlowlyUntilClosed(bytes, pauseMillis));
            return this;
        }

        /** Reads whatever the client sends until what it sent ends with {@code end} (a DATA's final dot). */
        Script readUntil(String end) {
            byte[] expected = ascii(end);
            steps.add(connection -> connection.readUntil(expected));
            return this;
        }

        /** Opens {@code reached} when the script gets here, so a test knows what the client has done. */
        Script signal(CountDownLatch reached) {
            steps.add(connection -> reached.countDown());
            return this;
        }

        /**
         * A server at its slowest: sends {@code first}, then zeros, one byte every {@code intervalMillis}, until the
         * client closes the connection.
         */
        Script dripUntilClosed(byte[] first, int intervalMillis) {
            steps.add(connection -> connection.dripUntilClosed(first, intervalMillis));
            return this;
        }

        /** Sends {@code raw} again and again, as fast as the client takes it, until the client closes. */
        Script floodUntilClosed(String raw) {
            byte[] bytes = ascii(raw);
            steps.add(connection -> connection.floodUntilClosed(bytes));
            return this;
        }

        /** Closes the connection abruptly. */
        Script drop() {
            steps.add(Connection::drop);
            return this;
        }

        /** Answers a STARTTLS as a TLS server and goes on encrypted. */
        Script startTls() {
            steps.add(Connection::startTls);
            return this;
        }

        /** Attempts a TLS handshake the client is expected to abort, then waits for the connection to end. */
        Script tlsHandshakeRefusedByClient() {
            steps.add(Connection::tlsUntilClosed);
            return this;
        }
    }

    @FunctionalInterface
    private interface Step {
        void run(Connection connection) throws Exception;
    }

    private final ServerSocket serverSocket;
    private final SSLContext tlsContext;
    private final List<Script> scripts;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final Thread thread;

    private ScriptedSmtpServer(SSLContext tlsContext, List<Script> scripts) throws IOException {
        this.serverSocket = new ServerSocket();
        this.serverSocket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        this.tlsContext = tlsContext;
        this.scripts = scripts;
        this.thread = new Thread(this::serve, "scripted-smtp-server");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    static ScriptedSmtpServer start(Script... scripts) throws IOException {
        return new ScriptedSmtpServer(null, List.of(scripts));
    }

    static ScriptedSmtpServer startWithTls(SSLContext tlsContext, Script... scripts) throws IOException {
        return new ScriptedSmtpServer(tlsContext, List.of(scripts));
    }

    SmtpEndpoint endpoint() {
        return endpoint("mx.test");
    }

    SmtpEndpoint endpoint(String hostName) {
        return new SmtpEndpoint(hostName, serverSocket.getInetAddress(), serverSocket.getLocalPort());
    }

    /** Everything the client sent on the first connection, as ISO-8859-1 text. */
    String received() {
        return connections.get(0).received();
    }

    /** The SNI names the client asked for in its TLS handshake on the first connection. */
    List<SNIServerName> requestedServerNames() {
        return connections.get(0).requestedServerNames;
    }

    InetAddress clientAddress() {
        return connections.get(0).socket.getInetAddress();
    }

    /**
     * Round trips on the first connection so far: how many times the server answered after the client had
     * sent something (the greeting is not one). A client that pipelines a whole transaction costs one.
     */
    int roundTrips() {
        return connections.get(0).roundTrips.get();
    }

    /** Waits for every script to end and fails with what went wrong, if anything did. */
    @Override
    public void close() throws Exception {
        thread.join(3 * READ_TIMEOUT_MILLIS);
        boolean unfinished = thread.isAlive();
        serverSocket.close();
        for (Connection connection : connections) {
            connection.socket.close();
        }
        thread.join(READ_TIMEOUT_MILLIS);
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError("scripted server: " + failures.get(0).getMessage(),
                failures.get(0));
            failures.subList(1, failures.size()).forEach(error::addSuppressed);
            throw error;
        }
        if (unfinished) {
            throw new AssertionError("scripted server: the client did not play every script ("
                + connections.size() + " of " + scripts.size() + " connections)");
        }
    }

    private void serve() {
        for (int index = 0; index < scripts.size(); index++) {
            Connection connection;
            try {
                Socket socket = serverSocket.accept();
                socket.setTcpNoDelay(true);
                socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                connection = new Connection(socket, tlsContext);
                connections.add(connection);
            } catch (IOException e) {
                if (!serverSocket.isClosed()) {
                    failures.add(e);
                }
                return;
            }
            int stepIndex = 0;
            try {
                for (Step step : scripts.get(index).steps) {
                    step.run(connection);
                    stepIndex++;
                }
            } catch (Throwable e) {
                failures.add(new AssertionError("connection " + index + ", step " + stepIndex + ": "
                    + e.getMessage() + "\nreceived so far:\n" + connection.received(), e));
            } finally {
                connection.drop();
            }
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** One accepted connection and everything the client sent on it. */
    private static final class Connection {
        private final SSLContext tlsContext;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final byte[] readBuffer = new byte[64 * 1024];
        private final AtomicInteger roundTrips = new AtomicInteger();
        private volatile boolean readSinceSend;
        private volatile List<SNIServerName> requestedServerNames = List.of();
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Connection(Socket socket, SSLContext tlsContext) throws IOException {
            this.tlsContext = tlsContext;
            use(socket);
        }

        private void use(Socket connected) throws IOException {
            socket = connected;
            in = connected.getInputStream();
            out = connected.getOutputStream();
        }

        synchronized String received() {
            return new String(received.toByteArray(), StandardCharsets.ISO_8859_1);
        }

        void send(byte[] bytes) throws IOException {
            if (readSinceSend) {
                readSinceSend = false;
                roundTrips.incrementAndGet();
            }
            out.write(bytes);
            out.flush();
        }

        void expect(byte[] expected, boolean inOneRead) throws IOException {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int reads = 0;
            while (got.size() < expected.length) {
                int count = in.read(readBuffer, 0, expected.length - got.size());
                if (count < 0) {
                    throw new AssertionError("client closed the connection; expected " + show(expected)
                        + " got " + show(got.toByteArray()));
                }
                record(readBuffer, count);
                got.write(readBuffer, 0, count);
                reads++;
            }
            if (!Arrays.equals(got.toByteArray(), expected)) {
                throw new AssertionError("expected " + show(expected) + " got " + show(got.toByteArray()));
            }
            if (inOneRead && reads != 1) {
                throw new AssertionError("expected one burst but it took " + reads + " reads: " + show(expected));
            }
            if (in.available() > 0) {
                int count = in.read(readBuffer, 0, Math.min(in.available(), readBuffer.length));
                record(readBuffer, count);
                throw new AssertionError("client sent more than " + show(expected) + " before a reply: "
                    + show(Arrays.copyOf(readBuffer, count)));
            }
        }

        void expectClosed() throws IOException {
            int count;
            try {
                count = in.read(readBuffer);
            } catch (SocketException reset) {
                return;
            }
            if (count >= 0) {
                record(readBuffer, count);
                throw new AssertionError("expected the client to close, got " + show(Arrays.copyOf(readBuffer,
                    count)));
            }
        }

        void readSome() throws IOException {
            int count = in.read(readBuffer);
            if (count < 0) {
                throw new AssertionError("client closed the connection instead of sending");
            }
            record(readBuffer, count);
        }

        void discardUntilClosed() throws IOException {
            try {
                for (int count = in.read(readBuffer); count >= 0; count = in.read(readBuffer)) {
                    record(readBuffer, count);
                }
            } catch (SocketException reset) {
                // closed is closed
            }
        }

        void drainSlowlyUntilClosed(int bytes, int pauseMillis) throws IOException, InterruptedException {
            byte[] slice = new byte[bytes];
            try {
                while (in.read(slice) >= 0) {
                    Thread.sleep(pauseMillis);
                }
            } catch (SocketException reset) {
                // closed is closed
            }
        }

        void readUntil(byte[] end) throws IOException {
            byte[] tail = new byte[end.length];
            int seen = 0;
            while (seen < end.length || !Arrays.equals(tail, end)) {
                int count = in.read(readBuffer);
                if (count < 0) {
                    throw new AssertionError("client closed the connection before " + show(end));
                }
                record(readBuffer, count);
                for (int i = 0; i < count; i++) {
                    System.arraycopy(tail, 1, tail, 0, tail.length - 1);
                    tail[tail.length - 1] = readBuffer[i];
                    seen++;
                }
            }
        }

        void dripUntilClosed(byte[] first, int intervalMillis) throws InterruptedException {
            try {
                for (int i = 0; ; i++) {
                    out.write(i < first.length ? first[i] : 0);
                    out.flush();
                    Thread.sleep(intervalMillis);
                }
            } catch (IOException closed) {
                // the client gave up, as it should
            }
        }

        void floodUntilClosed(byte[] bytes) {
            try {
                while (true) {
                    out.write(bytes);
                    out.flush();
                }
            } catch (IOException closed) {
                // the client gave up, as it should
            }
        }

        void startTls() throws IOException {
            SSLSocket tlsSocket = upgrade();
            tlsSocket.startHandshake();
            requestedServerNames = ((ExtendedSSLSession) tlsSocket.getSession()).getRequestedServerNames();
            use(tlsSocket);
        }

        void tlsUntilClosed() throws IOException {
            SSLSocket tlsSocket = upgrade();
            try {
                tlsSocket.startHandshake();
                int count = tlsSocket.getInputStream().read(readBuffer);
                if (count >= 0) {
                    throw new AssertionError("client sent data over TLS it should have refused");
                }
            } catch (IOException expected) {
                // the client aborted the handshake, as it should
            }
        }

        private SSLSocket upgrade() throws IOException {
            if (tlsContext == null) {
                throw new AssertionError("the server was started without TLS");
            }
            SSLSocket tlsSocket = (SSLSocket) tlsContext.getSocketFactory()
                .createSocket(socket, socket.getInetAddress().getHostAddress(), socket.getPort(), true);
            tlsSocket.setUseClientMode(false);
            return tlsSocket;
        }

        void drop() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
        }

        private synchronized void record(byte[] bytes, int count) {
            readSinceSend = true;
            received.write(bytes, 0, count);
        }

        private static String show(byte[] bytes) {
            return "\"" + new String(bytes, StandardCharsets.ISO_8859_1).replace("\r", "\\r").replace("\n", "\\n")
                + "\"";
        }
    }
}

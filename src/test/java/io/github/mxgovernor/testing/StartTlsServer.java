package io.github.mxgovernor.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A loopback SMTP server for TLS tests: it offers STARTTLS or not, refuses it, breaks the handshake, or completes it
 * with a given certificate. It keeps every byte it read in plaintext, so a test can prove that no part of a mail
 * crossed the wire unencrypted, and the messages it accepted with whether TLS protected them.
 */
public final class StartTlsServer implements AutoCloseable {
    /** What the server does about STARTTLS. */
    public enum Behaviour {
        /** EHLO does not offer STARTTLS. */
        NO_STARTTLS,
        /** STARTTLS is offered and refused with 454. */
        REFUSE_STARTTLS,
        /** STARTTLS is accepted, then the server sends bytes that are not TLS and closes. */
        BREAK_HANDSHAKE,
        /** STARTTLS is accepted and the handshake completes with the server's certificate. */
        TLS
    }

    /** An accepted message and whether it came over TLS. */
    public static final class Message {
        public final String content;
        public final boolean overTls;

        Message(String content, boolean overTls) {
            this.content = content;
            this.overTls = overTls;
        }
    }

    private final ServerSocket serverSocket;
    private final ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "start-tls-server");
        thread.setDaemon(true);
        return thread;
    });
    private final Behaviour behaviour;
    private final SSLContext context;
    private final ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
    private final List<Message> messages = Collections.synchronizedList(new ArrayList<>());
    private final List<String> commands = Collections.synchronizedList(new ArrayList<>());
    private final List<String> serverNames = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger connections = new AtomicInteger();
    private final List<String> mailFromLines = Collections.synchronizedList(new ArrayList<>());
    private final List<String> authLines = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean requireTlsOffered = true;

    private StartTlsServer(Behaviour behaviour, SSLContext context) throws IOException {
        this.behaviour = behaviour;
        this.context = context;
        this.serverSocket = new ServerSocket();
        serverSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        threads.execute(this::accept);
    }

    /** A server with this behaviour; {@code certificate} is presented when it completes handshakes (may be null). */
    public static StartTlsServer start(Behaviour behaviour, TestPki.ServerCertificate certificate) throws IOException {
        SSLContext context = certificate == null ? null : certificate.serverContext();
        if (behaviour == Behaviour.TLS && context == null) {
            throw new IllegalArgumentException("a TLS server needs a certificate");
        }
        return new StartTlsServer(behaviour, context);
    }

    public InetAddress address() {
        return serverSocket.getInetAddress();
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    /** Every byte read before TLS began, on every connection, as ISO-8859-1 text. */
    public String plaintextReceived() {
        synchronized (plaintext) {
            return new String(plaintext.toByteArray(), StandardCharsets.ISO_8859_1);
        }
    }

    public List<Message> messages() {
        return List.copyOf(messages);
    }

    /** Command verbs received (EHLO, STARTTLS, MAIL, ...), in order, over all connections. */
    public List<String> commands() {
        return List.copyOf(commands);
    }

    /** The SNI host names clients asked for in TLS handshakes. */
    public List<String> serverNames() {
        return List.copyOf(serverNames);
    }

    public int connections() {
        return connections.get();
    }

    /** The MAIL FROM commands received, parameters included. */
    /** The AUTH commands received (it offers AUTH only over TLS, and accepts any credentials). */
    public List<String> authLines() {
        return List.copyOf(authLines);
    }

    public List<String> mailFromLines() {
        return List.copyOf(mailFromLines);
    }

    /** Whether EHLO after STARTTLS offers REQUIRETLS (RFC 8689); true unless a test turns it off. */
    public void requireTlsOffered(boolean offered) {
        this.requireTlsOffered = offered;
    }

    private void accept() {
        while (!serverSocket.isClosed()) {
            try {
                Socket socket = serverSocket.accept();
                connections.incrementAndGet();
                threads.execute(() -> converse(socket));
            } catch (IOException | RuntimeException e) {
                return;
            }
        }
    }

    private void converse(Socket socket) {
        try (Socket plain = socket) {
            plain.setSoTimeout(10_000);
            InputStream in = plain.getInputStream();
            OutputStream out = plain.getOutputStream();
            boolean tls = false;
            Socket current = plain;
            write(out, "220 mx.tls.test ESMTP test server");
            while (true) {
                String line = readLine(in, tls ? null : plaintext);
                if (line == null) {
                    return;
                }
                String verb = (line.contains(" ") ? line.substring(0, line.indexOf(' ')) : line).toUpperCase(Locale.ROOT);
                commands.add(verb);
                switch (verb) {
                    case "EHLO":
                        boolean offer = !tls && behaviour != Behaviour.NO_STARTTLS;
                        write(out, "250-mx.tls.test" + (offer ? "\r\n250-STARTTLS" : "")
                            + (tls && requireTlsOffered ? "\r\n250-REQUIRETLS" : "")
                            + (tls ? "\r\n250-AUTH PLAIN LOGIN" : "") + "\r\n250 8BITMIME");
                        break;
                    case "STARTTLS":
                        if (tls || behaviour == Behaviour.NO_STARTTLS) {
                            write(out, "503 5.5.1 not now");
                        } else if (behaviour == Behaviour.REFUSE_STARTTLS) {
                            write(out, "454 4.7.0 TLS not available");
                        } else if (behaviour == Behaviour.BREAK_HANDSHAKE) {
                            write(out, "220 2.0.0 go ahead");
                            in.read(new byte[64]);
                            write(out, "this is not TLS");
                            return;
                        } else {
                            write(out, "220 2.0.0 go ahead");
                            SSLSocket secured = (SSLSocket) context.getSocketFactory()
                                .createSocket(plain, null, plain.getPort(), false);
                            secured.setUseClientMode(false);
                            try {
                                secured.startHandshake();
                            } catch (IOException refused) {
                                return;
                            }
                            if (secured.getSession() instanceof ExtendedSSLSession) {
                                for (SNIServerName name
                                    : ((ExtendedSSLSession) secured.getSession()).getRequestedServerNames()) {
                                    serverNames.add(new String(name.getEncoded(), StandardCharsets.US_ASCII));
                                }
                            }
                            current = secured;
                            in = secured.getInputStream();
                            out = secured.getOutputStream();
                            tls = true;
                        }
                        break;
                    case "AUTH":
                        authLines.add(line);
                        write(out, "235 2.7.0 accepted");
                        break;
                    case "MAIL":
                        mailFromLines.add(line);
                        write(out, "250 2.0.0 ok");
                        break;
                    case "RCPT":
                    case "RSET":
                    case "NOOP":
                        write(out, "250 2.0.0 ok");
                        break;
                    case "DATA":
                        write(out, "354 go ahead");
                        StringBuilder content = new StringBuilder();
                        for (String data = readLine(in, tls ? null : plaintext); data != null && !data.equals(".");
                             data = readLine(in, tls ? null : plaintext)) {
                            content.append(data.startsWith(".") ? data.substring(1) : data).append("\r\n");
                        }
                        messages.add(new Message(content.toString(), tls));
                        write(out, "250 2.0.0 queued");
                        break;
                    case "QUIT":
                        write(out, "221 2.0.0 bye");
                        current.close();
                        return;
                    default:
                        write(out, "500 5.5.2 unknown command");
                        break;
                }
            }
        } catch (IOException ignored) {
            // the client went away
        }
    }

    /** One line without its CRLF, byte by byte so that nothing after it (a TLS handshake) is read ahead. */
    private static String readLine(InputStream in, ByteArrayOutputStream capture) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
            }
            if (capture != null) {
                synchronized (capture) {
                    capture.write(b);
                }
            }
            if (b == '\n') {
                String text = line.toString(StandardCharsets.ISO_8859_1);
                return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
            }
            line.write(b);
        }
    }

    private static void write(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        serverSocket.close();
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

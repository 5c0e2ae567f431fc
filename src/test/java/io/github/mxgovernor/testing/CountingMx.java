package io.github.mxgovernor.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback SMTP server that counts what each recipient received, by Message-ID, so that a test can prove no
 * recipient got a mail twice. One command at a time (no PIPELINING); replies to RCPT come from a policy; a gate can
 * hold the reply to MAIL FROM for chosen senders' transactions (a slow server), and every command's arrival time is
 * kept, so a test can prove nothing reached the server after a point in time.
 */
public final class CountingMx implements AutoCloseable {
    private static final Pattern ADDRESS = Pattern.compile("<([^>]*)>");
    private static final Pattern MESSAGE_ID = Pattern.compile("(?im)^Message-ID:\\s*(\\S+)");

    private final ServerSocket serverSocket;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
    private final AtomicLong lastCommandNanos = new AtomicLong();
    private final AtomicInteger commands = new AtomicInteger();
    private final AtomicInteger heldNow = new AtomicInteger();
    private volatile Function<String, String> rcptPolicy = recipient -> null;
    private volatile Predicate<String> holdAtMail = sender -> false;
    private final Object gate = new Object();

    private CountingMx() throws IOException {
        serverSocket = new ServerSocket();
        serverSocket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        Thread acceptor = new Thread(this::accept, "counting-mx");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static CountingMx start() throws IOException {
        return new CountingMx();
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    /** The reply to RCPT TO for a recipient (lower case), or null for {@code 250}. */
    public CountingMx rcptPolicy(Function<String, String> policy) {
        this.rcptPolicy = policy;
        return this;
    }

    /** Holds the reply to MAIL FROM of transactions whose sender (lower case) matches, until {@link #release()}. */
    public CountingMx holdAtMail(Predicate<String> senders) {
        this.holdAtMail = senders;
        return this;
    }

    /** Answers every held MAIL FROM, and holds no more. */
    public void release() {
        synchronized (gate) {
            holdAtMail = sender -> false;
            gate.notifyAll();
        }
    }

    /** Transactions waiting for their MAIL FROM reply now. */
    public int held() {
        return heldNow.get();
    }

    /** How many times {@code recipient} received the message with this Message-ID. */
    public int count(String messageId, String recipient) {
        AtomicInteger count = received.get(key(messageId, recipient));
        return count == null ? 0 : count.get();
    }

    /** Every (Message-ID, recipient) pair received, with how many times. */
    public Map<String, Integer> receipts() {
        Map<String, Integer> copy = new ConcurrentHashMap<>();
        received.forEach((key, count) -> copy.put(key, count.get()));
        return copy;
    }

    /** Messages accepted, counted once per recipient. */
    public int deliveries() {
        return received.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    /** {@link System#nanoTime()} when the last command line arrived; 0 before any. */
    public long lastCommandNanos() {
        return lastCommandNanos.get();
    }

    public int commandCount() {
        return commands.get();
    }

    @Override
    public void close() throws IOException {
        release();
        serverSocket.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }

    private static String key(String messageId, String recipient) {
        return messageId + " " + recipient.toLowerCase(Locale.ROOT);
    }

    private void accept() {
        while (!serverSocket.isClosed()) {
            try {
                Socket socket = serverSocket.accept();
                sockets.add(socket);
                Thread connection = new Thread(() -> serve(socket), "counting-mx-connection");
                connection.setDaemon(true);
                connection.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                StandardCharsets.ISO_8859_1));
            OutputStream out = socket.getOutputStream();
            reply(out, "220 mx.test ESMTP counting");
            String sender = null;
            List<String> accepted = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                lastCommandNanos.set(System.nanoTime());
                commands.incrementAndGet();
                String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(Locale.ROOT) : line;
                switch (verb) {
                    case "EHLO":
                        reply(out, "250-mx.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES");
                        break;
                    case "HELO":
                    case "NOOP":
                        reply(out, "250 2.0.0 OK");
                        break;
                    case "MAIL":
                        sender = address(line);
                        accepted.clear();
                        holdWhileGated(sender);
                        reply(out, "250 2.1.0 OK");
                        break;
                    case "RCPT":
                        String recipient = address(line);
                        String refusal = rcptPolicy.apply(recipient);
                        if (refusal == null) {
                            accepted.add(recipient);
                            reply(out, "250 2.1.5 OK");
                        } else {
                            reply(out, refusal);
                        }
                        break;
                    case "DATA":
                        reply(out, "354 go ahead");
                        String content = readContent(in);
                        if (content == null) {
                            return;
                        }
                        lastCommandNanos.set(System.nanoTime());
                        Matcher id = MESSAGE_ID.matcher(content);
                        String messageId = id.find() ? id.group(1) : "<none>";
                        for (String to : accepted) {
                            received.computeIfAbsent(key(messageId, to), k -> new AtomicInteger()).incrementAndGet();
                        }
                        accepted.clear();
                        reply(out, "250 2.0.0 queued");
                        break;
                    case "RSET":
                        accepted.clear();
                        reply(out, "250 2.0.0 OK");
                        break;
                    case "QUIT":
                        reply(out, "221 2.0.0 bye");
                        return;
                    default:
                        reply(out, "500 5.5.2 unknown command");
                        break;
                }
            }
        } catch (IOException | InterruptedException closed) {
            // the client went away, or the server is closing
        } finally {
            sockets.remove(socket);
        }
    }

    private void holdWhileGated(String sender) throws InterruptedException {
        synchronized (gate) {
            if (!holdAtMail.test(sender)) {
                return;
            }
            heldNow.incrementAndGet();
            try {
                while (holdAtMail.test(sender) && !serverSocket.isClosed()) {
                    gate.wait(50);
                }
            } finally {
                heldNow.decrementAndGet();
            }
        }
    }

    private static String readContent(BufferedReader in) throws IOException {
        StringBuilder content = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals(".")) {
                return content.toString();
            }
            content.append(line.startsWith(".") ? line.substring(1) : line).append("\r\n");
        }
        return null;
    }

    private static String address(String line) {
        Matcher matcher = ADDRESS.matcher(line);
        return matcher.find() ? matcher.group(1).toLowerCase(Locale.ROOT) : "";
    }

    private static void reply(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}

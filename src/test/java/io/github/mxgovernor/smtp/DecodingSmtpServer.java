package io.github.mxgovernor.smtp;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A lenient fake SMTP server on 127.0.0.1 that accepts any number of connections and transactions and decodes
 * what it receives the way a real server does: DATA until the lone dot with one leading dot removed per line,
 * BDAT by its byte counts. Each decoded message is queued for the test. It offers PIPELINING and 8BITMIME, and
 * CHUNKING when the client's EHLO name starts with {@code chunking}.
 */
final class DecodingSmtpServer implements AutoCloseable {
    private static final int MAX_LINE_BYTES = 1024 * 1024;

    private final ServerSocket serverSocket;
    private final BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    DecodingSmtpServer() throws IOException {
        serverSocket = new ServerSocket();
        serverSocket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        acceptor = new Thread(this::accept, "decoding-smtp-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    SmtpEndpoint endpoint() {
        return new SmtpEndpoint("mx.test", serverSocket.getInetAddress(), serverSocket.getLocalPort());
    }

    /** The next message decoded, waiting a little for it; fails when none came or the server saw an error. */
    byte[] nextMessage() throws InterruptedException {
        byte[] message = messages.poll(5, TimeUnit.SECONDS);
        if (!failures.isEmpty()) {
            throw new AssertionError("decoding server failed", failures.get(0));
        }
        if (message == null) {
            throw new AssertionError("no message was received");
        }
        return message;
    }

    @Override
    public void close() throws IOException {
        serverSocket.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }

    private void accept() {
        while (!serverSocket.isClosed()) {
            try {
                Socket socket = serverSocket.accept();
                socket.setTcpNoDelay(true);
                sockets.add(socket);
                Thread connection = new Thread(() -> serve(socket), "decoding-smtp-connection");
                connection.setDaemon(true);
                connection.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            reply(out, "220 decoder ready");
            ByteArrayOutputStream chunks = new ByteArrayOutputStream();
            while (true) {
                String command = new String(readLine(in), StandardCharsets.UTF_8);
                String verb = command.length() < 4 ? command : command.substring(0, 4).toUpperCase();
                switch (verb) {
                    case "EHLO":
                        boolean chunking = command.substring(5).startsWith("chunking");
                        reply(out, "250-decoder\r\n250-PIPELINING\r\n" + (chunking ? "250-CHUNKING\r\n" : "")
                            + "250 8BITMIME");
                        break;
                    case "DATA":
                        reply(out, "354 go ahead");
                        messages.add(readDotStuffed(in));
                        reply(out, "250 2.0.0 queued");
                        break;
                    case "BDAT":
                        String[] words = command.split(" ");
                        chunks.write(readExactly(in, Integer.parseInt(words[1])));
                        if (words.length > 2 && words[2].equals("LAST")) {
                            messages.add(chunks.toByteArray());
                            chunks.reset();
                            reply(out, "250 2.0.0 queued");
                        } else {
                            reply(out, "250 2.0.0 chunk taken");
                        }
                        break;
                    case "QUIT":
                        reply(out, "221 bye");
                        return;
                    default:
                        reply(out, "250 ok");
                        break;
                }
            }
        } catch (EOFException | SocketException closed) {
            // the client went away
        } catch (IOException | RuntimeException e) {
            failures.add(e);
        }
    }

    private static byte[] readDotStuffed(InputStream in) throws IOException {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        while (true) {
            byte[] line = readLine(in);
            if (line.length == 1 && line[0] == '.') {
                return message.toByteArray();
            }
            if (line.length > 0 && line[0] == '.') {
                message.write(line, 1, line.length - 1);
            } else {
                message.write(line);
            }
            message.write('\r');
            message.write('\n');
        }
    }

    /** One line without its CRLF; a bare CR or LF inside a line is an error, as RFC 5321 says. */
    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException();
            }
            if (b == '\r') {
                if (in.read() != '\n') {
                    throw new IOException("bare CR in " + Arrays.toString(line.toByteArray()));
                }
                return line.toByteArray();
            }
            if (b == '\n') {
                throw new IOException("bare LF in " + Arrays.toString(line.toByteArray()));
            }
            line.write(b);
            if (line.size() > MAX_LINE_BYTES) {
                throw new IOException("line too long");
            }
        }
    }

    private static byte[] readExactly(InputStream in, int count) throws IOException {
        byte[] bytes = in.readNBytes(count);
        if (bytes.length < count) {
            throw new EOFException();
        }
        return bytes;
    }

    private static void reply(OutputStream out, String text) throws IOException {
        out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}

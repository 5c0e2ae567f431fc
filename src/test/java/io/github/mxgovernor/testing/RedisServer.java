package io.github.mxgovernor.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A private Redis server for tests: Debian's {@code redis-server} run as a child process on a free port of
 * 127.0.0.1, with a data directory of its own, nothing saved to disk, never the system's instance. Installed with
 * {@code apt-get} when missing (as root; a temporary {@code policy-rc.d} keeps the package's own service from
 * starting). Stopped by its PID; {@link #kill()} and {@link #start()} take it down and bring it back on the same
 * port mid-test.
 */
public final class RedisServer implements AutoCloseable {
    private static final Path BINARY = Paths.get("/usr/bin/redis-server");
    private static final Duration READY_WITHIN = Duration.ofSeconds(10);
    /** Servers started by this JVM: killed when it exits, should a test or a benchmark end without stopping them. */
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
            "redis-server reaper"));
    }

    private final Path directory;
    private final int port;
    private final List<String> options;
    /** The configuration file of a Sentinel (it must be writable, Sentinel rewrites it); null for a server. */
    private final String sentinelConfig;
    private Process process;

    private RedisServer(Path directory, int port, List<String> options, String sentinelConfig) {
        this.directory = directory;
        this.port = port;
        this.options = options;
        this.sentinelConfig = sentinelConfig;
    }

    /** A fresh server on a free loopback port, started; {@code options} are extra {@code --name value} pairs. */
    public static RedisServer start(Path directory, String... options) throws IOException {
        RedisServer server = create(directory, options);
        server.start();
        return server;
    }

    /** A server on a free loopback port, not started yet (nothing listens there until {@link #start()}). */
    public static RedisServer create(Path directory, String... options) throws IOException {
        return new RedisServer(directory, freePort(), List.of(options), null);
    }

    /** A Redis Sentinel on a free loopback port watching the master at {@code masterPort} as {@code masterName}. */
    public static RedisServer sentinel(Path directory, int masterPort, String masterName) throws IOException {
        RedisServer sentinel = new RedisServer(directory, freePort(), List.of(), "sentinel monitor " + masterName
            + " 127.0.0.1 " + masterPort + " 1\nsentinel down-after-milliseconds " + masterName + " 5000\n");
        sentinel.start();
        return sentinel;
    }

    /** Starts (again) on the same port and directory; returns when the server answers PING. */
    public synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("redis-server already runs on port " + port);
        }
        ensureInstalled();
        Files.createDirectories(directory);
        List<String> command = new ArrayList<>();
        command.add(BINARY.toString());
        if (sentinelConfig != null) {
            Path config = directory.resolve("sentinel.conf");
            Files.writeString(config, sentinelConfig);
            command.addAll(List.of(config.toString(), "--sentinel"));
        } else {
            command.addAll(List.of("--save", "", "--appendonly", "no"));
        }
        command.addAll(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", directory.toString(),
            "--daemonize", "no", "--logfile", directory.resolve("redis.log").toString()));
        command.addAll(options);
        process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(directory.resolve("redis.out").toFile()).start();
        RUNNING.add(process);
        awaitReady();
    }

    /** SIGKILL, as a crash would; the data is gone (nothing is saved). */
    public synchronized void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            RUNNING.remove(process);
        }
    }

    /** SIGTERM and wait. */
    public synchronized void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            RUNNING.remove(process);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    public int port() {
        return port;
    }

    /** A free port of 127.0.0.1 now, for a second listener (a TLS port). */
    public static int anotherFreePort() throws IOException {
        return freePort();
    }

    /** {@code 127.0.0.1:port}, the shortest form of the store parameter. */
    public String hostAndPort() {
        return "127.0.0.1:" + port;
    }

    public Path directory() {
        return directory;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Runs one command through a raw connection (inline protocol) and returns the first line of the reply. */
    public String command(String... words) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            StringBuilder request = new StringBuilder("*").append(words.length).append("\r\n");
            for (String word : words) {
                request.append('$').append(word.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(word)
                    .append("\r\n");
            }
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            return readLine(socket.getInputStream());
        }
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("redis-server exited with " + process.exitValue() + ": "
                    + Files.readString(directory.resolve("redis.out")) + tail(directory.resolve("redis.log")));
            }
            try {
                String reply = command("PING");
                // A server with a password answers NOAUTH: it is up all the same.
                if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for redis-server", e);
            }
        }
        process.destroyForcibly();
        throw new IOException("redis-server on port " + port + " not ready within " + READY_WITHIN, last);
    }

    private static String tail(Path log) throws IOException {
        return Files.exists(log) ? "\n" + Files.readString(log) : "";
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        }
    }

    /** Installs Debian's redis-server when it is missing, without starting the system's instance. */
    static synchronized void ensureInstalled() throws IOException {
        if (Files.isExecutable(BINARY)) {
            return;
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IOException(BINARY + " is missing and installing it needs root: apt-get install redis-server");
        }
        Path policy = Paths.get("/usr/sbin/policy-rc.d");
        boolean ownPolicy = false;
        if (!Files.exists(policy)) {
            Files.writeString(policy, "#!/bin/sh\nexit 101\n");
            policy.toFile().setExecutable(true, false);
            ownPolicy = true;
        }
        try {
            ProcessBuilder install = new ProcessBuilder("apt-get", "install", "-y", "-q", "--no-install-recommends",
                "-o", "DPkg::Lock::Timeout=300", "redis-server").redirectErrorStream(true);
            install.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process apt = install.start();
            String output = new String(apt.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = apt.waitFor();
            if (status != 0 || !Files.isExecutable(BINARY)) {
                throw new IOException("apt-get install redis-server failed with status " + status + ":\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while installing redis-server", e);
        } finally {
            if (ownPolicy) {
                Files.deleteIfExists(policy);
            }
        }
    }
}

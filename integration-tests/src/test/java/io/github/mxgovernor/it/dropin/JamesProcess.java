package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * James started from its distribution folder as a separate process, the way its README.adoc says (from the folder,
 * {@code -Dworking.directory=.}, {@code conf/logback.xml}), with its console written to a file. It is stopped by
 * its PID: {@link #close()} sends SIGTERM and waits, then kills it; a shutdown hook kills it should the test JVM end
 * first.
 */
final class JamesProcess implements AutoCloseable {
    private static final Duration GRACEFUL_STOP = Duration.ofSeconds(40);

    private final Process process;
    private final Path console;
    private final Thread killer;

    private JamesProcess(Process process, Path console) {
        this.process = process;
        this.console = console;
        ProcessHandle handle = process.toHandle();
        this.killer = new Thread(() -> handle.destroyForcibly(), "kill-james-" + handle.pid());
        Runtime.getRuntime().addShutdownHook(killer);
    }

    /**
     * Runs {@code java [jvmFlags] -jar james-server-memory-app.jar} in {@code home}, with the JDK running this test.
     *
     * @param console where James's standard output and error go
     */
    static JamesProcess start(Path home, List<String> jvmFlags, Path console) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Dworking.directory=.");
        command.add("-Dlogback.configurationFile=conf/logback.xml");
        command.add("-Djdk.tls.ephemeralDHKeySize=2048");
        command.addAll(jvmFlags);
        command.add("-jar");
        command.add("james-server-memory-app.jar");
        Process process = new ProcessBuilder(command)
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(console.toFile())
            .start();
        return new JamesProcess(process, console);
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits until something accepts connections on {@code port} of 127.0.0.1.
     *
     * @throws IllegalStateException when James ends or the time runs out first, with the end of its console
     */
    void awaitPort(int port, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("James (PID " + pid() + ") ended with " + process.exitValue()
                    + " before listening on port " + port + "; its console ends with:\n" + consoleTail());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException notYet) {
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("James (PID " + pid() + ") did not listen on port " + port
                        + " within " + timeout + "; its console ends with:\n" + consoleTail());
                }
                TimeUnit.MILLISECONDS.sleep(200);
            }
        }
    }

    /** The last lines of James's console. */
    String consoleTail() {
        try {
            List<String> lines = Files.readAllLines(console, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(console " + console + " unreadable: " + e + ")";
        }
    }

    /**
     * Sends SIGTERM to James's PID and waits for it to end; kills it when it does not end in time.
     *
     * @return whether James ended by itself within the grace period
     */
    boolean stop() throws InterruptedException {
        try {
            ProcessHandle handle = process.toHandle();
            handle.destroy();
            if (process.waitFor(GRACEFUL_STOP.toMillis(), TimeUnit.MILLISECONDS)) {
                return true;
            }
            handle.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return false;
        } finally {
            removeShutdownHook();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        } else {
            removeShutdownHook();
        }
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(killer);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to: it kills the process anyway
        }
    }
}

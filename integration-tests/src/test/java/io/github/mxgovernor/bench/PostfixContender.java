package io.github.mxgovernor.bench;

import io.github.mxgovernor.it.EmbeddedJames;
import io.github.mxgovernor.it.FakeMxServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A private Postfix on loopback, started and stopped by {@code postfix-instance.sh} (which installs Debian's package
 * when needed): its own configuration, queue and log under the benchmark's output directory, smtpd on 127.0.0.1 for
 * submission, connections reused for up to 100 mails. Without DNS ({@link #start}) each benchmark domain is routed to
 * its fake MX's address, 5 deliveries at once per MX host from the first mail, as our rule caps. With DNS
 * ({@link #startWithDns}) it looks MX and A records up through the benchmark's name server alone (its chrooted smtp
 * client reads a resolv.conf of the instance's own) and has no cache of its own; its concurrency limit applies per
 * next hop, here the recipient domain (5 each, from the first mail), and the smtp processes are capped at 5 per MX
 * host in all, as many connections as our rule allows over all MX hosts. A header check puts the burst on hold;
 * {@link #schedule} releases it into the deferred queue with its next attempt an hour away (Postfix keeps that time as
 * the queue file's modification time) and {@link #release} flushes the queue, which ignores that time, at the instant.
 */
final class PostfixContender implements Contender {
    private static final String POSTSUPER = "/usr/sbin/postsuper";
    private static final String POSTQUEUE = "/usr/sbin/postqueue";
    private static final String POSTCONF = "/usr/sbin/postconf";
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
    private static final List<String> QUEUES = List.of("maildrop", "incoming", "active", "deferred", "hold");

    private final Path script;
    private final Path directory;
    private final Path config;
    private final Path queue;
    private final int smtpPort;
    private final ProcessTree processes;
    private final String version;
    private final Thread stopOnExit;

    private PostfixContender(Path script, Path directory, int smtpPort, ProcessTree processes, String version) {
        this.script = script;
        this.directory = directory;
        this.config = directory.resolve("etc");
        this.queue = directory.resolve("queue");
        this.smtpPort = smtpPort;
        this.processes = processes;
        this.version = version;
        this.stopOnExit = new Thread(this::stopQuietly, "bench-postfix-stop");
    }

    /**
     * Starts a fresh instance under {@code directory} relaying the scenario's domains to {@code servers} by address.
     *
     * @throws ContenderUnavailable when Postfix cannot be installed or started here (no root, no apt, no /proc)
     */
    static PostfixContender start(Path script, Path directory, Scenario scenario, List<FakeMxServer> servers,
                                  Duration installTimeout) throws Exception {
        List<String> routes = new ArrayList<>();
        scenario.mxOfDomain().forEach((domain, host) -> routes.add(domain + "="
            + servers.get(host).address().getHostAddress() + ":" + servers.get(host).port()));
        return launch(script, directory, "start", routes, installTimeout);
    }

    /**
     * Starts a fresh instance under {@code directory} that resolves the scenario's domains through the name server on
     * port 53 of {@code nameServer}.
     *
     * @throws ContenderUnavailable when Postfix cannot be installed or started here (no root, no apt, no /proc)
     */
    static PostfixContender startWithDns(Path script, Path directory, InetAddress nameServer, Scenario scenario,
                                         Duration installTimeout) throws Exception {
        Path domains = directory.toAbsolutePath().resolve("domains.txt");
        Files.write(domains, scenario.mxOfDomain().keySet(), StandardCharsets.US_ASCII);
        return launch(script, directory, "start-dns", List.of(nameServer.getHostAddress(), domains.toString(),
            String.valueOf(BenchSettings.CAP_PER_MX * scenario.mxHosts().size())), installTimeout);
    }

    private static PostfixContender launch(Path script, Path directory, String mode, List<String> arguments,
                                           Duration installTimeout) throws Exception {
        if (!Files.isDirectory(Path.of("/proc/self"))) {
            throw new ContenderUnavailable("no /proc to measure Postfix's CPU from (Linux only)");
        }
        if (!Files.isExecutable(script)) {
            throw new ContenderUnavailable("no executable " + script.toAbsolutePath());
        }
        Path absolute = directory.toAbsolutePath();
        int port = freeLoopbackPort();
        List<String> command = new ArrayList<>(List.of(script.toAbsolutePath().toString(), mode,
            absolute.toString(), "127.0.0.1:" + port));
        command.addAll(arguments);
        CommandResult started = CommandResult.run(command, installTimeout);
        if (started.status != 0) {
            throw new ContenderUnavailable(started.describe("postfix-instance.sh " + mode));
        }
        try {
            Path pidFile = absolute.resolve("queue").resolve("pid").resolve("master.pid");
            long master = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).trim());
            ProcessTree tree = ProcessTree.of(master).orElseThrow(() -> new ContenderUnavailable(
                "cannot read /proc of Postfix's master " + master));
            CommandResult version = CommandResult.run(List.of(POSTCONF, "-c", absolute.resolve("etc").toString(),
                "-h", "mail_version"), COMMAND_TIMEOUT);
            PostfixContender contender = new PostfixContender(script.toAbsolutePath(), absolute, port, tree,
                version.status == 0 ? version.output.trim() : "unknown");
            Runtime.getRuntime().addShutdownHook(contender.stopOnExit);
            return contender;
        } catch (Exception e) {
            try {
                stop(script.toAbsolutePath(), absolute);
            } catch (Exception stopFailure) {
                e.addSuppressed(stopFailure);
            }
            throw e;
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    @Override
    public int smtpPort() {
        return smtpPort;
    }

    @Override
    public String localDomain() {
        return EmbeddedJames.DEFAULT_LOCAL_DOMAIN;
    }

    @Override
    public boolean holding(int mails) throws IOException {
        return count("hold") == mails && count("maildrop") + count("incoming") + count("active")
            + count("deferred") == 0;
    }

    @Override
    public void schedule(int mails, Instant release) throws Exception {
        // Due an hour after the release: no periodic queue scan takes them before the flush at the instant
        FileTime notBefore = FileTime.from(release.plus(Duration.ofHours(1)));
        for (Path file : files("hold")) {
            Files.setLastModifiedTime(file, notBefore);
        }
        CommandResult released = command(POSTSUPER, "-H", "ALL");
        long deferred = count("deferred");
        if (released.status != 0 || deferred != mails || count("hold") != 0 || count("active") != 0) {
            throw new BenchFailure("postfix: " + deferred + " of " + mails + " held mails released into the deferred"
                + " queue; " + released.describe("postsuper -H ALL"));
        }
    }

    @Override
    public void release() throws Exception {
        CommandResult flushed = command(POSTQUEUE, "-f");
        if (flushed.status != 0) {
            throw new BenchFailure("postfix: " + flushed.describe("postqueue -f"));
        }
    }

    @Override
    public boolean idle() throws IOException {
        long queued = 0;
        for (String name : QUEUES) {
            queued += count(name);
        }
        return queued == 0;
    }

    @Override
    public CpuMeter startCpu() {
        return CpuMeter.start(processes);
    }

    @Override
    public void checkNothingFailed(String run) throws Exception {
        long bounced = logCount("status=bounced") + logCount("status=expired");
        if (bounced > 0) {
            throw new BenchFailure(run + ": " + bounced + " mails bounced, see " + directory.resolve("postfix.log"));
        }
    }

    @Override
    public String detail() throws IOException {
        return String.format(Locale.ROOT, "Postfix %s, %d deferred attempts", version, logCount("status=deferred"));
    }

    @Override
    public void close() throws Exception {
        Runtime.getRuntime().removeShutdownHook(stopOnExit);
        stop(script, directory);
    }

    private static void stop(Path script, Path directory) throws Exception {
        CommandResult stopped = CommandResult.run(List.of(script.toString(), "stop", directory.toString()),
            COMMAND_TIMEOUT);
        if (stopped.status != 0) {
            throw new BenchFailure("postfix: " + stopped.describe("postfix-instance.sh stop"));
        }
    }

    /** Stops the instance when the JVM exits before the run closed it (a time-out, an interrupted build). */
    private void stopQuietly() {
        try {
            stop(script, directory);
        } catch (Exception e) {
            System.err.println("Could not stop the private Postfix under " + directory + ": " + e);
        }
    }

    private CommandResult command(String program, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(program, "-c", config.toString()));
        command.addAll(Arrays.asList(arguments));
        return CommandResult.run(command, COMMAND_TIMEOUT);
    }

    private long count(String queueName) throws IOException {
        return files(queueName).size();
    }

    /** The queue files of one queue; the deferred queue is hashed into subdirectories. */
    private List<Path> files(String queueName) throws IOException {
        Path dir = queue.resolve(queueName);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).collect(Collectors.toList());
        } catch (UncheckedIOException e) {
            // a file moved on by Postfix while walking: count again on the next poll
            return files(queueName);
        }
    }

    private long logCount(String text) throws IOException {
        Path log = directory.resolve("postfix.log");
        if (!Files.exists(log)) {
            return 0;
        }
        try (Stream<String> lines = Files.lines(log, StandardCharsets.UTF_8)) {
            return lines.filter(line -> line.contains(text)).count();
        }
    }

    /** A finished command: its exit status and its output (stdout and stderr together). */
    private static final class CommandResult {
        final int status;
        final String output;

        private CommandResult(int status, String output) {
            this.status = status;
            this.output = output;
        }

        static CommandResult run(List<String> command, Duration timeout) throws Exception {
            Path output = Files.createTempFile("bench-postfix", ".out");
            try {
                Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    return new CommandResult(-1, "timed out after " + timeout);
                }
                return new CommandResult(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(output);
            }
        }

        String describe(String what) {
            String[] lines = output.trim().split("\n");
            String tail = String.join(" / ", Arrays.asList(lines).subList(Math.max(0, lines.length - 3),
                lines.length));
            return what + " exited with " + status + (tail.isEmpty() ? "" : ": " + tail);
        }
    }
}

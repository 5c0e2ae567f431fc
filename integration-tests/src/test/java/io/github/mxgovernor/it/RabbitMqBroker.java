package io.github.mxgovernor.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A private RabbitMQ broker on 127.0.0.1 for a test: Debian's {@code rabbitmq-server}, installed by
 * {@code integration-tests/rabbitmq/rabbitmq-instance.sh} when missing (root and apt-get needed then; the system's
 * broker is never started), run from a fresh directory of its own with its own epmd, every port free and on loopback,
 * the management plugin on. {@link #close()} stops it by its process ids.
 */
public final class RabbitMqBroker implements AutoCloseable {
    private static final Duration START_LIMIT = Duration.ofSeconds(240);

    private final Path script;
    private final Path directory;
    private final int amqpPort;
    private final int managementPort;
    private final Duration startupTime;

    private RabbitMqBroker(Path script, Path directory, int amqpPort, int managementPort, Duration startupTime) {
        this.script = script;
        this.directory = directory;
        this.amqpPort = amqpPort;
        this.managementPort = managementPort;
        this.startupTime = startupTime;
    }

    /**
     * Starts a broker under {@code directory} (made afresh). The script is the system property
     * {@code mxgovernor.rabbitmq.script}, else {@code integration-tests/rabbitmq/rabbitmq-instance.sh} of the working
     * directory.
     *
     * @param consumerTimeout RabbitMQ's {@code consumer_timeout}: a delivery not acknowledged within it closes its
     *                        channel and is given again (30 minutes unless a test shortens it)
     * @throws IllegalStateException saying why when the broker cannot be installed or started
     */
    public static RabbitMqBroker start(Path directory, Duration consumerTimeout) throws IOException,
            InterruptedException {
        Path script = Path.of(System.getProperty("mxgovernor.rabbitmq.script",
            "integration-tests/rabbitmq/rabbitmq-instance.sh")).toAbsolutePath();
        List<Integer> ports = freePorts(4);
        long begin = System.nanoTime();
        Files.createDirectories(directory);
        List<String> command = new ArrayList<>(List.of("bash", script.toString(), "start", directory.toString()));
        ports.forEach(port -> command.add(String.valueOf(port)));
        run(command, directory.resolve("start.log"), Map.of("RABBITMQ_CONSUMER_TIMEOUT_MS",
            String.valueOf(consumerTimeout.toMillis())));
        return new RabbitMqBroker(script, directory, ports.get(0), ports.get(1),
            Duration.ofNanos(System.nanoTime() - begin));
    }

    public URI amqpUri() {
        return URI.create("amqp://127.0.0.1:" + amqpPort);
    }

    public URI managementUri() {
        return URI.create("http://127.0.0.1:" + managementPort);
    }

    /** From {@link #start} to a broker whose AMQP port and management API answer (the package install included). */
    public Duration startupTime() {
        return startupTime;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of("bash", script.toString(), "stop", directory.toString()), directory.resolve("stop.log"), Map.of());
    }

    /**
     * Messages published to a queue so far, as the management API counts them (statistics are collected every 500 ms).
     */
    public long published(String queue) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(managementUri().resolve("/api/queues/%2F/"
                + URLEncoder.encode(queue, StandardCharsets.UTF_8)))
            .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                "guest:guest".getBytes(StandardCharsets.UTF_8)))
            .timeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("GET " + request.uri() + ": " + response.statusCode() + " "
                + response.body());
        }
        return new ObjectMapper().readTree(response.body()).path("message_stats").path("publish").asLong(0);
    }

    private static String run(List<String> command, Path log, Map<String, String> environment) throws IOException,
            InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        Process process = builder.start();
        if (!process.waitFor(START_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not end within " + START_LIMIT
                + "; see " + log);
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed with status " + process.exitValue()
                + ": " + output.strip());
        }
        return output;
    }

    private static List<Integer> freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket();
                socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
                sockets.add(socket);
                ports.add(socket.getLocalPort());
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }
}

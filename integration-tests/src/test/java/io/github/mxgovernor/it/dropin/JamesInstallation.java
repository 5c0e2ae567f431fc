package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * One copy of the Apache James 3.8.1 memory distribution with mx-governor installed by
 * {@code integration-tests/dropin/install-james.sh} the way README.md "Install" tells operators, and the edits every
 * drop-in check makes to it to run on loopback: every server on a free port of 127.0.0.1, JMAP off (it cannot bind
 * to one address), DNS pointed at a loopback name server, the log file inside the folder. Several copies on one
 * machine get distinct ports (the {@code taken} set shared between them).
 */
final class JamesInstallation {
    /** The files the install script puts in, kept as installed before any edit. */
    static final List<String> INSTALLED_FILES =
        List.of("conf/mailetcontainer.xml", "conf/mx-rules.xml");

    private final Path home;
    private final Path pluginJar;
    private final Map<String, byte[]> asShipped;
    private final Map<String, Integer> ports = new HashMap<>();

    private JamesInstallation(Path home, Path pluginJar, Map<String, byte[]> asShipped) {
        this.home = home;
        this.pluginJar = pluginJar;
        this.asShipped = asShipped;
    }

    /**
     * Runs the install script into {@code directory} (its output goes to {@code directory}'s sibling
     * {@code <name>-install.log}) and keeps the installed plugin and samples as they were before any edit.
     *
     * @param project the project's folder (the script, and the samples it installs)
     */
    static JamesInstallation install(Path project, Path directory, Path pluginJar)
        throws IOException, InterruptedException {
        Path log = directory.resolveSibling(directory.getFileName() + "-install.log");
        Files.createDirectories(directory);
        List<String> command = new ArrayList<>(List.of("bash",
            project.resolve("integration-tests/dropin/install-james.sh").toString(), directory.toString(),
            pluginJar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true)
            .redirectOutput(log.toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("MVN", System.getProperty("mxgovernor.dropin.mvn", "mvn"));
        builder.environment().put("MVN_ARGS", System.getProperty("mxgovernor.dropin.mvnArgs", ""));
        Process process = builder.start();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException("install-james.sh did not end within 5 minutes");
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("install-james.sh failed (" + process.exitValue() + "):\n"
                + Files.readString(log, StandardCharsets.UTF_8));
        }
        Path home = directory.resolve("james-server-memory-app");
        Map<String, byte[]> asShipped = new HashMap<>();
        List<String> files = new ArrayList<>(INSTALLED_FILES);
        files.add(pluginPath(pluginJar));
        for (String file : files) {
            asShipped.put(file, Files.readAllBytes(home.resolve(file)));
        }
        return new JamesInstallation(home, pluginJar, asShipped);
    }

    private static String pluginPath(Path pluginJar) {
        return "extensions-jars/" + pluginJar.getFileName();
    }

    Path home() {
        return home;
    }

    Path conf(String file) {
        return home.resolve("conf").resolve(file);
    }

    /** A file the script installed ({@link #INSTALLED_FILES}, or {@code extensions-jars/<plugin>}) as it was then. */
    byte[] asShipped(String file) {
        byte[] content = asShipped.get(file);
        if (content == null) {
            throw new IllegalArgumentException(file + " is not a file the install script puts in");
        }
        return content.clone();
    }

    byte[] pluginAsShipped() {
        return asShipped(pluginPath(pluginJar));
    }

    /**
     * The edits needed to run on loopback beside other copies: each server on a port of 127.0.0.1 not in
     * {@code taken} (which gets them), JMAP off, MX and A look-ups to {@code nameServer} (port 53), the log file under
     * {@code logs/} of the folder with the plugin's INFO lines in it.
     */
    void configureForLoopback(InetAddress nameServer, Set<Integer> taken) throws IOException {
        // Every protocol server (SMTP, IMAP, POP3, ManageSieve; LMTP has no file in this distribution) on a free
        // port of 127.0.0.1 instead of every interface's well-known port.
        for (String file : List.of("smtpserver.xml", "imapserver.xml", "pop3server.xml", "managesieveserver.xml")) {
            ConfFile server = ConfFile.read(conf(file));
            server.rebind(jmxName -> {
                int port = freePort(taken);
                ports.put(jmxName, port);
                return "127.0.0.1:" + port;
            });
            server.save();
        }
        ports.put("webadmin", freePort(taken));
        ConfFile.read(conf("webadmin.properties"))
            .replace("\nport=8000\n", "\nport=" + ports.get("webadmin") + "\n")
            .replace("\nhost=localhost\n", "\nhost=127.0.0.1\n")
            .save();
        ports.put("jmx", freePort(taken));
        // jmx.address is 127.0.0.1 already; the RMI stub James hands out names 127.0.0.1 too (java.rmi.server.hostname
        // on James's command line, see start), whatever the machine's host name resolves to.
        ConfFile.read(conf("jmx.properties"))
            .replace("\njmx.port=9999\n", "\njmx.port=" + ports.get("jmx") + "\n")
            .save();
        // JMAP listens on every interface (jmap.properties has a port, no address): off.
        ConfFile.read(conf("jmap.properties")).replace("\nenabled=true\n", "\nenabled=false\n").save();
        // MX and A lookups go to the loopback DNS server instead of the system's resolvers.
        ConfFile.read(conf("dnsservice.xml"))
            .replace("<autodiscover>true</autodiscover>", "<autodiscover>false</autodiscover>\n  <servers><server>"
                + nameServer.getHostAddress() + "</server></servers>")
            .save();
        // The log file inside the distribution folder instead of /logs, and the plugin's own INFO lines in it.
        ConfFile.read(conf("logback.xml"))
            .replace("<file>/logs/james.log</file>", "<file>logs/james.log</file>")
            .replace("<fileNamePattern>/logs/james.%i.log.tar.gz</fileNamePattern>",
                "<fileNamePattern>logs/james.%i.log.tar.gz</fileNamePattern>")
            .insertBefore("</configuration>", "        <logger name=\"io.github.mxgovernor\" level=\"INFO\" />\n")
            .save();
    }

    /** The port chosen for a server, by its JMX name ({@code smtpserver-global}), or {@code webadmin}, {@code jmx}. */
    int port(String server) {
        Integer port = ports.get(server);
        if (port == null) {
            throw new IllegalStateException("no port chosen for " + server + " (configureForLoopback first): "
                + ports.keySet());
        }
        return port;
    }

    int smtpPort() {
        return port("smtpserver-global");
    }

    /**
     * Starts James from the folder with its console in {@code console} and waits until its SMTP port, web admin and
     * JMX answer.
     */
    JamesProcess start(Path console, Duration startup) throws IOException, InterruptedException {
        JamesProcess james = launch(console);
        try {
            awaitStarted(james, startup);
            return james;
        } catch (RuntimeException | InterruptedException notStarted) {
            james.close();
            throw notStarted;
        }
    }

    /** Starts James from the folder with its console in {@code console}, without waiting for it. */
    JamesProcess launch(Path console) throws IOException {
        return JamesProcess.start(home, List.of("-Djava.rmi.server.hostname=127.0.0.1"), console);
    }

    /** Waits until a James started from this folder answers on its SMTP port, web admin and JMX. */
    void awaitStarted(JamesProcess james, Duration startup) throws InterruptedException {
        james.awaitPort(smtpPort(), startup);
        james.awaitPort(port("webadmin"), startup);
        Instant deadline = Instant.now().plus(startup);
        while (true) {
            try (JMXConnector connector = connectJmx()) {
                connector.getMBeanServerConnection().getMBeanCount();
                return;
            } catch (IOException | RuntimeException notYet) {
                if (!james.isAlive() || Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("no JMX on port " + port("jmx") + ": " + notYet + "; James's "
                        + "console ends with:\n" + james.consoleTail(), notYet);
                }
                TimeUnit.MILLISECONDS.sleep(500);
            }
        }
    }

    /** Connects to James's JMX port as the user of the {@code conf/jmxremote.password} James generated at start. */
    JMXConnector connectJmx() throws IOException {
        String[] userAndPassword = Files.readString(conf("jmxremote.password"), StandardCharsets.UTF_8).trim()
            .split("\\s+");
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port("jmx") + "/jmxrmi");
        return JMXConnectorFactory.connect(url, Map.of(JMXConnector.CREDENTIALS,
            new String[] {userAndPassword[0], userAndPassword[1]}));
    }

    private static int freePort(Set<Integer> taken) {
        while (true) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (taken.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("no free port on 127.0.0.1", e);
            }
        }
    }
}

package io.github.mxgovernor.it.dropin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.LoopbackDnsServer;
import io.github.mxgovernor.it.ReplyPolicy;
import io.github.mxgovernor.it.SmtpStage;

import java.io.ByteArrayInputStream;
import java.io.File;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.mail.Session;
import javax.mail.internet.InternetAddress;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.mail.smtp.SMTPMessage;
import com.sun.mail.smtp.SMTPTransport;

/**
 * The drop-in check: mx-governor installed into the Apache James 3.8.1 memory distribution from Maven Central the way
 * README.md "Install" tells operators, James started as a separate process, mail sent through its SMTP port.
 *
 * <p>{@code integration-tests/dropin/install-james.sh} builds the distribution (the zip, the lib folder its jar's
 * manifest names, a keytool keystore) and installs the plugin JAR and both {@code conf-samples/} files. This test
 * then changes only what a test must, in the copy under {@code target/dropin}: every server on a free port of
 * 127.0.0.1, JMAP off (it cannot bind to one address), DNS pointed at a loopback DNS server, the log file under the
 * folder, a rule for the test domains appended to the sample rules, a copy of delivered mail kept in a repository
 * and a short retry delay. It checks delivery to fake MX servers under the rule's caps, a deferral record, and the
 * governor's MXBeans over James's own JMX port, then stops James by its PID.
 *
 * <p>James's DNS service asks DNS servers on port 53 only and an MX record carries no port, so the fake DNS and MX
 * servers bind ports 53 and 25 of a random 127.x.y.0/24 block: the check needs the right to bind privileged ports
 * (root, {@code CAP_NET_BIND_SERVICE}, or {@code net.ipv4.ip_unprivileged_port_start} of 25 or less).
 */
class DropInDistributionIT {
    private static final String SENDER = "alice@sender.dropin.test";
    private static final String CAPPED_DOMAIN = "capped.dropin.test";
    private static final String RETRY_DOMAIN = "retry.dropin.test";
    private static final String CAPPED_MX = "mx1.capped.dropin.test";
    private static final String RETRY_MX = "mx1.retry.dropin.test";
    private static final int CAPPED_MAILS = 30;
    private static final int MAX_CONNECTIONS = 2;
    private static final int MAX_MESSAGES_PER_CONNECTION = 5;
    private static final String TEMPORARY_FAILURE = "421 4.7.0 Try again later";
    private static final String DELIVERED_PATH = "var/mail/delivered/";
    private static final String TEST_RULE =
        "  <!-- Added by the drop-in check: the test domains' fake MX servers on loopback. -->\n"
        + "  <rule name=\"dropin\" mx=\"*.dropin.test\" maxConnections=\"" + MAX_CONNECTIONS + "\""
        + " maxMessagesPerConnection=\"" + MAX_MESSAGES_PER_CONNECTION + "\""
        + " connectTimeout=\"5s\" commandTimeout=\"10s\" dataTimeout=\"10s\" idleTimeout=\"1s\"/>\n";
    private static final Duration STARTUP = Duration.ofSeconds(90);
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final Pattern ATTRIBUTE_ENTRY =
        Pattern.compile("(\\w+)=AttributeValue\\{value=(.*?), serializer=\\w+\\}(?=, \\w+=AttributeValue|\\}$)");

    private static final Path PROJECT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    private static final Path PLUGIN_JAR = Path.of(System.getProperty("mxgovernor.pluginJar",
        PROJECT.resolve("target/mx-governor-0.1.0.jar").toString()));
    private static final Path DROPIN = Path.of(System.getProperty("mxgovernor.dropin.dir",
        PROJECT.resolve("target/dropin").toString()));

    private static final Map<String, byte[]> installedAsShipped = new HashMap<>();
    private static final AtomicBoolean temporaryFailureSent = new AtomicBoolean();
    private static LoopbackDnsServer dns;
    private static FakeMxServer cappedMx;
    private static FakeMxServer retryMx;
    private static Path home;
    private static JamesProcess james;
    private static int smtpPort;
    private static int jmxPort;
    private static WebAdmin webAdmin;
    private static int testRuleLine;
    private static List<String> cappedMessageIds;
    private static String retryMessageId;

    @BeforeAll
    static void installStartAndSend() throws Exception {
        startFakeNetwork();
        home = install();
        Map<String, Integer> ports = configureForTheTest();
        smtpPort = ports.get("smtpserver-global");
        jmxPort = ports.get("jmx");
        james = JamesProcess.start(home, List.of("-Djava.rmi.server.hostname=127.0.0.1"),
            DROPIN.resolve("james-console.log"));
        james.awaitPort(smtpPort, STARTUP);
        james.awaitPort(ports.get("webadmin"), STARTUP);
        awaitJmx();

        webAdmin = new WebAdmin(ports.get("webadmin"));
        webAdmin.createDomain("sender.dropin.test");
        webAdmin.createUser(SENDER, UUID.randomUUID().toString());

        List<String> recipients = new ArrayList<>();
        for (int i = 0; i < CAPPED_MAILS; i++) {
            recipients.add("user" + i + "@" + CAPPED_DOMAIN);
        }
        recipients.add("someone@" + RETRY_DOMAIN);
        List<String> sent = sendMails(recipients);
        cappedMessageIds = sent.subList(0, CAPPED_MAILS);
        retryMessageId = sent.get(CAPPED_MAILS);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (james != null) {
                boolean graceful = james.stop();
                assertThat(graceful).as("James (PID %d) ends on SIGTERM; console:%n%s", james.pid(),
                    james.consoleTail()).isTrue();
            }
        } finally {
            for (AutoCloseable server : new AutoCloseable[] {cappedMx, retryMx, dns}) {
                if (server != null) {
                    server.close();
                }
            }
        }
    }

    @Test
    void libFolderShouldHoldExactlyTheJarsTheManifestNames() throws IOException {
        String classPath;
        try (JarFile jar = new JarFile(home.resolve("james-server-memory-app.jar").toFile())) {
            classPath = jar.getManifest().getMainAttributes().getValue("Class-Path");
        }
        Set<String> named = Stream.of(classPath.trim().split("\\s+")).collect(Collectors.toCollection(TreeSet::new));
        Set<String> present;
        try (Stream<Path> files = Files.list(home.resolve("james-server-memory-app.lib"))) {
            present = files.map(file -> "james-server-memory-app.lib/" + file.getFileName())
                .collect(Collectors.toCollection(TreeSet::new));
        }

        assertThat(present).hasSizeGreaterThan(100).isEqualTo(named);
    }

    @Test
    void installedFilesShouldBeTheBuiltJarAndTheSamplesAsShipped() throws IOException {
        assertThat(installedAsShipped.get("extensions-jars/" + PLUGIN_JAR.getFileName()))
            .isEqualTo(Files.readAllBytes(PLUGIN_JAR));
        assertThat(installedAsShipped.get("conf/mailetcontainer.xml"))
            .isEqualTo(Files.readAllBytes(PROJECT.resolve("conf-samples/mailetcontainer.xml")));
        assertThat(installedAsShipped.get("conf/mx-rules.xml"))
            .isEqualTo(Files.readAllBytes(PROJECT.resolve("conf-samples/mx-rules.xml")));
        String rulesInUse = Files.readString(home.resolve("conf/mx-rules.xml"), StandardCharsets.UTF_8);
        assertThat(rulesInUse.replace(TEST_RULE, ""))
            .isEqualTo(Files.readString(PROJECT.resolve("conf-samples/mx-rules.xml"), StandardCharsets.UTF_8));
    }

    @Test
    void mailShouldReachTheMxExactlyOnceUnderTheRuleCaps() {
        await().atMost(DELIVERY).until(() -> cappedMx.messageCount() >= CAPPED_MAILS);
        await().atMost(DELIVERY).until(() -> cappedMx.openConnections() == 0);

        assertThat(cappedMx.messageIds()).containsExactlyInAnyOrderElementsOf(cappedMessageIds);
        // 30 mails arrive faster than one connection carries them: the cap is reached, never passed.
        assertThat(cappedMx.peakConnections()).isEqualTo(MAX_CONNECTIONS);
        assertThat(cappedMx.messagesPerClosedConnection())
            .allSatisfy(mails -> assertThat(mails).isBetween(1, MAX_MESSAGES_PER_CONNECTION))
            .satisfies(perConnection -> assertThat(perConnection.stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(CAPPED_MAILS));
        assertThat(dns.queries()).contains("MX " + CAPPED_DOMAIN + ".", "A " + CAPPED_MX + ".");
    }

    @Test
    void mailRefusedWith421ShouldBeDeferredThenDeliveredWithItsRecord() throws Exception {
        await().atMost(DELIVERY).until(() -> retryMx.messageIds().contains(retryMessageId));
        Map<String, String> record = await().atMost(DELIVERY)
            .until(() -> deliveredRecordTo(RETRY_DOMAIN), found -> !found.isEmpty());

        assertThat(temporaryFailureSent).isTrue();
        assertThat(retryMx.messageIds()).containsExactly(retryMessageId);
        assertThat(record)
            .containsEntry("status", "DELIVERED")
            .containsEntry("reason", "SMTP_TEMPORARY_FAILURE")
            .containsEntry("destination", RETRY_MX)
            .containsEntry("rule", "dropin")
            .containsEntry("smtpCode", "421")
            .containsEntry("enhancedCode", "4.7.0")
            .containsEntry("failedAttempts", "1")
            .containsEntry("localDeferrals", "0")
            .containsKeys("firstDeferredAt", "updatedAt");
        assertThat(record.get("reply")).contains("Try again later");
        assertThat(deliveredRecordTo(CAPPED_DOMAIN)).as("mails delivered at the first attempt carry no record")
            .isEmpty();
    }

    @Test
    void governorBeansShouldBeReadableOverJamesJmxPort() throws Exception {
        await().atMost(DELIVERY).until(() -> cappedMx.messageCount() + retryMx.messageCount() >= CAPPED_MAILS + 1);

        try (JMXConnector connector = connectJmx()) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            ObjectName governor = new ObjectName("io.github.mxgovernor:type=Governor");
            await().atMost(DELIVERY).until(() -> (Long) jmx.getAttribute(governor, "Delivered"),
                delivered -> delivered == CAPPED_MAILS + 1);
            assertThat(jmx.getAttribute(governor, "Bounced")).isEqualTo(0L);
            assertThat(counts((TabularData) jmx.getAttribute(governor, "DeferredByReason")))
                .containsEntry("SMTP_TEMPORARY_FAILURE", 1L);
            assertThat((String) jmx.getAttribute(governor, "RulesFile"))
                .endsWith("conf" + File.separator + "mx-rules.xml");

            ObjectName capped = new ObjectName("io.github.mxgovernor:type=Destination,name=" + CAPPED_MX);
            // Destination beans follow the governor's destinations on a housekeeping pass every few seconds.
            await().atMost(DELIVERY).until(() -> jmx.isRegistered(capped));
            assertThat(jmx.getAttribute(capped, "Rule")).isEqualTo("dropin");
            assertThat((String) jmx.getAttribute(capped, "RuleSource")).endsWith("mx-rules.xml:" + testRuleLine);
            assertThat(jmx.getAttribute(capped, "MaxConnections")).isEqualTo(MAX_CONNECTIONS);
            assertThat(jmx.getAttribute(capped, "MaxMessagesPerConnection")).isEqualTo(MAX_MESSAGES_PER_CONNECTION);
            assertThat(jmx.getAttribute(capped, "PeakConnections")).isEqualTo(MAX_CONNECTIONS);
            assertThat(jmx.getAttribute(capped, "Delivered")).isEqualTo((long) CAPPED_MAILS);
            assertThat(jmx.getAttribute(capped, "FlowControlState")).isEqualTo("NORMAL");

            CompositeData[] rows = (CompositeData[]) jmx.invoke(governor, "destinations", new Object[0],
                new String[0]);
            assertThat(rows).extracting(row -> row.get("destination") + " " + row.get("rule"))
                .contains(CAPPED_MX + " dropin", RETRY_MX + " dropin");
        }
    }

    private static void startFakeNetwork() throws IOException {
        Random random = new Random();
        IOException lastFailure = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            String block = "127." + (16 + random.nextInt(224)) + "." + random.nextInt(256) + ".";
            try {
                dns = new LoopbackDnsServer(InetAddress.getByName(block + "53"));
                cappedMx = FakeMxServer.builder(block + "25").port(25).hostName(CAPPED_MX)
                    .latency(Duration.ofMillis(200)).start();
                retryMx = FakeMxServer.builder(block + "26").port(25).hostName(RETRY_MX)
                    .replyPolicy(ReplyPolicy.at(SmtpStage.MAIL, command -> temporaryFailureSent.compareAndSet(false,
                        true), TEMPORARY_FAILURE))
                    .start();
                dns.mx(CAPPED_DOMAIN, CAPPED_MX).a(CAPPED_MX, cappedMx.address())
                    .mx(RETRY_DOMAIN, RETRY_MX).a(RETRY_MX, retryMx.address());
                return;
            } catch (IOException | UncheckedIOException e) {
                lastFailure = e instanceof IOException ? (IOException) e : ((UncheckedIOException) e).getCause();
                closeFakeNetwork();
            }
        }
        throw new IOException("the drop-in check binds UDP port 53 (DNS) and TCP port 25 (SMTP) on 127.x.y.z, "
            + "because James's dnsservice.xml takes DNS servers without a port and an MX record carries none: run it "
            + "as root, with CAP_NET_BIND_SERVICE, or with net.ipv4.ip_unprivileged_port_start at 25 or less",
            lastFailure);
    }

    private static void closeFakeNetwork() {
        try {
            for (AutoCloseable server : new AutoCloseable[] {cappedMx, retryMx, dns}) {
                if (server != null) {
                    server.close();
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot close the fake network", e);
        } finally {
            cappedMx = null;
            retryMx = null;
            dns = null;
        }
    }

    /** Runs the install script and keeps the installed plugin and samples as they were before any test edit. */
    private static Path install() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash",
            PROJECT.resolve("integration-tests/dropin/install-james.sh").toString(), DROPIN.toString(),
            PLUGIN_JAR.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(PROJECT.toFile()).redirectErrorStream(true)
            .redirectOutput(DROPIN.resolveSibling("dropin-install.log").toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("MVN", System.getProperty("mxgovernor.dropin.mvn", "mvn"));
        builder.environment().put("MVN_ARGS", System.getProperty("mxgovernor.dropin.mvnArgs", ""));
        Process process = builder.start();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException("install-james.sh did not end within 5 minutes");
        }
        String output = Files.readString(DROPIN.resolveSibling("dropin-install.log"), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IllegalStateException("install-james.sh failed (" + process.exitValue() + "):\n" + output);
        }
        Path installed = DROPIN.resolve("james-server-memory-app");
        for (String file : List.of("extensions-jars/" + PLUGIN_JAR.getFileName(), "conf/mailetcontainer.xml",
            "conf/mx-rules.xml")) {
            installedAsShipped.put(file, Files.readAllBytes(installed.resolve(file)));
        }
        return installed;
    }

    /**
     * The test's edits of the installed copy, each one needed to run on loopback in a test's time.
     *
     * @return the ports chosen, by server JMX name, plus {@code webadmin} and {@code jmx}
     */
    private static Map<String, Integer> configureForTheTest() throws IOException {
        Path conf = home.resolve("conf");
        Map<String, Integer> ports = new HashMap<>();
        Set<Integer> taken = new HashSet<>();
        // Every protocol server (SMTP, IMAP, POP3, ManageSieve; LMTP has no file in this distribution) on a free
        // port of 127.0.0.1 instead of every interface's well-known port.
        for (String file : List.of("smtpserver.xml", "imapserver.xml", "pop3server.xml", "managesieveserver.xml")) {
            ConfFile server = ConfFile.read(conf.resolve(file));
            server.rebind(jmxName -> {
                int port = freePort(taken);
                ports.put(jmxName, port);
                return "127.0.0.1:" + port;
            });
            server.save();
        }
        ports.put("webadmin", freePort(taken));
        ConfFile.read(conf.resolve("webadmin.properties"))
            .replace("\nport=8000\n", "\nport=" + ports.get("webadmin") + "\n")
            .replace("\nhost=localhost\n", "\nhost=127.0.0.1\n")
            .save();
        ports.put("jmx", freePort(taken));
        // jmx.address is 127.0.0.1 already; the RMI stub James hands out names 127.0.0.1 too (java.rmi.server.hostname
        // on James's command line), whatever the machine's host name resolves to.
        ConfFile.read(conf.resolve("jmx.properties"))
            .replace("\njmx.port=9999\n", "\njmx.port=" + ports.get("jmx") + "\n")
            .save();
        // JMAP listens on every interface (jmap.properties has a port, no address): off.
        ConfFile.read(conf.resolve("jmap.properties")).replace("\nenabled=true\n", "\nenabled=false\n").save();
        // MX and A lookups go to the loopback DNS server instead of the system's resolvers.
        ConfFile.read(conf.resolve("dnsservice.xml"))
            .replace("<autodiscover>true</autodiscover>", "<autodiscover>false</autodiscover>\n  <servers><server>"
                + dns.address().getHostAddress() + "</server></servers>")
            .save();
        // The log file inside the distribution folder instead of /logs, and the plugin's own INFO lines in it.
        ConfFile.read(conf.resolve("logback.xml"))
            .replace("<file>/logs/james.log</file>", "<file>logs/james.log</file>")
            .replace("<fileNamePattern>/logs/james.%i.log.tar.gz</fileNamePattern>",
                "<fileNamePattern>logs/james.%i.log.tar.gz</fileNamePattern>")
            .insertBefore("</configuration>", "        <logger name=\"io.github.mxgovernor\" level=\"INFO\" />\n")
            .save();
        // A copy of delivered mail, with its deferral record, in a repository the web admin shows; a retry delay a
        // test can wait for instead of the sample's 5 minutes.
        ConfFile.read(conf.resolve("mailetcontainer.xml"))
            .replace("<rules>file://conf/mx-rules.xml</rules>",
                "<rules>file://conf/mx-rules.xml</rules>\n                <onSuccess>delivered</onSuccess>")
            .setElement("delayTime", "2 seconds")
            .insertBefore("    </processors>", "        <processor state=\"delivered\" enableJmx=\"false\">\n"
                + "            <mailet match=\"All\" class=\"ToRepository\">\n"
                + "                <repositoryPath>memory://" + DELIVERED_PATH + "</repositoryPath>\n"
                + "            </mailet>\n"
                + "        </processor>\n\n")
            .save();
        // The sample rules as shipped, plus one rule with small caps for the test domains.
        ConfFile rules = ConfFile.read(conf.resolve("mx-rules.xml")).insertBefore("</mx-rules>", TEST_RULE);
        rules.save();
        String before = rules.text().substring(0, rules.text().indexOf(TEST_RULE));
        testRuleLine = (int) before.chars().filter(c -> c == '\n').count() + 2;
        return ports;
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

    private static void awaitJmx() throws InterruptedException {
        Instant deadline = Instant.now().plus(STARTUP);
        while (true) {
            try (JMXConnector connector = connectJmx()) {
                connector.getMBeanServerConnection().getMBeanCount();
                return;
            } catch (IOException | RuntimeException notYet) {
                if (!james.isAlive() || Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("no JMX on port " + jmxPort + ": " + notYet + "; James's console "
                        + "ends with:\n" + james.consoleTail(), notYet);
                }
                TimeUnit.MILLISECONDS.sleep(500);
            }
        }
    }

    /** Connects as the user of the {@code conf/jmxremote.password} James generated at its first start. */
    private static JMXConnector connectJmx() throws IOException {
        String[] userAndPassword = Files.readString(home.resolve("conf/jmxremote.password"), StandardCharsets.UTF_8)
            .trim().split("\\s+");
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
        return JMXConnectorFactory.connect(url, Map.of(JMXConnector.CREDENTIALS,
            new String[] {userAndPassword[0], userAndPassword[1]}));
    }

    /** Sends one mail per recipient over one SMTP connection to James; returns their Message-IDs in order. */
    private static List<String> sendMails(List<String> recipients) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("mail.smtp.localhost", "client.dropin.test");
        properties.setProperty("mail.smtp.connectiontimeout", "10000");
        properties.setProperty("mail.smtp.timeout", "30000");
        Session session = Session.getInstance(properties);
        String batch = UUID.randomUUID().toString();
        List<String> messageIds = new ArrayList<>();
        SMTPTransport transport = (SMTPTransport) session.getTransport("smtp");
        transport.connect("127.0.0.1", smtpPort, null, null);
        try {
            for (String recipient : recipients) {
                String messageId = "<" + batch + "." + messageIds.size() + "@sender.dropin.test>";
                String content = "From: <" + SENDER + ">\r\n"
                    + "To: <" + recipient + ">\r\n"
                    + "Subject: drop-in check " + messageIds.size() + "\r\n"
                    + "Message-ID: " + messageId + "\r\n"
                    + "MIME-Version: 1.0\r\n"
                    + "Content-Type: text/plain; charset=UTF-8\r\n"
                    + "\r\n"
                    + "Sent through James's SMTP port to a fake MX.\r\n";
                SMTPMessage message = new SMTPMessage(session,
                    new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
                message.setEnvelopeFrom(SENDER);
                transport.sendMessage(message, new InternetAddress[] {new InternetAddress(recipient, true)});
                messageIds.add(messageId);
            }
        } finally {
            transport.close();
        }
        return messageIds;
    }

    /**
     * The deferral record ({@code mxgovernor.deferral}) of the delivered copy of a mail to {@code domain}, as the web
     * admin shows it (each value's text), empty when there is none.
     */
    private static Map<String, String> deliveredRecordTo(String domain) throws Exception {
        for (JsonNode mail : webAdmin.repositoryMails(DELIVERED_PATH)) {
            boolean toDomain = false;
            for (JsonNode recipient : mail.path("recipients")) {
                toDomain |= recipient.asText().endsWith("@" + domain);
            }
            JsonNode record = mail.path("attributes").path("mxgovernor.deferral");
            if (toDomain && record.isTextual()) {
                return attributeMap(record.asText());
            }
        }
        return Map.of();
    }

    /** Reads the text of a map attribute value ({@code {key=AttributeValue{value=..., serializer=...}, ...}}). */
    private static Map<String, String> attributeMap(String text) {
        Map<String, String> entries = new HashMap<>();
        Matcher matcher = ATTRIBUTE_ENTRY.matcher(text);
        while (matcher.find()) {
            entries.put(matcher.group(1), matcher.group(2));
        }
        return entries;
    }

    private static Map<String, Long> counts(TabularData table) {
        Map<String, Long> counts = new HashMap<>();
        for (Object row : table.values()) {
            CompositeData entry = (CompositeData) row;
            counts.put((String) entry.get("key"), (Long) entry.get("value"));
        }
        return counts;
    }
}

package io.github.mxgovernor.it.dropin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.LoopbackDnsServer;
import io.github.mxgovernor.it.ReplyPolicy;
import io.github.mxgovernor.it.SmtpStage;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The drop-in check: mx-governor installed into the Apache James 3.8.1 memory distribution from Maven Central the way
 * README.md "Install" tells operators, James started as a separate process, mail sent through its SMTP port.
 *
 * <p>{@code integration-tests/dropin/install-james.sh} builds the distribution (the zip, the lib folder its jar's
 * manifest names, a keytool keystore) and installs the plugin JAR and both {@code conf-samples/} files. This test
 * then changes only what a test must, in the copy under {@code target/dropin}: the loopback edits of
 * {@link JamesInstallation} (every server on a free port of 127.0.0.1, JMAP off, DNS pointed at a loopback DNS
 * server, the log file under the folder), a rule for the test domains appended to the sample rules, a copy of
 * delivered mail kept in a repository and a short retry delay. It checks delivery to fake MX servers under the rule's caps, a deferral record, and the
 * governor's MXBeans over James's own JMX port, then stops James by its PID.
 *
 * <p>The fake DNS and MX servers bind ports 53 and 25 of a random 127.x.y.0/24 block ({@link LoopbackBlock}): the check
 * needs the right to bind privileged ports.
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

    private static final AtomicBoolean temporaryFailureSent = new AtomicBoolean();
    private static LoopbackDnsServer dns;
    private static FakeMxServer cappedMx;
    private static FakeMxServer retryMx;
    private static JamesInstallation installation;
    private static Path home;
    private static JamesProcess james;
    private static WebAdmin webAdmin;
    private static int testRuleLine;
    private static List<String> cappedMessageIds;
    private static String retryMessageId;

    @BeforeAll
    static void installStartAndSend() throws Exception {
        startFakeNetwork();
        installation = JamesInstallation.install(PROJECT, DROPIN, PLUGIN_JAR);
        home = installation.home();
        installation.configureForLoopback(dns.address(), new HashSet<>());
        configureForTheTest();
        james = installation.start(DROPIN.resolve("james-console.log"), STARTUP);

        webAdmin = new WebAdmin(installation.port("webadmin"));
        webAdmin.createDomain("sender.dropin.test");
        webAdmin.createUser(SENDER, UUID.randomUUID().toString());

        List<String> recipients = new ArrayList<>();
        for (int i = 0; i < CAPPED_MAILS; i++) {
            recipients.add("user" + i + "@" + CAPPED_DOMAIN);
        }
        recipients.add("someone@" + RETRY_DOMAIN);
        List<String> sent = SmtpSubmission.send(installation.smtpPort(), SENDER, recipients);
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
        assertThat(installation.pluginAsShipped()).isEqualTo(Files.readAllBytes(PLUGIN_JAR));
        assertThat(installation.asShipped("conf/mailetcontainer.xml"))
            .isEqualTo(Files.readAllBytes(PROJECT.resolve("conf-samples/mailetcontainer.xml")));
        assertThat(installation.asShipped("conf/mx-rules.xml"))
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

        try (JMXConnector connector = installation.connectJmx()) {
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

    private static void startFakeNetwork() throws IOException, InterruptedException {
        LoopbackBlock.start(block -> {
            dns = new LoopbackDnsServer(InetAddress.getByName(block + "53"));
            cappedMx = FakeMxServer.builder(block + "25").port(25).hostName(CAPPED_MX)
                .latency(Duration.ofMillis(200)).start();
            retryMx = FakeMxServer.builder(block + "26").port(25).hostName(RETRY_MX)
                .replyPolicy(ReplyPolicy.at(SmtpStage.MAIL, command -> temporaryFailureSent.compareAndSet(false,
                    true), TEMPORARY_FAILURE))
                .start();
            dns.mx(CAPPED_DOMAIN, CAPPED_MX).a(CAPPED_MX, cappedMx.address())
                .mx(RETRY_DOMAIN, RETRY_MX).a(RETRY_MX, retryMx.address());
        }, DropInDistributionIT::closeFakeNetwork);
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

    /**
     * The edits of the installed copy beyond {@link JamesInstallation#configureForLoopback}, each one needed to run in
     * a test's time.
     */
    private static void configureForTheTest() throws IOException {
        Path conf = home.resolve("conf");
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

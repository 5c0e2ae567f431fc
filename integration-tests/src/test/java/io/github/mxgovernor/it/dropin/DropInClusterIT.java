package io.github.mxgovernor.it.dropin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.LoopbackDnsServer;
import io.github.mxgovernor.testing.RedisServer;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The drop-in check on two nodes: the James 3.8.1 memory distribution installed twice with mx-governor (two folders
 * under {@code target/dropin-cluster}, the same install script and loopback edits as {@link DropInDistributionIT},
 * distinct ports), both governors sharing one private Redis server ({@link RedisServer}: Debian's
 * {@code redis-server} on a free port of 127.0.0.1, stopped by its PID), and a rule capping the fake MX at
 * {@value #CLUSTER_CAP} connections for the whole cluster. {@value #MAILS} mails are sent, half through each node's
 * SMTP port, to one fake MX that counts the connections open at once: it never sees more than the cap, every mail
 * arrives exactly once, and both nodes' Governor beans say the store is up.
 *
 * <p>Each node alone would open {@value #CLUSTER_CAP} connections: without the shared store the MX sees up to twice
 * the cap. Like the one-node check it binds ports 53 and 25 of a random 127.x.y.0/24 block ({@link LoopbackBlock}).
 */
class DropInClusterIT {
    private static final String SENDER_DOMAIN = "sender.cluster.dropin.test";
    private static final String SENDER = "alice@" + SENDER_DOMAIN;
    private static final String DOMAIN = "shared.dropin.test";
    private static final String MX = "mx1.shared.dropin.test";
    private static final int NODES = 2;
    private static final int MAILS = 2000;
    private static final int CLUSTER_CAP = 4;
    private static final int MAILS_PER_CONNECTION = 50;
    /** Per reply: slow enough that each node alone would want every connection the cap allows. */
    private static final Duration MX_LATENCY = Duration.ofMillis(10);
    private static final String TEST_RULE =
        "  <!-- Added by the two-node drop-in check: one cap for both nodes. -->\n"
        + "  <rule name=\"cluster-dropin\" mx=\"*.dropin.test\" maxConnections=\"" + CLUSTER_CAP + "\""
        + " maxMessagesPerConnection=\"" + MAILS_PER_CONNECTION + "\""
        + " connectTimeout=\"5s\" commandTimeout=\"10s\" dataTimeout=\"10s\" idleTimeout=\"1s\"/>\n";
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final Duration DELIVERY = Duration.ofSeconds(120);

    private static final Path PROJECT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    private static final Path PLUGIN_JAR = Path.of(System.getProperty("mxgovernor.pluginJar",
        PROJECT.resolve("target/mx-governor-0.1.0.jar").toString()));
    private static final Path DIRECTORY = Path.of(System.getProperty("mxgovernor.dropin.dir",
        PROJECT.resolve("target/dropin").toString())).resolveSibling("dropin-cluster");

    private static RedisServer redis;
    private static LoopbackDnsServer dns;
    private static FakeMxServer mx;
    private static final List<JamesInstallation> installations = new ArrayList<>();
    private static final List<JamesProcess> nodes = new ArrayList<>();
    private static final List<List<String>> sentThrough = new ArrayList<>();

    @BeforeAll
    static void installStartAndSend() throws Exception {
        redis = RedisServer.start(DIRECTORY.resolve("redis"));
        startFakeNetwork();
        Set<Integer> taken = new HashSet<>();
        taken.add(redis.port());
        for (int node = 1; node <= NODES; node++) {
            JamesInstallation installation = JamesInstallation.install(PROJECT, DIRECTORY.resolve("node" + node),
                PLUGIN_JAR);
            installation.configureForLoopback(dns.address(), taken);
            configureForTheTest(installation, "node" + node);
            installations.add(installation);
        }
        // Both start at once: the check's time is one James start, not two.
        for (int node = 0; node < NODES; node++) {
            nodes.add(installations.get(node).launch(DIRECTORY.resolve("node" + (node + 1) + "-console.log")));
        }
        for (int node = 0; node < NODES; node++) {
            installations.get(node).awaitStarted(nodes.get(node), STARTUP);
            WebAdmin webAdmin = new WebAdmin(installations.get(node).port("webadmin"));
            webAdmin.createDomain(SENDER_DOMAIN);
            webAdmin.createUser(SENDER, UUID.randomUUID().toString());
        }

        List<CompletableFuture<List<String>>> sending = new ArrayList<>();
        for (int node = 0; node < NODES; node++) {
            List<String> recipients = new ArrayList<>();
            for (int i = node; i < MAILS; i += NODES) {
                recipients.add("user" + i + "@" + DOMAIN);
            }
            int smtpPort = installations.get(node).smtpPort();
            sending.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return SmtpSubmission.send(smtpPort, SENDER, recipients);
                } catch (Exception e) {
                    throw new CompletionException("sending through port " + smtpPort, e);
                }
            }));
        }
        for (CompletableFuture<List<String>> sent : sending) {
            sentThrough.add(sent.join());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        List<String> notGraceful = new ArrayList<>();
        try {
            // SIGTERM to both at once, then wait for each: James takes seconds to close its servers.
            List<CompletableFuture<Boolean>> stopping = new ArrayList<>();
            for (JamesProcess node : nodes) {
                stopping.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return node.stop();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }));
            }
            for (int node = 0; node < nodes.size(); node++) {
                if (!stopping.get(node).join()) {
                    notGraceful.add("James (PID " + nodes.get(node).pid() + ") did not end on SIGTERM; console:\n"
                        + nodes.get(node).consoleTail());
                }
            }
        } finally {
            for (AutoCloseable server : new AutoCloseable[] {mx, dns, redis}) {
                if (server != null) {
                    server.close();
                }
            }
        }
        assertThat(notGraceful).isEmpty();
    }

    @Test
    void everyMailShouldReachTheMxOnceAndTheSharedCapHold() {
        await().atMost(DELIVERY).until(() -> mx.messageCount() >= MAILS);
        await().atMost(DELIVERY).until(() -> mx.openConnections() == 0);

        List<String> sent = new ArrayList<>();
        sentThrough.forEach(sent::addAll);
        assertThat(mx.messageIds()).hasSize(MAILS).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(mx.peakConnections()).as("connections open at once at the MX, both nodes together")
            .isLessThanOrEqualTo(CLUSTER_CAP);
        assertThat(mx.messagesPerClosedConnection())
            .allSatisfy(mails -> assertThat(mails).isBetween(1, MAILS_PER_CONNECTION));
    }

    @Test
    void bothGovernorsShouldSayTheStoreIsUpAndTheDestinationClusterWide() throws Exception {
        await().atMost(DELIVERY).until(() -> mx.messageCount() >= MAILS);
        ObjectName governor = new ObjectName("io.github.mxgovernor:type=Governor");
        ObjectName destination = new ObjectName("io.github.mxgovernor:type=Destination,name=" + MX);
        for (int node = 0; node < NODES; node++) {
            try (JMXConnector connector = installations.get(node).connectJmx()) {
                MBeanServerConnection jmx = connector.getMBeanServerConnection();
                int expected = sentThrough.get(node).size();
                // Each node delivers what it accepted (the memory distribution's queue is the node's own).
                await().atMost(DELIVERY).until(() -> (Long) jmx.getAttribute(governor, "Delivered"),
                    delivered -> delivered == expected);
                assertThat(jmx.getAttribute(governor, "Bounced")).isEqualTo(0L);
                // UP now; a loaded machine may have made a store call time out for a moment (DOWN, then UP again).
                await().atMost(DELIVERY).until(() -> jmx.getAttribute(governor, "StoreState"), "UP"::equals);
                assertThat(jmx.getAttribute(governor, "StoreNode")).isEqualTo("node" + (node + 1));
                assertThat((String) jmx.getAttribute(governor, "StoreAddress")).contains(":" + redis.port());
                assertThat((Long) jmx.getAttribute(governor, "StoreCommands")).isPositive();

                // Destination beans follow the governor's destinations on a housekeeping pass every few seconds.
                await().atMost(DELIVERY).until(() -> jmx.isRegistered(destination));
                assertThat(jmx.getAttribute(destination, "ClusterScope")).isEqualTo("cluster");
                assertThat(jmx.getAttribute(destination, "MaxConnections")).isEqualTo(CLUSTER_CAP);
                assertThat((Integer) jmx.getAttribute(destination, "PeakConnections")).isBetween(1, CLUSTER_CAP);
                await().atMost(DELIVERY).until(() -> (Integer) jmx.getAttribute(destination, "ClusterConnections"),
                    connections -> connections >= 0 && connections <= CLUSTER_CAP);
            }
        }
    }

    private static void startFakeNetwork() throws Exception {
        LoopbackBlock.start(block -> {
            dns = new LoopbackDnsServer(InetAddress.getByName(block + "53"));
            mx = FakeMxServer.builder(block + "25").port(25).hostName(MX).latency(MX_LATENCY).start();
            dns.mx(DOMAIN, MX).a(MX, mx.address());
        }, DropInClusterIT::closeFakeNetwork);
    }

    private static void closeFakeNetwork() {
        try {
            for (AutoCloseable server : new AutoCloseable[] {mx, dns}) {
                if (server != null) {
                    server.close();
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot close the fake network", e);
        } finally {
            mx = null;
            dns = null;
        }
    }

    /**
     * The node's mailet on the shared store with a name of its own (both run on one host, whose name is the default)
     * and a short retry delay; the test rule beside the samples', cluster-wide as every rule is by default once a
     * store is configured. The lanes keep their defaults: a node whose connections turn over first must not keep the
     * whole cap while the other waits, or the waiting node would give its surplus return slots at its own slow pace,
     * minutes away (seen before the leases were shared fairly: up to 19 minutes for 792 mails).
     */
    private static void configureForTheTest(JamesInstallation installation, String nodeName) throws Exception {
        ConfFile.read(installation.conf("mailetcontainer.xml"))
            .replace("<rules>file://conf/mx-rules.xml</rules>", "<rules>file://conf/mx-rules.xml</rules>\n"
                + "                <store>" + redis.hostAndPort() + "</store>\n"
                + "                <storeNodes>" + NODES + "</storeNodes>\n"
                + "                <storeNodeName>" + nodeName + "</storeNodeName>")
            .setElement("delayTime", "2 seconds")
            .save();
        ConfFile.read(installation.conf("mx-rules.xml")).insertBefore("</mx-rules>", TEST_RULE).save();
    }
}

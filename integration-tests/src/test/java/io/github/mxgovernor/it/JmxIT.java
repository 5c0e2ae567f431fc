package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.james.DeferralAttributes;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.rmi.NoSuchObjectException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;

import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operators' JMX view in a real (embedded) James: a JMX connector server on loopback exports the platform MBean
 * server, as James's own {@code jmx.properties} connector does, and the test reads and drives the beans as a remote
 * client with no mx-governor class would (plain attribute names, open types, {@code invoke}). One James serves every
 * test; each test has its own domains and fake MX servers.
 */
class JmxIT {
    private static final String DELIVERED = "memory://var/mail/delivered/";
    private static final Duration LONG = Duration.ofSeconds(60);
    private static final String[] MINUTES_SIGNATURE = {String.class.getName(), long.class.getName(),
        String.class.getName()};
    private static final String[] DESTINATION_SIGNATURE = {String.class.getName()};

    static {
        // RMI stubs carry this host; the connector server below listens on loopback only.
        System.setProperty("java.rmi.server.hostname", "127.0.0.1");
    }

    @TempDir
    static Path temp;

    private static final List<FakeMxServer> servers = new ArrayList<>();
    private static final Gate flowGate = new Gate();
    private static final Gate cappedGate = new Gate();
    private static FakeMxServer flowing;
    private static FakeMxServer held;
    private static FakeMxServer capped;
    private static FakeMxServer steered;
    private static Path rules;
    private static EmbeddedJames james;
    private static Registry registry;
    private static JMXConnectorServer connectorServer;
    private static JMXConnector connector;
    private static MBeanServerConnection jmx;
    private static ObjectName governor;

    @BeforeAll
    static void start() throws Exception {
        flowing = server(FakeMxServer.builder("127.0.0.51").replyPolicy(flowGate));
        held = server(FakeMxServer.builder("127.0.0.52"));
        capped = server(FakeMxServer.builder("127.0.0.53").replyPolicy(cappedGate));
        steered = server(FakeMxServer.builder("127.0.0.54"));

        rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, rules("4"));
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("delayTime", "300");
        parameters.put("maxRetries", "3");
        parameters.put("maxLaneWait", "2s");
        parameters.put("localDeferralDelay", "500ms");
        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("flow.test", "mx1.flow.test", flowing)
            .mx("held.test", "mx1.held.test", held)
            .mx("capped.test", "mx1.capped.test", capped)
            .mx("steered.test", "mx1.steered.test", steered)
            .start();

        RMIServerSocketFactory loopback = port -> new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        int registryPort = freeLoopbackPort();
        registry = LocateRegistry.createRegistry(registryPort, null, loopback);
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1/jndi/rmi://127.0.0.1:" + registryPort
            + "/jmxrmi");
        connectorServer = JMXConnectorServerFactory.newJMXConnectorServer(url,
            Map.of(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, loopback),
            ManagementFactory.getPlatformMBeanServer());
        connectorServer.start();
        connector = JMXConnectorFactory.connect(url);
        jmx = connector.getMBeanServerConnection();
        governor = new ObjectName("io.github.mxgovernor:type=Governor");
    }

    @AfterAll
    static void stop() throws Exception {
        flowGate.open();
        cappedGate.open();
        if (connector != null) {
            connector.close();
        }
        if (connectorServer != null) {
            connectorServer.stop();
        }
        if (registry != null) {
            unexport(registry);
        }
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
    }

    @Test
    void beansShouldShowMailWhileItFlows() throws Exception {
        flowGate.close();
        james.sendMails(6, EmbeddedJames.SENDER, i -> List.of("user" + i + "@flow.test"));
        await().atMost(LONG).until(() -> flowing.openConnections() == 2);
        ObjectName destination = new ObjectName("io.github.mxgovernor:type=Destination,name=mx1.flow.test");
        await().atMost(LONG).until(() -> jmx.isRegistered(destination));

        assertThat(jmx.getAttribute(destination, "Name")).isEqualTo("mx1.flow.test");
        assertThat(jmx.getAttribute(destination, "Rule")).isEqualTo("flow");
        assertThat((String) jmx.getAttribute(destination, "RuleSource")).endsWith("mx-rules.xml:4");
        assertThat(jmx.getAttribute(destination, "MaxConnections")).isEqualTo(2);
        assertThat(jmx.getAttribute(destination, "ConnectionsAllowedNow")).isEqualTo(2);
        assertThat(jmx.getAttribute(destination, "ActiveConnections")).isEqualTo(2);
        assertThat((Long) jmx.getAttribute(destination, "MessagesLastHour")).isGreaterThanOrEqualTo(2);
        assertThat(jmx.getAttribute(destination, "FlowControlState")).isEqualTo("NORMAL");
        assertThat(jmx.getAttribute(destination, "Delivered")).isEqualTo(0L);
        assertThat((Integer) jmx.getAttribute(governor, "ActiveConnections")).isGreaterThanOrEqualTo(2);
        assertThat((Integer) jmx.getAttribute(governor, "DestinationsTracked")).isPositive();
        assertThat((String) jmx.getAttribute(governor, "RulesFile")).isEqualTo(rules.toString());
        assertThat((String) jmx.getAttribute(governor, "RulesLoadedAt")).isNotEmpty();
        CompositeData[] dequeue = (CompositeData[]) jmx.getAttribute(governor, "DequeueStates");
        assertThat(dequeue).hasSize(1);
        assertThat(dequeue[0].get("queue")).isEqualTo(EmbeddedJames.OUTGOING_QUEUE);
        assertThat(dequeue[0].get("state")).isEqualTo("RUNNING");
        assertThat((Integer) dequeue[0].get("inFlight")).isGreaterThanOrEqualTo(2);
        assertThat(jmx.getAttribute(governor, "DequeueErrors")).isEqualTo(0L);
        CompositeData row = row("mx1.flow.test");
        assertThat(row.get("rule")).isEqualTo("flow");
        assertThat(row.get("activeConnections")).isEqualTo(2);

        flowGate.open();

        await().atMost(LONG).until(() -> flowing.messageCount() == 6);
        await().atMost(LONG).until(() -> jmx.getAttribute(destination, "Delivered").equals(6L));
        assertThat(flowing.peakConnections()).isEqualTo(2);
        assertThat((String) jmx.getAttribute(destination, "LastReply")).startsWith("250 ");
        assertThat((Long) jmx.getAttribute(governor, "Delivered")).isGreaterThanOrEqualTo(6);
        TabularData tls = (TabularData) jmx.getAttribute(destination, "TlsOutcomes");
        assertThat(tls.keySet()).hasSize(5);
    }

    @Test
    void suspendShouldDeferMailWithoutTouchingTheMxAndResumeShouldDeliverIt() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "first@held.test");
        await().atMost(LONG).until(() -> held.messageCount() == 1);
        long suspendedBefore = deferred("SUSPENDED");

        String status = (String) jmx.invoke(governor, "suspend",
            new Object[] {"mx1.held.test", 30L, "complaint from the campaign's list owner"}, MINUTES_SIGNATURE);

        assertThat(status).contains("SUSPENDED").contains("an operator suspended: complaint from the campaign's");
        int connectionsBefore = held.totalConnections();
        String messageId = james.sendMail(EmbeddedJames.SENDER, "second@held.test");
        await().atMost(LONG).until(() -> deferred("SUSPENDED") > suspendedBefore);
        assertThat(held.messageCount()).isEqualTo(1);
        assertThat(held.totalConnections()).isEqualTo(connectionsBefore);
        ObjectName destination = new ObjectName("io.github.mxgovernor:type=Destination,name=mx1.held.test");
        await().atMost(LONG).until(() -> jmx.isRegistered(destination));
        assertThat(jmx.getAttribute(destination, "FlowControlState")).isEqualTo("SUSPENDED");
        assertThat(jmx.getAttribute(destination, "FlowControlOrigin")).isEqualTo("OPERATOR");
        assertThat((String) jmx.getAttribute(destination, "FlowControlUntil")).isNotEmpty();
        assertThat(row("mx1.held.test").get("state")).isEqualTo("SUSPENDED");

        status = (String) jmx.invoke(governor, "resume", new Object[] {"mx1.held.test"}, DESTINATION_SIGNATURE);
        james.flushQueue(EmbeddedJames.OUTGOING_QUEUE);

        assertThat(status).contains("NORMAL");
        await().atMost(LONG).until(() -> held.messageIds().contains(messageId));
        DeferralRecord record = await().atMost(LONG).until(() -> deliveredRecord("second@held.test"),
            Optional::isPresent).get();
        assertThat(record.reason()).isEqualTo(DeferralReason.SUSPENDED);
        assertThat(record.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
        assertThat(record.latest().destination()).isEqualTo("mx1.held.test");
        assertThat(record.latest().message()).startsWith("Messages queued (destination suspended)")
            .contains("complaint from the campaign's list owner");
        assertThat(record.failedAttempts()).isZero();
        assertThat(jmx.getAttribute(destination, "FlowControlState")).isEqualTo("NORMAL");
    }

    @Test
    void reloadRulesShouldKeepTheRulesInForceOnABadFileAndEnforceTheNewCapsOfAGoodOne() throws Exception {
        String loadedAt = (String) jmx.getAttribute(governor, "RulesLoadedAt");
        Files.writeString(rules, rules("-3"));

        assertThatThrownBy(() -> jmx.invoke(governor, "reloadRules", new Object[0], new String[0]))
            .isInstanceOf(RuntimeMBeanException.class)
            .cause().isInstanceOf(IllegalStateException.class)
            .hasMessageStartingWith("MX rules not reloaded, the rules in force are unchanged: " + rules
                + ":5: rule 'capped', field 'maxConnections': ");
        assertThat(jmx.getAttribute(governor, "RulesLoadedAt")).isEqualTo(loadedAt);

        long quotaDeferrals = deferred("CONNECTION_QUOTA_REACHED");
        cappedGate.close();
        james.sendMails(8, EmbeddedJames.SENDER, i -> List.of("old" + i + "@capped.test"));
        await().atMost(LONG).until(() -> capped.openConnections() == 4);
        await().atMost(LONG).until(() -> deferred("CONNECTION_QUOTA_REACHED") > quotaDeferrals);
        cappedGate.open();
        await().atMost(LONG).until(() -> capped.messageCount() == 8);
        assertThat(capped.peakConnections()).isEqualTo(4);

        Files.writeString(rules, rules("1"));
        String summary = (String) jmx.invoke(governor, "reloadRules", new Object[0], new String[0]);

        assertThat(summary).startsWith("Reloaded " + rules + " (3 rules and the default)");
        assertThat(jmx.getAttribute(governor, "RulesLoadedAt")).isNotEqualTo(loadedAt);
        assertThat(row("mx1.capped.test").get("maxConnections")).isEqualTo(1);
        await().atMost(LONG).until(() -> capped.openConnections() == 0);
        capped.resetStatistics();
        long quotaDeferralsAfter = deferred("CONNECTION_QUOTA_REACHED");
        cappedGate.close();
        james.sendMails(4, EmbeddedJames.SENDER, i -> List.of("new" + i + "@capped.test"));
        await().atMost(LONG).until(() -> capped.openConnections() == 1);
        await().atMost(LONG).until(() -> deferred("CONNECTION_QUOTA_REACHED") > quotaDeferralsAfter);
        assertThat(capped.openConnections()).isEqualTo(1);
        cappedGate.open();
        await().atMost(LONG).until(() -> capped.messageCount() == 4);
        assertThat(capped.peakConnections()).isEqualTo(1);
    }

    @Test
    void backoffCancelAndResetShouldSteerTheDestination() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "someone@steered.test");
        await().atMost(LONG).until(() -> steered.messageCount() == 1);

        String status = (String) jmx.invoke(governor, "backoff", new Object[] {"mx1.steered.test", 10L, "slow down"},
            MINUTES_SIGNATURE);

        assertThat(status).contains("BACKOFF").contains("an operator backed off: slow down");
        assertThat(row("mx1.steered.test").get("connectionsAllowedNow")).isEqualTo(1);
        status = (String) jmx.invoke(governor, "cancelAutomaticFlowControl", new Object[] {"mx1.steered.test"},
            DESTINATION_SIGNATURE);
        assertThat(status).contains("BACKOFF");
        status = (String) jmx.invoke(governor, "resetFlowControl", new Object[] {"mx1.steered.test"},
            DESTINATION_SIGNATURE);
        assertThat(status).contains("NORMAL").contains("an operator reset: over JMX");
        assertThat(row("mx1.steered.test").get("connectionsAllowedNow")).isEqualTo(4);
    }

    @Test
    void operationsWithBadArgumentsShouldFailClearlyAndChangeNothing() throws Exception {
        james.sendMail(EmbeddedJames.SENDER, "someone@steered.test");
        await().atMost(LONG).until(() -> row("mx1.steered.test") != null);
        Object stateBefore = row("mx1.steered.test").get("cause");

        assertRejected(() -> jmx.invoke(governor, "suspend", new Object[] {"mx1.nowhere.test", 30L, "complaint"},
            MINUTES_SIGNATURE))
            .hasMessage("no destination named 'mx1.nowhere.test'; a destination exists once mail was routed to it"
                + " (names are MX host names, rule/host, or shared:rule; see destinations())");
        assertRejected(() -> jmx.invoke(governor, "suspend", new Object[] {"mx1.steered.test", -5L, "complaint"},
            MINUTES_SIGNATURE))
            .hasMessage("minutes must be from 1 to 10080 (a week), was -5");
        assertRejected(() -> jmx.invoke(governor, "backoff", new Object[] {"mx1.steered.test", 30L, " "},
            MINUTES_SIGNATURE))
            .hasMessageStartingWith("reason must not be blank");
        assertRejected(() -> jmx.invoke(governor, "resume", new Object[] {"mx1.nowhere.test"},
            DESTINATION_SIGNATURE))
            .hasMessageStartingWith("no destination named 'mx1.nowhere.test'");
        assertRejected(() -> jmx.invoke(governor, "resetFlowControl", new Object[] {""}, DESTINATION_SIGNATURE))
            .hasMessageStartingWith("destination must be given");

        CompositeData after = row("mx1.steered.test");
        assertThat(after.get("state")).isEqualTo("NORMAL");
        assertThat(after.get("cause")).isEqualTo(stateBefore);
    }

    private static String rules(String cappedConnections) {
        return String.join("\n",
            "<mx-rules>",
            "  <default maxConnections=\"4\" maxMessagesPerConnection=\"20\" connectTimeout=\"2s\"",
            "           commandTimeout=\"2s\" dataTimeout=\"5s\" idleTimeout=\"1s\"/>",
            "  <rule name=\"flow\" mx=\"*.flow.test\" maxConnections=\"2\" dataTimeout=\"60s\"/>",
            "  <rule name=\"capped\" mx=\"*.capped.test\" maxConnections=\"" + cappedConnections + "\""
                + " maxMessagesPerConnection=\"2\" dataTimeout=\"60s\"/>",
            "  <rule name=\"held\" mx=\"*.held.test\" maxConnections=\"4\"/>",
            "</mx-rules>");
    }

    /** Recipients deferred for this reason so far, as the Governor bean counts them. */
    private static long deferred(String reason) throws Exception {
        TabularData byReason = (TabularData) jmx.getAttribute(governor, "DeferredByReason");
        return (Long) byReason.get(new Object[] {reason}).get("value");
    }

    /** The destinations() row of a destination, or null. */
    private static CompositeData row(String destination) throws Exception {
        CompositeData[] rows = (CompositeData[]) jmx.invoke(governor, "destinations", new Object[0], new String[0]);
        return Arrays.stream(rows).filter(row -> row.get("destination").equals(destination)).findFirst().orElse(null);
    }

    private static Optional<DeferralRecord> deliveredRecord(String recipient) throws Exception {
        List<DeferralRecord> records = james.readMails(DELIVERED, EmbeddedJames.recipient(recipient),
            DeferralAttributes::read);
        return records.isEmpty() ? Optional.empty() : Optional.of(records.get(records.size() - 1));
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(
            ThrowableAssert.ThrowingCallable call) {
        return assertThatThrownBy(call).isInstanceOf(RuntimeMBeanException.class)
            .cause().isInstanceOf(IllegalArgumentException.class);
    }

    private static FakeMxServer server(FakeMxServer.Builder builder) {
        FakeMxServer server = builder.start();
        servers.add(server);
        return server;
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    private static void unexport(Registry registry) {
        try {
            UnicastRemoteObject.unexportObject(registry, true);
        } catch (NoSuchObjectException e) {
            // already gone
        }
    }

    /** Holds every accepted message's final reply until opened, so that mail stays in flight while a test looks. */
    private static final class Gate implements ReplyPolicy {
        private volatile CountDownLatch latch = new CountDownLatch(0);

        void close() {
            latch = new CountDownLatch(1);
        }

        void open() {
            latch.countDown();
        }

        @Override
        public String replyTo(ClientCommand command) {
            if (command.stage() == SmtpStage.END_OF_DATA) {
                try {
                    latch.await(LONG.toSeconds(), TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return null;
        }
    }
}

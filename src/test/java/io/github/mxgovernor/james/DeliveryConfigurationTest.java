package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.TestPki;
import io.github.mxgovernor.tls.TlsMode;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import javax.mail.MessagingException;

import org.apache.james.filesystem.api.FileSystem;
import org.apache.mailet.ProcessingState;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The governed mailet's parameters, read alone: every bad value named, every default declared once. */
class DeliveryConfigurationTest {
    @TempDir
    Path temp;

    @Test
    void defaultsShouldBeRemoteDeliverysAndOurs() throws Exception {
        DeliveryConfiguration configuration = read(Map.of());

        assertThat(configuration.outgoingQueue()).isEqualTo("outgoing");
        assertThat(configuration.maxInFlight()).isEqualTo(512);
        assertThat(configuration.engineSettings().laneCapacity()).isEqualTo(128);
        assertThat(configuration.engineSettings().lookupThreads()).isEqualTo(128);
        assertThat(configuration.maxAge()).isEqualTo(Duration.ofDays(5));
        assertThat(configuration.shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
        assertThat(configuration.maxDnsProblemRetries()).isZero();
        assertThat(configuration.sendPartial()).isFalse();
        assertThat(configuration.loadBalancing()).isTrue();
        assertThat(configuration.mtaSts()).isTrue();
        assertThat(configuration.mtaStsTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(configuration.tls().fallbackMemory()).isEqualTo(Duration.ofHours(1));
        assertThat(configuration.rulesFile()).isEmpty();
        assertThat(configuration.bounceProcessor()).isEmpty();
        assertThat(configuration.onSuccess()).isEmpty();
        assertThat(configuration.engineSettings().heloName()).isEqualTo("james.local");
    }

    @Test
    void shutdownGraceShouldBeReadAsADuration() throws Exception {
        assertThat(read(Map.of("shutdownGrace", "2m")).shutdownGrace()).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> read(Map.of("shutdownGrace", "30")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter shutdownGrace: needs a unit (ms, s, m, h or d), such as '30s', was"
                + " '30'");
        assertThatThrownBy(() -> read(Map.of("shutdownGrace", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter shutdownGrace: expected a positive duration such as 500ms, 30s, 5m,"
                + " 2h or 5d, was '0s'");
    }

    @Test
    void lookupThreadsShouldBeReadAndABadValueNamed() throws Exception {
        assertThat(read(Map.of("lookupThreads", "256")).engineSettings().lookupThreads()).isEqualTo(256);
        assertThatThrownBy(() -> read(Map.of("lookupThreads", "0")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter lookupThreads: expected an integer from 1 to 1000, was '0'");
    }

    @Test
    void mtaStsShouldBeOffWithGateways() throws Exception {
        assertThat(read(Map.of("gateway", "relay.example:2525")).mtaSts()).isFalse();
    }

    @Test
    void theHeloNameShouldDefaultToTheDefaultDomain() throws Exception {
        FakeMailetConfig config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext()).build();

        DeliveryConfiguration configuration = DeliveryConfiguration.read(config, mock(FileSystem.class),
            () -> "default.example", Clock.systemUTC());

        assertThat(configuration.engineSettings().heloName()).isEqualTo("default.example");
    }

    @Test
    void initShouldRejectAnUnknownParameter() {
        assertThatThrownBy(() -> read(Map.of("maxConections", "5")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Unknown mailet parameter maxConections")
            .hasMessageContaining("known parameters: ");
    }

    @Test
    void initShouldRejectANonNumericMaxDnsProblemRetries() {
        assertThatThrownBy(() -> read(Map.of("maxDnsProblemRetries", "three")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxDnsProblemRetries: expected an integer from 0 to 1000, was 'three'");
    }

    @Test
    void initShouldRejectAnInvalidDelayTime() {
        assertThatThrownBy(() -> read(Map.of("delayTime", "5 fortnights")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Invalid mailet parameter delayTime/maxRetries")
            .hasMessageContaining("5 fortnights");
    }

    @Test
    void initShouldRejectAnInvalidBoolean() {
        assertThatThrownBy(() -> read(Map.of("sendpartial", "maybe")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter sendpartial: expected true or false, was 'maybe'");
    }

    @Test
    void initShouldRejectADurationWithoutUnit() {
        assertThatThrownBy(() -> read(Map.of("maxLaneWait", "30")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxLaneWait: needs a unit (ms, s, m, h or d), such as '30s', was '30'");
    }

    @Test
    void initShouldRejectAZeroDuration() {
        assertThatThrownBy(() -> read(Map.of("maxAge", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxAge: expected a positive duration such as 500ms, 30s, 5m, 2h or 5d,"
                + " was '0s'");
    }

    @Test
    void initShouldRejectImplicitTls() {
        assertThatThrownBy(() -> read(Map.of("sslEnable", "true")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Unsupported mailet parameter sslEnable=true");
    }

    @Test
    void initShouldAcceptGatewayCredentials() throws Exception {
        DeliveryConfiguration configuration = read(Map.of("gateway", "relay.example", "gatewayusername", "me",
            "gatewayPassword", " secret "));

        assertThat(configuration.engineSettings().gatewayCredentials()).isPresent();
        assertThat(configuration.gateways()).containsExactly("relay.example");
    }

    @Test
    void initShouldRejectAGatewayUsernameWithoutAPassword() {
        assertThatThrownBy(() -> read(Map.of("gateway", "relay.example", "gatewayUsername", "me")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayUsername: it needs gatewayPassword");
    }

    @Test
    void initShouldRejectGatewayCredentialsWithoutAGateway() {
        assertThatThrownBy(() -> read(Map.of("gatewayUsername", "me", "gatewayPassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayUsername: it needs gateway (SMTP AUTH is only used with"
                + " gateways)");
    }

    @Test
    void initShouldRejectAGatewayPasswordWithoutAUsername() {
        assertThatThrownBy(() -> read(Map.of("gateway", "relay.example", "gatewayPassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayPassword: it needs gatewayUsername");
    }

    @Test
    void initShouldRejectGatewayPortWithoutGateway() {
        assertThatThrownBy(() -> read(Map.of("gatewayPort", "2525")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("gatewayPort: it needs gateway");
    }

    @Test
    void initShouldRejectTwoDifferentOutgoingQueues() {
        assertThatThrownBy(() -> read(Map.of("outgoing", "out1", "outgoingQueue", "out2")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("name different queues ('out1' and 'out2')");
    }

    @Test
    void initShouldRejectAMissingRulesFile() {
        assertThatThrownBy(() -> read(Map.of("rules", temp.resolve("absent.xml").toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Invalid MX rules file")
            .hasMessageContaining("absent.xml")
            .hasMessageContaining("does not exist");
    }

    @Test
    void initShouldRejectAnInvalidRulesFileNamingLineRuleAndField() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules>\n  <rule name=\"google\" mx=\"*.google.com\" maxConnections=\"-3\"/>\n"
            + "</mx-rules>\n", StandardCharsets.UTF_8);

        assertThatThrownBy(() -> read(Map.of("rules", rules.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("mx-rules.xml:2: rule 'google', field 'maxConnections'")
            .hasMessageContaining("'-3'");
    }

    @Test
    void initShouldAcceptRemoteDeliveryParametersAndTheSampleRules() throws Exception {
        DeliveryConfiguration configuration = read(Map.ofEntries(
            Map.entry("outgoingQueue", "outgoing"),
            Map.entry("delayTime", "5000, 100000, 500000"),
            Map.entry("maxRetries", "3"),
            Map.entry("maxDnsProblemRetries", "0"),
            Map.entry("deliveryThreads", "10"),
            Map.entry("sendpartial", "true"),
            Map.entry("bounceProcessor", "bounces"),
            Map.entry("timeout", "180000"),
            Map.entry("connectiontimeout", "60000"),
            Map.entry("startTLS", "true"),
            Map.entry("mail.smtp.localhost", "james.local"),
            Map.entry("onMailetException", "ignore"),
            Map.entry("rules", "conf-samples/mx-rules.xml")));

        assertThat(configuration.rules().rules()).isNotEmpty();
        assertThat(configuration.rules().match("gmail-smtp-in.l.google.com", "gmail.com").name())
            .isEqualTo("google");
        assertThat(configuration.outgoingQueue()).isEqualTo("outgoing");
        assertThat(configuration.maxDnsProblemRetries()).isZero();
        assertThat(configuration.sendPartial()).isTrue();
        assertThat(configuration.bounceProcessor()).contains(new ProcessingState("bounces"));
        assertThat(configuration.engineSettings().deliveryThreads()).isEqualTo(10);
    }

    @Test
    void tlsShouldBeTheModeOfRulesThatSetNone() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules><rule name=\"r\" mx=\"*.example.com\"/>"
            + "<rule name=\"own\" mx=\"*.other.com\" tls=\"required\"/></mx-rules>");

        DeliveryConfiguration configuration = read(Map.of("tls", "Verify", "rules", rules.toString()));

        assertThat(configuration.rules().defaultRule().tlsMode()).isEqualTo(TlsMode.VERIFY);
        assertThat(configuration.rules().rules()).extracting(MxRule::tlsMode)
            .containsExactly(TlsMode.VERIFY, TlsMode.REQUIRED);
    }

    @Test
    void theRulesFileDefaultShouldOverrideTheTlsParameter() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules><default tls=\"disabled\"/><rule name=\"r\" mx=\"*.example.com\"/>"
            + "</mx-rules>");

        DeliveryConfiguration configuration = read(Map.of("tls", "verify", "rules", rules.toString()));

        assertThat(configuration.rules().rules().get(0).tlsMode()).isEqualTo(TlsMode.DISABLED);
    }

    @Test
    void initShouldRejectAnUnknownTlsMode() {
        assertThatThrownBy(() -> read(Map.of("tls", "strict")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter tls: expected disabled, opportunistic, required or verify,"
                + " was 'strict'");
    }

    @Test
    void initShouldRejectAMissingTrustStore() {
        Path missing = temp.resolve("missing.p12");

        assertThatThrownBy(() -> read(Map.of("trustStore", missing.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter trustStore: trust store " + missing
                + " cannot be read as PKCS12: ");
    }

    @Test
    void initShouldRejectATrustStoreWithTheWrongPassword() throws Exception {
        Path store = trustStore("right");

        assertThatThrownBy(() -> read(Map.of("trustStore", store.toString(), "trustStorePassword", "wrong")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter trustStore: trust store " + store
                + " cannot be read as PKCS12: ");
    }

    @Test
    void initShouldRejectAnUnknownTrustStoreType() throws Exception {
        Path store = trustStore("right");

        assertThatThrownBy(() -> read(Map.of("trustStore", store.toString(), "trustStorePassword", "right",
            "trustStoreType", "PEM")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter trustStore: trust store type 'PEM' is not known to the JDK");
    }

    @Test
    void initShouldRejectATrustStorePasswordWithoutATrustStore() {
        assertThatThrownBy(() -> read(Map.of("trustStorePassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter trustStorePassword: it needs trustStore");
    }

    @Test
    void initShouldAcceptATrustStoreAndTheTlsParameters() throws Exception {
        Path store = trustStore("right");

        DeliveryConfiguration configuration = read(Map.of("trustStore", store.toString(), "trustStorePassword",
            "right", "trustStoreType", "pkcs12", "tlsFallbackMemory", "30m", "mtaSts", "false", "mtaStsTimeout", "5s"));

        assertThat(configuration.tls().fallbackMemory()).isEqualTo(Duration.ofMinutes(30));
        assertThat(configuration.mtaSts()).isFalse();
        assertThat(configuration.mtaStsTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(configuration.tls().trust().description()).contains(store.toString());
    }

    @Test
    void initShouldRejectAZeroFallbackMemory() {
        assertThatThrownBy(() -> read(Map.of("tlsFallbackMemory", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter tlsFallbackMemory: expected a positive duration such as 500ms, 30s,"
                + " 5m, 2h or 5d, was '0s'");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "192.0.2.53          | 192.0.2.53   | 53",
        "192.0.2.53:5353     | 192.0.2.53   | 5353",
        "::1                 | 0:0:0:0:0:0:0:1 | 53",
        "[::1]:5353          | 0:0:0:0:0:0:0:1 | 5353",
        "[::1]               | 0:0:0:0:0:0:0:1 | 53",
        "localhost:5353      | 127.0.0.1    | 5353",
    })
    void nameServerShouldReadHostAndPort(String value, String address, int port) throws Exception {
        InetSocketAddress parsed = TlsConfiguration.nameServer(value);

        assertThat(parsed.getAddress().getHostAddress()).isEqualTo(address);
        assertThat(parsed.getPort()).isEqualTo(port);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "192.0.2.53:0        | the port must be 1 to 65535",
        "192.0.2.53:65536    | the port must be 1 to 65535",
        "192.0.2.53:dns      | the port must be 1 to 65535",
        "192.0.2.53:         | the port must be 1 to 65535",
        ":53                 | no host",
        "[::1                | an IPv6 address in brackets is followed by nothing or ':port'",
        "[::1]53             | an IPv6 address in brackets is followed by nothing or ':port'",
    })
    void initShouldRejectABadDaneResolver(String value, String why) {
        assertThatThrownBy(() -> read(Map.of("daneResolver", value)))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneResolver: expected a name server as host, host:port or"
                + " [IPv6]:port, was '" + value + "' (" + why + ")");
    }

    @Test
    void initShouldRejectAMissingDaneTrustAnchorsFile() {
        Path missing = temp.resolve("missing.zone");

        assertThatThrownBy(() -> read(Map.of("daneTrustAnchors", missing.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter daneTrustAnchors: " + missing + " cannot be read: ")
            .hasMessageContaining("NoSuchFileException");
    }

    @Test
    void initShouldRejectDaneTrustAnchorsWithoutAKey() throws Exception {
        Path anchors = temp.resolve("anchors.zone");
        Files.writeString(anchors, "example. 3600 IN A 192.0.2.1\n");

        assertThatThrownBy(() -> read(Map.of("daneTrustAnchors", anchors.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTrustAnchors: trustAnchors holds no DS or DNSKEY record");
    }

    @Test
    void initShouldRejectDaneTrustAnchorsThatAreNotZoneFileText() throws Exception {
        Path anchors = temp.resolve("anchors.zone");
        Files.writeString(anchors, ". IN DS 20326 8 2 not-hex\n");

        assertThatThrownBy(() -> read(Map.of("daneTrustAnchors", anchors.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter daneTrustAnchors: trustAnchors: ");
    }

    @Test
    void initShouldRejectABadDaneTimeout() {
        assertThatThrownBy(() -> read(Map.of("daneTimeout", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTimeout: expected a positive duration such as 500ms, 30s, 5m, 2h"
                + " or 5d, was '0s'");
        assertThatThrownBy(() -> read(Map.of("daneTimeout", "10")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTimeout: needs a unit (ms, s, m, h or d), such as '10s', was"
                + " '10'");
    }

    @Test
    void withoutStoreTheNodeRunsOnItsOwnAndAStoreCompanionAloneIsRefused() throws Exception {
        assertThat(read(Map.of()).store()).isEmpty();
        assertThatThrownBy(() -> read(Map.of("storeNodes", "3")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter storeNodes: it needs store (the Redis server the James nodes"
                + " share)");
    }

    @Test
    void storeParametersShouldBeReadWithTheirDefaults() throws Exception {
        StoreSettings settings = read(Map.of("store", "redis://:secret@127.0.0.1:6390/2", "storeNodes", "3"))
            .store().orElseThrow();
        assertThat(settings.address()).isEqualTo("redis://***@127.0.0.1:6390/2");
        assertThat(settings.nodes()).isEqualTo(3);
        assertThat(settings.keyPrefix()).isEqualTo("mxgovernor");
        assertThat(settings.leaseTime()).isEqualTo(Duration.ofSeconds(60));
        assertThat(settings.timeout()).isEqualTo(Duration.ofMillis(200));
        assertThat(settings.nodeName()).isNotBlank();

        StoreSettings given = read(Map.of("store", "127.0.0.1:6390", "storeNodes", "2", "storeKeyPrefix", "eu",
            "storeNodeName", "james-1", "storeTimeout", "50ms", "storeLeaseTime", "10s", "storeRateHorizon", "2s"))
            .store().orElseThrow();
        assertThat(given.address()).isEqualTo("redis://127.0.0.1:6390");
        assertThat(given.keyPrefix()).isEqualTo("eu");
        assertThat(given.nodeName()).isEqualTo("james-1");
        assertThat(given.timeout()).isEqualTo(Duration.ofMillis(50));
        assertThat(given.leaseTime()).isEqualTo(Duration.ofSeconds(10));
        assertThat(given.rateHorizon()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void aBadStoreValueShouldBeNamed() {
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:6390")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter storeNodes is required with store");
        assertThatThrownBy(() -> read(Map.of("store", "http://127.0.0.1:6390", "storeNodes", "2")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter store: unknown scheme 'http'");
        assertThatThrownBy(() -> read(Map.of("store", "redis://:pw@[bad", "storeNodes", "2")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter store: malformed URI")
            .hasMessageNotContaining("pw");
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:99999", "storeNodes", "2")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter store: the port must be a number from 1 to 65535");
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:6390", "storeNodes", "0")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter storeNodes: expected an integer from 1 to 1000, was '0'");
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:6390", "storeNodes", "2", "storeTimeout", "1m")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter storeTimeout must be from");
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:6390", "storeNodes", "2", "storeLeaseTime", "5")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter storeLeaseTime: needs a unit");
        assertThatThrownBy(() -> read(Map.of("store", "127.0.0.1:6390", "storeNodes", "2", "storeKeyPrefix",
            "a {b}")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter storeKeyPrefix must be 1 to 100 printable characters");
    }

    private Path trustStore(String password) throws Exception {
        Path file = temp.resolve("trust.p12");
        KeyStore store = TestPki.authority().trustStore();
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password.toCharArray());
        }
        return file;
    }

    private static DeliveryConfiguration read(Map<String, String> parameters) throws MessagingException {
        FakeMailetConfig.Builder config = FakeMailetConfig.builder()
            .mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext())
            .setProperty("heloName", "james.local");
        parameters.forEach(config::setProperty);
        return DeliveryConfiguration.read(config.build(), mock(FileSystem.class), () -> "localhost",
            Clock.systemUTC());
    }
}

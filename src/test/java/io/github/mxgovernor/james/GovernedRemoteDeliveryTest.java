package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.james.jmx.GovernorBeans;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.TestPki;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SessionSecurity;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsReport;
import io.github.mxgovernor.tls.TlsRequirement;
import io.github.mxgovernor.tls.dane.FakeDnsServer;
import io.github.mxgovernor.tls.dane.TestZone;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import javax.mail.MessagingException;
import javax.management.MBeanServer;

import org.apache.james.dnsservice.api.InMemoryDNSService;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.RawMailQueueItemDecoratorFactory;
import org.apache.james.queue.memory.MemoryMailQueueFactory;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.Type;

class GovernedRemoteDeliveryTest {
    @TempDir
    Path temp;

    private final MemoryMailQueueFactory queues = new MemoryMailQueueFactory(new RawMailQueueItemDecoratorFactory());
    private GovernedRemoteDelivery mailet;

    @AfterEach
    void destroy() {
        if (mailet != null) {
            mailet.destroy();
        }
    }

    @Test
    void initShouldRejectAnUnknownParameter() {
        assertThatThrownBy(() -> init(Map.of("maxConections", "5")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Unknown mailet parameter maxConections")
            .hasMessageContaining("known parameters: ");
    }

    @Test
    void initShouldRejectANonNumericMaxDnsProblemRetries() {
        assertThatThrownBy(() -> init(Map.of("maxDnsProblemRetries", "three")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxDnsProblemRetries: expected an integer from 0 to 1000, was 'three'");
    }

    @Test
    void initShouldRejectAnInvalidDelayTime() {
        assertThatThrownBy(() -> init(Map.of("delayTime", "5 fortnights")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Invalid mailet parameter delayTime/maxRetries")
            .hasMessageContaining("5 fortnights");
    }

    @Test
    void initShouldRejectAnInvalidBoolean() {
        assertThatThrownBy(() -> init(Map.of("sendpartial", "maybe")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter sendpartial: expected true or false, was 'maybe'");
    }

    @Test
    void initShouldRejectADurationWithoutUnit() {
        assertThatThrownBy(() -> init(Map.of("maxLaneWait", "30")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxLaneWait: needs a unit (ms, s, m, h or d), such as '30s', was '30'");
    }

    @Test
    void initShouldRejectAZeroDuration() {
        assertThatThrownBy(() -> init(Map.of("maxAge", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter maxAge: expected a positive duration such as 500ms, 30s, 5m, 2h or 5d,"
                + " was '0s'");
    }

    @Test
    void initShouldRejectImplicitTls() {
        assertThatThrownBy(() -> init(Map.of("sslEnable", "true")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("Unsupported mailet parameter sslEnable=true");
    }

    @Test
    void initShouldAcceptGatewayCredentials() throws Exception {
        init(Map.of("gateway", "relay.example", "gatewayusername", "me", "gatewayPassword", " secret "));

        assertThat(mailet.engine()).isNotNull();
    }

    @Test
    void initShouldRejectAGatewayUsernameWithoutAPassword() {
        assertThatThrownBy(() -> init(Map.of("gateway", "relay.example", "gatewayUsername", "me")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayUsername: it needs gatewayPassword");
    }

    @Test
    void initShouldRejectGatewayCredentialsWithoutAGateway() {
        assertThatThrownBy(() -> init(Map.of("gatewayUsername", "me", "gatewayPassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayUsername: it needs gateway (SMTP AUTH is only used with"
                + " gateways)");
    }

    @Test
    void initShouldRejectAGatewayPasswordWithoutAUsername() {
        assertThatThrownBy(() -> init(Map.of("gateway", "relay.example", "gatewayPassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter gatewayPassword: it needs gatewayUsername");
    }

    @Test
    void initShouldRejectGatewayPortWithoutGateway() {
        assertThatThrownBy(() -> init(Map.of("gatewayPort", "2525")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("gatewayPort: it needs gateway");
    }

    @Test
    void initShouldRejectTwoDifferentOutgoingQueues() {
        assertThatThrownBy(() -> init(Map.of("outgoing", "out1", "outgoingQueue", "out2")))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("name different queues ('out1' and 'out2')");
    }

    @Test
    void initShouldRejectAMissingRulesFile() {
        assertThatThrownBy(() -> init(Map.of("rules", temp.resolve("absent.xml").toString())))
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

        assertThatThrownBy(() -> init(Map.of("rules", rules.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("mx-rules.xml:2: rule 'google', field 'maxConnections'")
            .hasMessageContaining("'-3'");
    }

    @Test
    void initShouldAcceptRemoteDeliveryParametersAndTheSampleRules() throws Exception {
        init(Map.ofEntries(
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

        assertThat(mailet.engine().rules().rules()).isNotEmpty();
        assertThat(mailet.engine().rules().match("gmail-smtp-in.l.google.com", "gmail.com").name())
            .isEqualTo("google");
    }

    @Test
    void initShouldRegisterTheGovernorBeanAndDestroyShouldRemoveIt() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        init(Map.of());

        assertThat(server.isRegistered(GovernorBeans.governorName())).isTrue();
        assertThat(server.getAttribute(GovernorBeans.governorName(), "RulesFile")).isEqualTo("built-in");

        mailet.destroy();
        mailet = null;

        assertThat(server.isRegistered(GovernorBeans.governorName())).isFalse();
    }

    @Test
    void reloadRulesOverJmxShouldReachTheMailetsEngine() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules>\n  <rule name=\"google\" mx=\"*.google.com\" maxConnections=\"5\"/>\n"
            + "</mx-rules>\n", StandardCharsets.UTF_8);
        init(Map.of("rules", rules.toString()));
        Files.writeString(rules, "<mx-rules>\n  <rule name=\"google\" mx=\"*.google.com\" maxConnections=\"2\"/>\n"
            + "</mx-rules>\n", StandardCharsets.UTF_8);

        Object summary = ManagementFactory.getPlatformMBeanServer().invoke(GovernorBeans.governorName(),
            "reloadRules", new Object[0], new String[0]);

        assertThat((String) summary).startsWith("Reloaded " + rules + " (1 rules and the default)");
        assertThat(mailet.engine().rules().match("gmail-smtp-in.l.google.com", "gmail.com").maxConnections())
            .isEqualTo(2);
    }

    @Test
    void serviceShouldQueueTheMailAndGhostIt() throws Exception {
        init(Map.of());
        Mail mail = FakeMail.builder().name("m1").sender("a@local.test").recipients("b@example.com")
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("hello").setText("body")).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.GHOST);
    }

    @Test
    void serviceShouldSendAMailWithoutRecipientsToTheErrorProcessor() throws Exception {
        init(Map.of());
        Mail mail = FakeMail.builder().name("m1").sender("a@local.test").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.ERROR);
        assertThat(mail.getErrorMessage()).contains("no recipients");
    }

    @Test
    void tlsShouldBeTheModeOfRulesThatSetNone() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules><rule name=\"r\" mx=\"*.example.com\"/>"
            + "<rule name=\"own\" mx=\"*.other.com\" tls=\"required\"/></mx-rules>");

        init(Map.of("tls", "Verify", "rules", rules.toString()));

        assertThat(mailet.engine().rules().defaultRule().tlsMode()).isEqualTo(TlsMode.VERIFY);
        assertThat(mailet.engine().rules().rules()).extracting(MxRule::tlsMode)
            .containsExactly(TlsMode.VERIFY, TlsMode.REQUIRED);
    }

    @Test
    void theRulesFileDefaultShouldOverrideTheTlsParameter() throws Exception {
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules><default tls=\"disabled\"/><rule name=\"r\" mx=\"*.example.com\"/>"
            + "</mx-rules>");

        init(Map.of("tls", "verify", "rules", rules.toString()));

        assertThat(mailet.engine().rules().rules().get(0).tlsMode()).isEqualTo(TlsMode.DISABLED);
    }

    @Test
    void initShouldRejectAnUnknownTlsMode() {
        assertThatThrownBy(() -> init(Map.of("tls", "strict")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter tls: expected disabled, opportunistic, required or verify,"
                + " was 'strict'");
    }

    @Test
    void initShouldRejectAMissingTrustStore() {
        Path missing = temp.resolve("missing.p12");

        assertThatThrownBy(() -> init(Map.of("trustStore", missing.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter trustStore: trust store " + missing
                + " cannot be read as PKCS12: ");
    }

    @Test
    void initShouldRejectATrustStoreWithTheWrongPassword() throws Exception {
        Path store = trustStore("right");

        assertThatThrownBy(() -> init(Map.of("trustStore", store.toString(), "trustStorePassword", "wrong")))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter trustStore: trust store " + store
                + " cannot be read as PKCS12: ");
    }

    @Test
    void initShouldRejectAnUnknownTrustStoreType() throws Exception {
        Path store = trustStore("right");

        assertThatThrownBy(() -> init(Map.of("trustStore", store.toString(), "trustStorePassword", "right",
            "trustStoreType", "PEM")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter trustStore: trust store type 'PEM' is not known to the JDK");
    }

    @Test
    void initShouldRejectATrustStorePasswordWithoutATrustStore() {
        assertThatThrownBy(() -> init(Map.of("trustStorePassword", "secret")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter trustStorePassword: it needs trustStore");
    }

    @Test
    void initShouldAcceptATrustStoreAndTheTlsParameters() throws Exception {
        Path store = trustStore("right");

        init(Map.of("trustStore", store.toString(), "trustStorePassword", "right", "trustStoreType", "pkcs12",
            "tlsFallbackMemory", "30m", "mtaSts", "false", "mtaStsTimeout", "5s"));

        assertThat(mailet.engine()).isNotNull();
    }

    @Test
    void initShouldRejectAZeroFallbackMemory() {
        assertThatThrownBy(() -> init(Map.of("tlsFallbackMemory", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter tlsFallbackMemory: expected a positive duration such as 500ms, 30s,"
                + " 5m, 2h or 5d, was '0s'");
    }

    @Test
    void daneParametersShouldPointTheTlsaLookupsAtTheConfiguredResolverAndAnchors() throws Exception {
        Instant now = Instant.now();
        TestZone zone = TestZone.signed("example.")
            .add("mx", Type.A, "192.0.2.25")
            .add("_25._tcp.mx", Type.TLSA, "3 1 1 " + "a1".repeat(32))
            .sign(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)));
        Path anchors = temp.resolve("anchors.zone");
        Files.writeString(anchors, "; the test zone's key\n" + zone.trustAnchor() + "\n");
        try (FakeDnsServer dns = FakeDnsServer.start(zone)) {
            init(Map.of("daneResolver", "127.0.0.1:" + dns.address().getPort(), "daneTrustAnchors",
                anchors.toString(), "daneTimeout", "3s"));

            DaneVerdict verdict = mailet.daneLookup().lookup("mx.example", 25);

            assertThat(verdict.kind()).as(verdict.toString()).isEqualTo(DaneVerdict.Kind.REQUIRED);
            assertThat(verdict.description()).startsWith("1 DNSSEC-signed TLSA record(s) at _25._tcp.mx.example.");
            assertThat(mailet.daneLookup()).hasToString("ValidatingTlsaLookup[upstream 127.0.0.1:"
                + dns.address().getPort() + "]");
        }
    }

    @Test
    void daneLookupsShouldValidateFromTheRootKeysByDefault() throws Exception {
        Instant now = Instant.now();
        TestZone zone = TestZone.signed("example.")
            .add("mx", Type.A, "192.0.2.25")
            .add("_25._tcp.mx", Type.TLSA, "3 1 1 " + "a1".repeat(32))
            .sign(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)));
        try (FakeDnsServer dns = FakeDnsServer.start(zone)) {
            init(Map.of("daneResolver", "127.0.0.1:" + dns.address().getPort(), "daneTimeout", "3s"));

            DaneVerdict verdict = mailet.daneLookup().lookup("mx.example", 25);

            // the validator starts from the root's keys, which this resolver cannot give: bogus, the mail would wait
            assertThat(verdict.kind()).as(verdict.toString()).isEqualTo(DaneVerdict.Kind.UNUSABLE);
            assertThat(verdict.description()).isEqualTo("BOGUS: DNSSEC validation of mx.example./A failed:"
                + " validate.bogus.badkey:.:dnskey.no_rrset:.");
        }
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
        InetSocketAddress parsed = GovernedRemoteDelivery.nameServer(value);

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
        assertThatThrownBy(() -> init(Map.of("daneResolver", value)))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneResolver: expected a name server as host, host:port or"
                + " [IPv6]:port, was '" + value + "' (" + why + ")");
    }

    @Test
    void initShouldRejectAMissingDaneTrustAnchorsFile() {
        Path missing = temp.resolve("missing.zone");

        assertThatThrownBy(() -> init(Map.of("daneTrustAnchors", missing.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter daneTrustAnchors: " + missing + " cannot be read: ")
            .hasMessageContaining("NoSuchFileException");
    }

    @Test
    void initShouldRejectDaneTrustAnchorsWithoutAKey() throws Exception {
        Path anchors = temp.resolve("anchors.zone");
        Files.writeString(anchors, "example. 3600 IN A 192.0.2.1\n");

        assertThatThrownBy(() -> init(Map.of("daneTrustAnchors", anchors.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTrustAnchors: trustAnchors holds no DS or DNSKEY record");
    }

    @Test
    void initShouldRejectDaneTrustAnchorsThatAreNotZoneFileText() throws Exception {
        Path anchors = temp.resolve("anchors.zone");
        Files.writeString(anchors, ". IN DS 20326 8 2 not-hex\n");

        assertThatThrownBy(() -> init(Map.of("daneTrustAnchors", anchors.toString())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter daneTrustAnchors: trustAnchors: ");
    }

    @Test
    void initShouldRejectABadDaneTimeout() {
        assertThatThrownBy(() -> init(Map.of("daneTimeout", "0s")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTimeout: expected a positive duration such as 500ms, 30s, 5m, 2h"
                + " or 5d, was '0s'");
        assertThatThrownBy(() -> init(Map.of("daneTimeout", "10")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter daneTimeout: needs a unit (ms, s, m, h or d), such as '10s', was"
                + " '10'");
    }

    @Test
    void requireTlsShouldBeReadFromJamesAttribute() throws Exception {
        Mail marked = FakeMail.builder().name("m1")
            .attribute(new Attribute(GovernedRemoteDelivery.REQUIRE_TLS, AttributeValue.of(true))).build();
        Mail unmarked = FakeMail.builder().name("m2").build();
        Mail falseMark = FakeMail.builder().name("m3")
            .attribute(new Attribute(GovernedRemoteDelivery.REQUIRE_TLS, AttributeValue.of(false))).build();

        assertThat(GovernedRemoteDelivery.requiresTls(marked)).isTrue();
        assertThat(GovernedRemoteDelivery.requiresTls(unmarked)).isFalse();
        assertThat(GovernedRemoteDelivery.requiresTls(falseMark)).isFalse();
    }

    @Test
    void tlsAttributeShouldBeAMapOfStrings() {
        TlsRequirement requirement = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'default'"),
            DaneVerdict.notAsked());
        TlsReport report = new TlsReport(SessionSecurity.encrypted("mx.example.com",
            SessionSecurity.Protection.ENCRYPTED, "TLSv1.3", "TLS_AES_128_GCM_SHA256", requirement,
            CertificateCheck.failed(TlsProblem.UNTRUSTED_CHAIN, "PKIX path building failed")), requirement,
            DomainTlsPolicy.none("example.com", "no MTA-STS TXT record"));

        Attribute attribute = GovernedRemoteDelivery.tlsAttribute(report);

        assertThat(attribute.getName().asString()).isEqualTo("mxgovernor.tls");
        @SuppressWarnings("unchecked")
        Map<String, AttributeValue<?>> fields = (Map<String, AttributeValue<?>>) attribute.getValue().value();
        assertThat(fields).containsEntry("protocol", AttributeValue.of("TLSv1.3"))
            .containsEntry("cipher", AttributeValue.of("TLS_AES_128_GCM_SHA256"))
            .containsEntry("protection", AttributeValue.of("encrypted"))
            .containsEntry("mx", AttributeValue.of("mx.example.com"))
            .containsEntry("policy", AttributeValue.of("rule 'default' requires TLS mode opportunistic"))
            .containsEntry("mtaSts", AttributeValue.of("no MTA-STS TXT record"))
            .containsEntry("dane", AttributeValue.of("not applicable: not used by the rule"))
            .containsEntry("certificate", AttributeValue.of("certificate chain not trusted: PKIX path building failed"));
    }

    private Path trustStore(String password) throws Exception {
        Path file = temp.resolve("trust.p12");
        KeyStore store = TestPki.authority().trustStore();
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password.toCharArray());
        }
        return file;
    }

    @Test
    void originalNameShouldDropTheSuffixesJamesAddsToCopies() {
        assertThat(GovernedRemoteDelivery.originalName("Mail123-abc-!4711-!99")).isEqualTo("Mail123-abc");
        assertThat(GovernedRemoteDelivery.originalName("Mail123")).isEqualTo("Mail123");
    }

    private void init(Map<String, String> parameters) throws MessagingException {
        FakeMailetConfig.Builder config = FakeMailetConfig.builder()
            .mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext())
            .setProperty("heloName", "james.local");
        parameters.forEach(config::setProperty);
        mailet = new GovernedRemoteDelivery(new InMemoryDNSService(), mock(DomainList.class),
            (MailQueueFactory<?>) queues, mock(FileSystem.class), new RecordingMetricFactory());
        mailet.init(config.build());
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.james.jmx.GovernorBeans;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.dane.FakeDnsServer;
import io.github.mxgovernor.tls.dane.TestZone;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
import org.xbill.DNS.Type;

/** The mailet as James runs it: wiring, JMX, service(); its parameters are {@link DeliveryConfigurationTest}'s. */
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
        assertThat(mail.getAttribute(DeliveryLedger.ENTRY)).isPresent();
        assertThat(queues.getQueue(org.apache.james.queue.api.MailQueueName.of("outgoing")).orElseThrow().getSize())
            .isBetween(0L, 1L);
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

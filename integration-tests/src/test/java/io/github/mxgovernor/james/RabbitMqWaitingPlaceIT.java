package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.it.RabbitMqBroker;
import io.github.mxgovernor.testing.CountingMx;
import io.github.mxgovernor.testing.JumpingClock;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.testing.MailRepositoryStoreDouble;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.rabbitmq.PrivateRabbitMqQueues;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The governed mailet on James's own RabbitMQ mail queue (James's factory in this JVM, blobs in memory, no Cassandra),
 * against a private broker started from Debian's rabbitmq-server on loopback. The queue publishes every enqueue at once
 * whatever its delay; the mailet must recognise it, and hold deferred mail in its waiting place instead of publishing
 * it again and again: a destination suspended for ten minutes holds 300 mails, each published once (by
 * {@code service()}) before the suspension ends, as the broker counts publishes; a healthy destination's mail goes
 * through meanwhile; after the end each held mail is delivered once. The broker closes a channel whose delivery stays
 * unacknowledged for 20 s: nothing is held that long.
 *
 * <p>The ten minutes pass by a jump of the mailet's wall clock (see {@code DelayIgnoringQueueTest}). The threshold for
 * waits on a queue that honours delays is set to 30 days, so that only the queue's recognition sends the ten-minute
 * waits to the waiting place.
 */
class RabbitMqWaitingPlaceIT {
    private static final int HELD = 300;
    private static final int HEALTHY = 30;
    private static final Duration SUSPENSION = Duration.ofMinutes(10);
    private static final String WORK_QUEUE = "JamesMailQueue-workqueue-outgoing";
    private static final String PLACE = "memory://var/mail/mxgovernor-waiting/";

    private static RabbitMqBroker broker;
    private static PrivateRabbitMqQueues queues;

    private final JumpingClock clock = new JumpingClock();
    private final JamesLikeDns dns = new JamesLikeDns();
    private final MailRepositoryStoreDouble repositories = new MailRepositoryStoreDouble("memory");
    private CountingMx mx;
    private GovernedRemoteDelivery mailet;

    @BeforeAll
    static void startBroker() throws Exception {
        Path directory = Path.of(System.getProperty("mxgovernor.rabbitmq.dir", "target/rabbitmq"))
            .resolve("waiting-place");
        broker = RabbitMqBroker.start(directory, Duration.ofSeconds(20));
        queues = new PrivateRabbitMqQueues(broker.amqpUri(), broker.managementUri());
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (queues != null) {
            queues.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (mailet != null) {
            mailet.destroy();
        }
        if (mx != null) {
            mx.close();
        }
    }

    @Test
    void heldMailShouldWaitInTheWaitingPlaceAndBePublishedOnceBeforeTheSuspensionEnds() throws Exception {
        mx = CountingMx.start();
        for (String domain : List.of("a.test", "b.test")) {
            dns.mx(domain, "mx." + domain + ":" + mx.port()).address("mx." + domain, "127.0.0.1");
        }
        mailet = start();
        assertThat(WaitingRoom.ignoresDelays(queues.factory().createQueue(MailQueueName.of("outgoing")))).isTrue();
        mailet.service(mail("first", "x@a.test"));
        await().atMost(Duration.ofSeconds(30)).until(() -> mx.count("<first@test>", "x@a.test") == 1);
        Governor governor = SharedGovernor.current().orElseThrow();
        String held = governor.destinations().stream().map(destination -> destination.name())
            .filter(name -> name.contains("a.test")).findFirst().orElseThrow();
        governor.suspend(held, clock.instant().plus(SUSPENSION), "test: ten minutes");

        for (int i = 0; i < HELD; i++) {
            mailet.service(mail("a" + i, "x" + (i % 20) + "@a.test"));
            if (i % 10 == 0) {
                mailet.service(mail("b" + i / 10, "y@b.test"));
            }
        }

        await().atMost(Duration.ofSeconds(60)).until(() -> delivered("b", HEALTHY) == HEALTHY);
        await().atMost(Duration.ofSeconds(60)).until(() -> WaitingRooms.jvmWide().waiting() == HELD
            && mailet.dequeueState().getInFlight() == 0);
        long beforeTheEnd = 1 + HELD + HEALTHY;
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.published(WORK_QUEUE) == beforeTheEnd);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10))
            .until(() -> broker.published(WORK_QUEUE) == beforeTheEnd);
        assertThat(delivered("a", HELD)).isZero();
        MailRepositoryDouble repository = repositories.repository(PLACE);
        assertThat(repository.keys()).hasSize(HELD);

        clock.jump(SUSPENSION.plusMinutes(1));

        await().atMost(Duration.ofSeconds(60)).until(() -> delivered("a", HELD) == HELD);
        await().atMost(Duration.ofSeconds(20)).until(() -> WaitingRooms.jvmWide().waiting() == 0
            && mailet.dequeueState().getInFlight() == 0);
        assertThat(mx.receipts().values()).containsOnly(1);
        assertThat(mx.receipts()).hasSize(1 + HELD + HEALTHY);
        assertThat(repository.keys()).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.published(WORK_QUEUE) >= beforeTheEnd + HELD);
        assertThat(broker.published(WORK_QUEUE)).isLessThanOrEqualTo(2 * beforeTheEnd);
    }

    private GovernedRemoteDelivery start() throws Exception {
        Path rules = Files.createTempFile("mx-rules", ".xml");
        Files.writeString(rules, "<mx-rules><default maxConnections=\"10\"><recovery probes=\"5\" halfOpen=\"0s\"/>"
            + "</default></mx-rules>");
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext());
        Map.of("heloName", "james.local", "rules", rules.toString(), "mtaSts", "false", "maxLaneWait", "2s",
            "localDeferralDelay", "1s", "shutdownGrace", "500ms", "maxInFlight", "64", "waitingThreshold", "30d",
            "waitingReleaseRate", "1000").forEach(config::setProperty);
        GovernedRemoteDelivery started = new GovernedRemoteDelivery(dns, mock(DomainList.class), queues.factory(),
            mock(FileSystem.class), new RecordingMetricFactory(), clock, RecoveryTiming.DEFAULT, new DeliveryLedger(),
            Optional.of(repositories), WaitingRoom::ignoresDelays);
        started.init(config.build());
        return started;
    }

    private int delivered(String prefix, int count) {
        int delivered = 0;
        for (int i = 0; i < count; i++) {
            String recipient = prefix.equals("a") ? "x" + (i % 20) + "@a.test" : "y@b.test";
            delivered += mx.count("<" + prefix + i + "@test>", recipient) > 0 ? 1 : 0;
        }
        return delivered;
    }

    private static Mail mail(String name, String recipient) throws MessagingException {
        return FakeMail.builder().name(name).sender("sender@local.test").recipients(List.of(new MailAddress(recipient)))
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")
                .addHeader("Message-ID", "<" + name + "@test>")).build();
    }
}

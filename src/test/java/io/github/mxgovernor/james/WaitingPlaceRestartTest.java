package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.CountingMx;
import io.github.mxgovernor.testing.JumpingClock;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.testing.MailRepositoryStoreDouble;

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
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Mail waiting when the mailet stops is found again by the next one: its index is rebuilt from the repository's keys
 * (no mail read), and each mail is delivered once when due. The repository double outlives the mailets as a persistent
 * repository outlives James; the queue is persistent too.
 */
class WaitingPlaceRestartTest {
    private static final String PLACE = "file://var/mail/mxgovernor-waiting/";
    private static final int MAILS = 200;

    private final JumpingClock clock = new JumpingClock();
    private final JamesLikeDns dns = new JamesLikeDns();
    private final MailRepositoryStoreDouble repositories = new MailRepositoryStoreDouble("file");
    private final MailQueueDouble queue = MailQueueDouble.persistent("outgoing");
    private final CountingMx mx;
    private GovernedRemoteDelivery mailet;

    WaitingPlaceRestartTest() throws Exception {
        mx = CountingMx.start();
        dns.mx("a.test", "mx.a.test:" + mx.port()).address("mx.a.test", "127.0.0.1");
    }

    @AfterEach
    void stop() throws Exception {
        if (mailet != null) {
            mailet.destroy();
        }
        mx.close();
        queue.shutdown();
    }

    @Test
    void mailWaitingAtAStopShouldBeDeliveredOnceAfterTheRestart() throws Exception {
        mailet = start();
        mailet.service(mail("first"));
        await().atMost(Duration.ofSeconds(20)).until(() -> mx.count("<first@test>", "x@a.test") == 1);
        Governor governor = SharedGovernor.current().orElseThrow();
        String destination = governor.destinations().iterator().next().name();
        governor.suspend(destination, clock.instant().plus(Duration.ofMinutes(30)), "test");
        for (int i = 0; i < MAILS; i++) {
            mailet.service(mail("m" + i));
        }
        MailRepositoryDouble repository = repositories.repository(PLACE);
        await().atMost(Duration.ofSeconds(30)).until(() -> repository.keys().size() == MAILS && queue.size() == 0);

        mailet.destroy();
        int readsBefore = repository.retrieves();
        mailet = start();

        assertThat(repository.retrieves()).as("mails read to rebuild the index").isEqualTo(readsBefore);
        assertThat(WaitingRooms.jvmWide().waiting()).isEqualTo(MAILS);
        assertThat(WaitingRooms.jvmWide().destinations()).containsExactly(destination);
        clock.jump(Duration.ofMinutes(34));
        await().atMost(Duration.ofSeconds(60)).until(() -> mx.deliveries() == MAILS + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> repository.keys().isEmpty() && queue.size() == 0);
        assertThat(mx.receipts().values()).containsOnly(1);
        assertThat(queue.enqueuesByName().entrySet()).filteredOn(entry -> !entry.getKey().equals("first"))
            .extracting(Map.Entry::getValue).containsOnly(2);
        assertThat(WaitingRooms.jvmWide().waiting()).isZero();
    }

    private GovernedRemoteDelivery start() throws MessagingException {
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext());
        Map.of("heloName", "james.local", "mtaSts", "false", "waitingRepository", PLACE, "shutdownGrace", "500ms")
            .forEach(config::setProperty);
        GovernedRemoteDelivery started = new GovernedRemoteDelivery(dns, mock(DomainList.class), queue.factory(),
            mock(FileSystem.class), new RecordingMetricFactory(), clock, RecoveryTiming.DEFAULT, new DeliveryLedger(),
            Optional.of(repositories), WaitingRoom::ignoresDelays);
        started.init(config.build());
        return started;
    }

    private static Mail mail(String name) throws MessagingException {
        return FakeMail.builder().name(name).sender("sender@local.test")
            .recipients(List.of(new MailAddress("x@a.test")))
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")
                .addHeader("Message-ID", "<" + name + "@test>")).build();
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.CountingMx;
import io.github.mxgovernor.testing.JumpingClock;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.testing.MailRepositoryStoreDouble;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The governed mailet over a queue that behaves as James's RabbitMQ queue does: every enqueue is published at once
 * whatever its delay, {@code RETRY} gives the item straight back, and an item not acknowledged within the consumer
 * timeout is given again. A destination suspended for ten minutes holds 5,000 mails: each waits in the waiting place,
 * published no more than once before the suspension ends (the enqueue of {@code service()}), while a healthy
 * destination's mail goes through meanwhile; after the end each mail is delivered once.
 *
 * <p>Time: the mailet and the governor share a wall clock that runs with real time and jumps the ten minutes at once
 * ({@link JumpingClock}). A frozen fake clock cannot be used here: after the suspension the lanes defer surplus mail
 * for a few seconds (quota return slots), and those waits must pass while the SMTP sessions, the queue and the release
 * loop run on real threads. The jump keeps the scenario's ratio exact: the suspension is ten minutes long for flow
 * control, the deferral records and the waiting place, and the whole test runs in seconds.
 */
class DelayIgnoringQueueTest {
    private static final int HELD = 5_000;
    private static final int HEALTHY = 500;
    private static final Duration SUSPENSION = Duration.ofMinutes(10);

    private final JumpingClock clock = new JumpingClock();
    private final JamesLikeDns dns = new JamesLikeDns();
    private final MailRepositoryStoreDouble repositories = new MailRepositoryStoreDouble("memory");
    private final MailQueueDouble queue = MailQueueDouble.persistent("outgoing").ignoreDelays()
        .redeliverUnacknowledgedAfter(Duration.ofSeconds(30));
    private final CountingMx mx;
    private GovernedRemoteDelivery mailet;

    DelayIgnoringQueueTest() throws Exception {
        mx = CountingMx.start();
        for (String domain : List.of("a.test", "b.test")) {
            dns.mx(domain, "mx." + domain + ":" + mx.port()).address("mx." + domain, "127.0.0.1");
        }
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
    void aTenMinuteSuspensionShouldPublishEachHeldMailNoMoreThanOnceBeforeItEndsAndDeliverEachOnceAfter(
            @TempDir Path directory) throws Exception {
        mailet = start(directory);
        Governor governor = SharedGovernor.current().orElseThrow();
        assertThat(governor.clock()).isSameAs(clock);
        mailet.service(mail("first", "x@a.test"));
        await().atMost(Duration.ofSeconds(20)).until(() -> mx.count("<first@test>", "x@a.test") == 1);
        Destination held = governor.destinations().stream().filter(d -> d.name().contains("a.test")).findFirst()
            .orElseThrow();
        governor.suspend(held.name(), clock.instant().plus(SUSPENSION), "test: ten minutes");

        for (int i = 0; i < HELD; i++) {
            mailet.service(mail("a" + i, "x" + (i % 50) + "@a.test"));
            if (i % 10 == 0 && i / 10 < HEALTHY) {
                mailet.service(mail("b" + i / 10, "y@b.test"));
            }
        }

        // the healthy destination's mail goes through while the held mail waits
        await().atMost(Duration.ofSeconds(60)).until(() -> delivered("b", HEALTHY) == HEALTHY);
        WaitingRooms waiting = WaitingRooms.jvmWide();
        await().atMost(Duration.ofSeconds(60)).until(() -> waiting.waiting() == HELD && queue.size() == 0);
        assertThat(delivered("a", HELD)).isZero();
        Map<String, Integer> publishes = queue.enqueuesByName();
        for (int i = 0; i < HELD; i++) {
            assertThat(publishes.get("a" + i)).as("publishes of a%d before the end", i).isEqualTo(1);
        }
        for (int i = 0; i < HEALTHY; i++) {
            assertThat(publishes.get("b" + i)).as("publishes of b%d", i).isEqualTo(1);
        }
        MailRepositoryDouble repository = repositories.repository("memory://var/mail/mxgovernor-waiting/");
        assertThat(repository.keys()).hasSize(HELD);
        Mail stored = repository.retrieve(new MailKey(repository.keys().get(0)));
        assertThat(DeferralAttributes.waitingIn(stored)).contains("memory://var/mail/mxgovernor-waiting/");
        assertThat(DeferralAttributes.read(stored).orElseThrow().nextAttemptAt().orElseThrow())
            .isAfterOrEqualTo(clock.instant().plus(SUSPENSION).minusSeconds(60));

        // the rest of the ten minutes, and the minute over which flow control spreads the held mail
        clock.jump(SUSPENSION.plusMinutes(1));

        await().atMost(Duration.ofSeconds(90)).until(() -> delivered("a", HELD) == HELD);
        await().atMost(Duration.ofSeconds(30)).until(() -> waiting.waiting() == 0 && queue.size() == 0
            && queue.openItems().isEmpty());
        Map<String, Integer> receipts = mx.receipts();
        assertThat(receipts.values()).containsOnly(1);
        assertThat(receipts).hasSize(1 + HELD + HEALTHY);
        assertThat(queue.itemsCompletedMoreThanOnce()).isEmpty();
        assertThat(queue.redeliveredForTimeout()).isZero();
        assertThat(repository.keys()).isEmpty();
    }

    private GovernedRemoteDelivery start(Path directory) throws Exception {
        // no half-open backoff after the suspension, so the held mail goes at full caps once it is over
        Path rules = Files.writeString(directory.resolve("mx-rules.xml"), "<mx-rules><default maxConnections=\"10\">"
            + "<recovery probes=\"5\" halfOpen=\"0s\"/></default></mx-rules>");
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("heloName", "james.local");
        parameters.put("rules", rules.toString());
        parameters.put("delayTime", "200");
        parameters.put("maxRetries", "5");
        parameters.put("maxLaneWait", "2s");
        parameters.put("localDeferralDelay", "1s");
        parameters.put("mtaSts", "false");
        parameters.put("shutdownGrace", "500ms");
        parameters.put("waitingReleaseRate", "2000");
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext());
        parameters.forEach(config::setProperty);
        GovernedRemoteDelivery started = new GovernedRemoteDelivery(dns, mock(DomainList.class), queue.factory(),
            mock(FileSystem.class), new RecordingMetricFactory(), clock, RecoveryTiming.DEFAULT, new DeliveryLedger(),
            Optional.of(repositories), any -> true);
        started.init(config.build());
        return started;
    }

    private int delivered(String prefix, int count) {
        int delivered = 0;
        for (int i = 0; i < count; i++) {
            String recipient = prefix.equals("a") ? "x" + (i % 50) + "@a.test" : "y@b.test";
            delivered += mx.count("<" + prefix + i + "@test>", recipient) > 0 ? 1 : 0;
        }
        return delivered;
    }

    private static Mail mail(String name, String recipient) throws MessagingException {
        List<MailAddress> recipients = new ArrayList<>(List.of(new MailAddress(recipient)));
        return FakeMail.builder().name(name).sender("sender@local.test").recipients(recipients)
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")
                .addHeader("Message-ID", "<" + name + "@test>")).build();
    }

    @SuppressWarnings("unused")
    private static String describe(Map<String, Integer> counts) {
        return counts.entrySet().stream().filter(entry -> entry.getValue() > 1).limit(10).map(Map.Entry::toString)
            .collect(Collectors.joining(", "));
    }
}

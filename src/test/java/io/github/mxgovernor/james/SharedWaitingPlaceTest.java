package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.MailReleaseLeases;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.testing.RedisServer;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes' waiting places on one repository and one queue, sharing one private Redis (two stores in one JVM), on real
 * time and threads: every mail goes back on the queue exactly once, whichever node stored it, and when the node that
 * stored it stops, the other one releases it when due.
 */
class SharedWaitingPlaceTest {
    private static final String URL = "memory://var/mail/mxgovernor-waiting/";
    private static final String MX = "mta5.am0.yahoodns.net";
    private static final int MAILS = 200;
    private static final Duration RESCAN = Duration.ofMillis(300);

    @TempDir
    Path directory;

    private final Clock clock = Clock.systemUTC();
    private final MailRepositoryDouble repository = new MailRepositoryDouble();
    private final MailQueueDouble queue = MailQueueDouble.persistent("outgoing").ignoreDelays();
    private final List<WaitingRoom> rooms = new ArrayList<>();
    private final List<ClusterStore> stores = new ArrayList<>();
    private RedisServer redis;

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServer.start(directory.resolve("redis"));
    }

    @AfterEach
    void closeAll() throws InterruptedException {
        rooms.forEach(WaitingRoom::close);
        stores.forEach(ClusterStore::close);
        queue.shutdown();
        redis.stop();
    }

    @Test
    void theMailsOfANodeThatStoppedAreReleasedByTheOtherWhenDueEachOnce() throws Exception {
        WaitingRoom a = node("a");
        WaitingRoom b = node("b");
        Instant due = clock.instant().plusMillis(1500);
        for (int i = 0; i < MAILS; i++) {
            a.store(copy("m" + i, due), "entry-" + i, List.of("r" + i + "@yahoo.com"), due);
        }
        a.close();
        assertThat(repository.keys()).hasSize(MAILS);

        await().atMost(Duration.ofSeconds(10)).until(() -> repository.keys().isEmpty() && b.size() == 0);
        assertThat(clock.instant()).isAfterOrEqualTo(due);
        assertEachReleasedOnce();
    }

    @Test
    void withBothNodesRunningEveryMailIsReleasedOnce() throws Exception {
        WaitingRoom a = node("a");
        WaitingRoom b = node("b");
        // A slow removal widens the moment in which two nodes without leases would both find a mail and enqueue it.
        repository.failRemove(key -> {
            LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
            return false;
        });
        Instant due = clock.instant().plusMillis(1500);
        for (int i = 0; i < MAILS; i++) {
            (i % 2 == 0 ? a : b).store(copy("m" + i, due), "entry-" + i, List.of("r" + i + "@yahoo.com"), due);
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> a.size() == MAILS && b.size() == MAILS);

        await().atMost(Duration.ofSeconds(20)).until(() -> repository.keys().isEmpty() && a.size() == 0
            && b.size() == 0);
        assertEachReleasedOnce();
    }

    private void assertEachReleasedOnce() {
        Map<String, Integer> enqueues = queue.enqueuesByName();
        assertThat(enqueues).hasSize(MAILS);
        assertThat(enqueues).allSatisfy((name, count) -> assertThat(count).as(name).isEqualTo(1));
    }

    private WaitingRoom node(String name) throws MessagingException {
        ClusterStore store = ClusterStore.open(StoreSettings.builder(redis.hostAndPort()).keyPrefix("waiting")
            .nodeName(name).nodes(2).timeout(Duration.ofMillis(250)).connectTimeout(Duration.ofSeconds(2)).build());
        stores.add(store);
        assertThat(store.isUp()).isTrue();
        WaitingRoom room = WaitingRoom.open(repository, URL, queue, false,
            WaitingSettings.on(Optional.of(URL), WaitingSettings.DEFAULT_THRESHOLD, 1000), MailReleaseLeases.on(store),
            Optional.of(RESCAN), new Governor(clock, () -> 0), new DeliveryLedger(), clock, WaitingThreads.start());
        rooms.add(room);
        return room;
    }

    private Mail copy(String name, Instant due) throws MessagingException {
        Mail mail = FakeMail.builder().name(name).sender("sender@local.test")
            .recipients(List.of(new MailAddress(name + "@yahoo.com")))
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")).build();
        DeferralAttributes.write(mail, DeferralRecord.first(DeferralEvent.builder(clock.instant(),
            DeferralReason.SUSPENDED).message("Messages queued (destination suspended)").destination(MX).rule("yahoo")
            .build(), Optional.of(due)));
        return mail;
    }
}

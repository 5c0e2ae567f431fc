package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.waiting.ReleaseLeases;
import io.github.mxgovernor.waiting.WaitingCount;
import io.github.mxgovernor.waiting.WaitingKey;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.memory.MemoryMailQueueFactory;
import org.apache.james.queue.api.RawMailQueueItemDecoratorFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The waiting place against a repository double and a queue double, on a fake clock and scheduler. */
class WaitingRoomTest {
    private static final String URL = "memory://var/mail/mxgovernor-waiting/";
    private static final String MX = "mta5.am0.yahoodns.net";

    private final FakeClock clock = FakeClock.at("2026-05-01T12:00:00Z");
    private final FakeScheduler scheduler = new FakeScheduler();
    private final Governor governor = new Governor(clock, () -> 0);
    private final DeliveryLedger ledger = new DeliveryLedger();
    private final MailRepositoryDouble repository = new MailRepositoryDouble();
    private final MailQueueDouble queue = MailQueueDouble.persistent("outgoing").ignoreDelays();
    private final List<WaitingRoom> rooms = new ArrayList<>();

    @AfterEach
    void close() {
        rooms.forEach(WaitingRoom::close);
        queue.shutdown();
    }

    @Test
    void aQueueThatIgnoresDelaysShouldSendEveryWaitLongerThanASecondHereAndAnotherOnlyLongOnes() throws Exception {
        WaitingRoom ignoring = open(false, Duration.ofMinutes(5));
        WaitingRoom honouring = open(true, Duration.ofMinutes(5));

        assertThat(ignoring.holds(Duration.ofSeconds(1))).isFalse();
        assertThat(ignoring.holds(Duration.ofSeconds(2))).isTrue();
        assertThat(ignoring.holds(Duration.ofHours(6))).isTrue();
        assertThat(honouring.holds(Duration.ofSeconds(30))).isFalse();
        assertThat(honouring.holds(Duration.ofMinutes(5))).isFalse();
        assertThat(honouring.holds(Duration.ofMinutes(5).plusMillis(1))).isTrue();
    }

    @Test
    void theQueuesOfJamesShouldBeToldApartByWhetherTheyHonourDelays() {
        MailQueue memory = new MemoryMailQueueFactory(new RawMailQueueItemDecoratorFactory())
            .createQueue(MailQueueName.of("outgoing"));

        assertThat(WaitingRoom.ignoresDelays(memory)).isFalse();
        assertThat(WaitingRoom.ignoresDelays(queue)).isFalse();
    }

    @Test
    void aStoredMailShouldKeepItsRecordSayWhereItWaitsAndComeBackWhenDueWithItsName() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofMinutes(10));

        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);

        assertThat(repository.keys()).hasSize(1);
        Mail stored = repository.retrieve(new MailKey(repository.keys().get(0)));
        assertThat(stored.getName()).startsWith("mxgw-");
        assertThat(DeferralAttributes.waitingIn(stored)).contains(URL);
        assertThat(DeferralAttributes.read(stored).orElseThrow().reason()).isEqualTo(DeferralReason.SUSPENDED);
        assertThat(room.counts()).containsExactly(new WaitingCount(MX, DeferralReason.SUSPENDED, 1, due));

        advance(Duration.ofMinutes(10).minusSeconds(1));
        assertThat(queue.size()).isZero();
        advance(Duration.ofSeconds(2));

        await().until(() -> queue.size() == 1);
        Mail back = queue.storedMails().get(0);
        assertThat(back.getName()).isEqualTo("m1");
        assertThat(back.getAttribute(WaitingRoom.WAITING_NAME)).isEmpty();
        assertThat(DeferralAttributes.waitingIn(back)).isEmpty();
        DeferralRecord record = DeferralAttributes.read(back).orElseThrow();
        assertThat(record.nextAttemptAt()).contains(due);
        assertThat(record.latest().destination()).isEqualTo(MX);
        assertThat(DeliveryLedger.entryOf(back)).isEqualTo(stored.getName());
        assertThat(back.getRecipients()).extracting(MailAddress::asString).containsExactly("a@yahoo.com");
        assertThat(repository.keys()).isEmpty();
        assertThat(room.size()).isZero();
    }

    @Test
    void theSameMailStoredAgainShouldWaitOnceUnderOneKey() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofMinutes(10));

        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        // the queue gave the entry again after a crash: its record says it is early, it is stored again
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);

        assertThat(repository.keys()).hasSize(1);
        assertThat(room.size()).isEqualTo(1);
        advance(Duration.ofMinutes(11));
        await().until(() -> queue.size() == 1);
        assertThat(queue.enqueues("m1")).isEqualTo(1);
    }

    @Test
    void theSameMailStoredAgainForAnotherTimeShouldReplaceItsEarlierCopy() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofMinutes(10));
        Instant later = due.plus(Duration.ofMinutes(20));

        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        room.store(copy("m1", later, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), later);

        assertThat(repository.keys()).hasSize(1);
        assertThat(WaitingKey.parse(repository.keys().get(0)).orElseThrow().dueMillis())
            .isEqualTo(later.toEpochMilli());
        advance(Duration.ofMinutes(15));
        assertThat(queue.size()).isZero();
    }

    @Test
    void aMailReleasedEarlyShouldBeDueNowSoThatItIsNotSentBackToWait() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofHours(6));
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        advance(Duration.ofMinutes(1));

        Instant released = clock.instant();
        assertThat(room.releaseNow(Optional.of(MX))).isEqualTo(1);
        advance(Duration.ofSeconds(1));

        await().until(() -> queue.size() == 1);
        assertThat(DeferralAttributes.read(queue.storedMails().get(0)).orElseThrow().nextAttemptAt().orElseThrow())
            .isBetween(released, clock.instant());
    }

    @Test
    void theIndexShouldBeRebuiltFromTheKeysAloneAndEveryMailComeBackOnce() throws Exception {
        WaitingRoom first = open(false, Duration.ofMinutes(5));
        for (int i = 0; i < 50; i++) {
            Instant due = clock.instant().plus(Duration.ofMinutes(10 + i));
            first.store(copy("m" + i, due, "r" + i + "@yahoo.com"), "entry-" + i, List.of("r" + i + "@yahoo.com"), due);
        }
        first.close();
        rooms.remove(first);
        int readsBefore = repository.retrieves();

        WaitingRoom second = open(false, Duration.ofMinutes(5));

        assertThat(repository.retrieves()).isEqualTo(readsBefore);
        assertThat(second.size()).isEqualTo(50);
        assertThat(second.counts()).extracting(WaitingCount::mails).containsExactly(50L);
        advance(Duration.ofMinutes(70));
        await().until(() -> queue.size() == 50);
        assertThat(queue.enqueuesByName().values()).containsOnly(1);
        assertThat(repository.keys()).isEmpty();
    }

    @Test
    void aMailWhoseKeyDoesNotSayEverythingShouldBeReadOnceAtStartAndOneWithoutARecordPutBackAtOnce()
            throws Exception {
        Instant due = clock.instant().plus(Duration.ofMinutes(30));
        Mail foreign = copy("by-hand", due, "a@yahoo.com");
        repository.store(foreign);
        Mail noRecord = FakeMail.builder().name("no-record").sender("s@local.test").recipient("b@yahoo.com")
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setText("body")).build();
        repository.store(noRecord);

        WaitingRoom room = open(false, Duration.ofMinutes(5));

        assertThat(repository.retrieves()).isEqualTo(2);
        assertThat(room.counts()).containsExactly(new WaitingCount(MX, DeferralReason.SUSPENDED, 1, due));
        await().until(() -> queue.size() == 1);
        assertThat(queue.storedMails().get(0).getName()).isEqualTo("no-record");
        assertThat(repository.keys()).containsExactly("by-hand");
    }

    @Test
    void aMailBackOnTheQueueWhoseRemovalFailsShouldNotBePutOnTheQueueTwice() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofMinutes(10));
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        repository.failRemove(key -> true);

        advance(Duration.ofMinutes(11));
        await().until(() -> queue.size() == 1);
        advance(Duration.ofMinutes(10));
        repository.failRemove(key -> false);
        advance(Duration.ofMinutes(10));

        assertThat(repository.keys()).isEmpty();
        assertThat(room.size()).isZero();
        assertThat(queue.enqueues("m1")).isEqualTo(1);
    }

    @Test
    void aRepositoryThatCannotBeReadShouldKeepTheMailWaitingAndBeTriedAgainLater() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        Instant due = clock.instant().plus(Duration.ofMinutes(10));
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        repository.failRetrieve(key -> true);

        advance(Duration.ofMinutes(20));
        int tries = repository.retrieves();
        repository.failRetrieve(key -> false);
        advance(Duration.ofMinutes(6));

        assertThat(tries).isBetween(3, 12);
        await().until(() -> queue.size() == 1);
        assertThat(room.size()).isZero();
    }

    @Test
    void aRefusedStoreShouldLeaveNothingWaiting() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        repository.failStore(key -> true);
        Instant due = clock.instant().plus(Duration.ofMinutes(10));

        assertThatThrownBy(() -> room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due))
            .isInstanceOf(MessagingException.class);
        assertThat(room.size()).isZero();
    }

    @Test
    void theEndOfASuspensionShouldReleaseItsMailNow() throws Exception {
        WaitingRoom room = open(false, Duration.ofMinutes(5));
        governor.destination(MxRule.builder("yahoo").mxMasks("*.yahoodns.net").build(), MX);
        governor.suspend(MX, clock.instant().plus(Duration.ofHours(2)), "TSS04");
        Instant due = clock.instant().plus(Duration.ofHours(2));
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);

        governor.resume(MX, "fixed");
        advance(Duration.ofSeconds(1));

        await().until(() -> queue.size() == 1);
    }

    @Test
    void aRescanShouldFindTheMailAnotherNodeStoredAndReleaseItWhenDueOnce() throws Exception {
        WaitingRoom room = open(ReleaseLeases.LOCAL, Optional.of(Duration.ofSeconds(30)), queue);
        MailQueueDouble othersQueue = MailQueueDouble.persistent("outgoing").ignoreDelays();
        WaitingRoom other = open(ReleaseLeases.LOCAL, Optional.empty(), othersQueue);
        Instant due = clock.instant().plus(Duration.ofMinutes(2));
        other.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        other.close();
        assertThat(room.size()).isZero();

        advance(Duration.ofSeconds(30));
        assertThat(room.size()).as("found by the rescan").isEqualTo(1);
        assertThat(room.counts()).containsExactly(new WaitingCount(MX, DeferralReason.SUSPENDED, 1, due));
        assertThat(queue.size()).isZero();

        advance(Duration.ofMinutes(2));
        await().until(() -> queue.size() == 1);
        advance(Duration.ofMinutes(1));
        assertThat(queue.enqueues("m1")).isEqualTo(1);
        assertThat(othersQueue.size()).isZero();
        assertThat(repository.keys()).isEmpty();
        assertThat(room.size()).isZero();
    }

    @Test
    void withoutARescanTheMailAnotherNodeStoredShouldStayWithIt() throws Exception {
        WaitingRoom room = open(ReleaseLeases.LOCAL, Optional.empty(), queue);
        WaitingRoom other = open(ReleaseLeases.LOCAL, Optional.empty(),
            MailQueueDouble.persistent("outgoing").ignoreDelays());
        Instant due = clock.instant().plus(Duration.ofMinutes(2));
        other.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        other.close();

        advance(Duration.ofMinutes(3));
        assertThat(room.size()).isZero();
        assertThat(queue.size()).isZero();
        assertThat(repository.keys()).hasSize(1);
    }

    @Test
    void aMailAnotherNodeReleasedShouldBeForgottenWhenFoundGone() throws Exception {
        WaitingRoom room = open(ReleaseLeases.LOCAL, Optional.of(Duration.ofSeconds(30)), queue);
        MailQueueDouble othersQueue = MailQueueDouble.persistent("outgoing").ignoreDelays();
        WaitingRoom other = open(ReleaseLeases.LOCAL, Optional.empty(), othersQueue);
        Instant due = clock.instant().plus(Duration.ofMinutes(2));
        other.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        advance(Duration.ofSeconds(30));
        assertThat(room.size()).isEqualTo(1);
        other.releaseNow(Optional.empty());
        advance(Duration.ofSeconds(1));
        await().until(() -> othersQueue.size() == 1);

        advance(Duration.ofMinutes(2));
        assertThat(room.size()).isZero();
        assertThat(queue.size()).isZero();
        assertThat(othersQueue.enqueues("m1")).isEqualTo(1);
    }

    @Test
    void aMailWhoseLeaseIsRefusedShouldWaitAndAMailPutBackButNotRemovedShouldKeepItsLease() throws Exception {
        List<String> givenBack = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        ReleaseLeases leases = new ReleaseLeases() {
            @Override
            public boolean tryAcquire(String key, boolean storedHere) {
                return !refused.contains(key);
            }

            @Override
            public void release(String key) {
                givenBack.add(key);
            }
        };
        WaitingRoom room = open(leases, Optional.empty(), queue);
        Instant due = clock.instant().plus(Duration.ofMinutes(10));
        room.store(copy("m1", due, "a@yahoo.com"), "entry-1", List.of("a@yahoo.com"), due);
        String key = repository.keys().get(0);
        refused.add(key);
        advance(Duration.ofMinutes(11));
        assertThat(queue.size()).isZero();

        refused.clear();
        repository.failRemove(any -> true);
        advance(Duration.ofSeconds(6));
        await().until(() -> queue.size() == 1);
        assertThat(givenBack).as("kept while the mail is on the queue and still in the repository").isEmpty();

        repository.failRemove(any -> false);
        advance(Duration.ofSeconds(10));
        await().until(() -> repository.keys().isEmpty());
        assertThat(givenBack).containsExactly(key);
        assertThat(queue.enqueues("m1")).isEqualTo(1);
    }

    private WaitingRoom open(boolean queueHonoursDelays, Duration threshold) throws MessagingException {
        return open(queueHonoursDelays, threshold, ReleaseLeases.LOCAL, Optional.empty(), queue);
    }

    private WaitingRoom open(ReleaseLeases leases, Optional<Duration> rescan, MailQueue queue)
            throws MessagingException {
        return open(false, Duration.ofMinutes(5), leases, rescan, queue);
    }

    private WaitingRoom open(boolean queueHonoursDelays, Duration threshold, ReleaseLeases leases,
                             Optional<Duration> rescan, MailQueue queue) throws MessagingException {
        WaitingRoom room = WaitingRoom.open(repository, URL, queue, queueHonoursDelays,
            WaitingSettings.on(Optional.of(URL), threshold, 1000), leases, rescan, governor, ledger, clock,
            new WaitingThreads(scheduler, scheduler, Runnable::run, List.of()));
        rooms.add(room);
        scheduler.runDue();
        return room;
    }

    private Mail copy(String name, Instant due, String... recipients) throws MessagingException {
        List<MailAddress> addresses = new ArrayList<>();
        for (String recipient : recipients) {
            addresses.add(new MailAddress(recipient));
        }
        Mail mail = FakeMail.builder().name(name).sender("sender@local.test").recipients(addresses)
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")).build();
        DeferralAttributes.write(mail, DeferralRecord.first(DeferralEvent.builder(clock.instant(),
            DeferralReason.SUSPENDED).message("Messages queued (destination suspended)").destination(MX).rule("yahoo")
            .build(), Optional.of(due)));
        return mail;
    }

    private void advance(Duration duration) {
        Duration step = Duration.ofMillis(100);
        for (Duration left = duration; left.compareTo(Duration.ZERO) > 0; left = left.minus(step)) {
            Duration move = left.compareTo(step) < 0 ? left : step;
            clock.advance(move);
            scheduler.advance(move);
        }
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryDouble;
import io.github.mxgovernor.waiting.ReleaseLeases;
import io.github.mxgovernor.waiting.ReleaseLoop;
import io.github.mxgovernor.waiting.WaitingIndex;
import io.github.mxgovernor.waiting.WaitingKey;
import io.github.mxgovernor.waiting.WaitingMail;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;

/**
 * Measures the waiting place with 100,000 mails waiting (not a unit test; run on its own, see the README, "Where
 * deferred mail waits"):
 * <ol>
 *   <li>the heap the index takes per waiting mail (keys as a rebuild reads them: 1,000 destinations, four reasons);</li>
 *   <li>publishes per held mail during the hour before they are due: the waiting place over a queue that ignores delays
 *   (James's RabbitMQ queue modelled), a held mail stored once, an hour of fake time;</li>
 *   <li>the release pace: every mail released at once on demand, at the default pace, on fake time;</li>
 *   <li>the release loop's own cost: index and pace with a releaser that does nothing, on real time.</li>
 * </ol>
 */
public final class WaitingPlaceMeasurement {
    private static final String MX = "mta5.am0.yahoodns.net";

    private WaitingPlaceMeasurement() {
    }

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        indexFootprint(count);
        publishesAndPace(count);
        loopCost(count);
    }

    private static void indexFootprint(int count) {
        DeferralReason[] reasons = {DeferralReason.SUSPENDED, DeferralReason.SMTP_TEMPORARY_FAILURE,
            DeferralReason.DYNAMIC_FLOW_CONTROL, DeferralReason.RATE_LIMITED};
        Instant start = Instant.parse("2026-05-01T12:00:00Z");
        String[] keys = new String[count];
        for (int i = 0; i < count; i++) {
            keys[i] = WaitingKey.of(WaitingKey.identity("entry-" + i, List.of("r" + i + "@example.com")),
                start.plusMillis(i * 37L), reasons[i % reasons.length], "mx" + (i % 1000) + ".example.com").asString();
        }
        long before = usedHeap();
        WaitingIndex index = new WaitingIndex();
        for (String text : keys) {
            // as at a restart: each mail known by its key alone, its strings parsed from it
            WaitingKey key = WaitingKey.parse(new String(text)).orElseThrow();
            index.add(WaitingMail.of(key, key.reason().get(), key.destination().get(),
                Instant.ofEpochMilli(key.dueMillis()), true));
        }
        long after = usedHeap();
        System.out.printf("index: %d mails, %.1f MiB, %d bytes per waiting mail%n", index.size(),
            (after - before) / 1048576.0, (after - before) / count);
    }

    private static void publishesAndPace(int count) throws Exception {
        FakeClock clock = FakeClock.at("2026-05-01T12:00:00Z");
        FakeScheduler scheduler = new FakeScheduler();
        MailQueueDouble queue = MailQueueDouble.persistent("outgoing").ignoreDelays();
        MailRepositoryDouble repository = new MailRepositoryDouble();
        WaitingRoom room = WaitingRoom.open(repository, "memory://var/mail/mxgovernor-waiting/", queue, false,
            WaitingSettings.on(Optional.empty(), WaitingSettings.DEFAULT_THRESHOLD,
                WaitingSettings.DEFAULT_RELEASE_RATE), ReleaseLeases.LOCAL, Optional.empty(),
            new Governor(clock, () -> 0),
            new DeliveryLedger(), clock, new WaitingThreads(scheduler, scheduler, Runnable::run, List.of()));
        try {
            // held by a two-hour suspension: due at its end, spread over twelve minutes
            Instant end = clock.instant().plus(Duration.ofHours(2));
            for (int i = 0; i < count; i++) {
                Instant due = end.plusMillis(i * 720_000L / count);
                room.store(mail("m" + i, due), "entry-" + i, List.of("r" + i + "@yahoo.com"), due);
            }
            int stored = repository.stores();
            rescanCost(room, count);
            advance(clock, scheduler, Duration.ofHours(1), Duration.ofSeconds(1));
            int published = total(queue);
            System.out.printf("publishes per held mail in the hour before it is due: %.3f (%d publishes for %d mails,"
                + " each stored once: %d stores)%n", (double) published / count, published, count, stored);

            room.releaseNow(Optional.empty());
            Duration elapsed = Duration.ZERO;
            Duration step = Duration.ofMillis(100);
            while (room.size() > 0) {
                advance(clock, scheduler, step, step);
                elapsed = elapsed.plus(step);
            }
            System.out.printf("release on demand: %d mails in %.1f s of fake time, %.0f mails/s (default pace %d/s);"
                + " publishes per mail in all: %.3f%n", count, elapsed.toMillis() / 1000.0,
                count / (elapsed.toMillis() / 1000.0), WaitingSettings.DEFAULT_RELEASE_RATE,
                (double) total(queue) / count);
        } finally {
            room.close();
            queue.shutdown();
        }
    }

    /**
     * A rescan (a cluster store configured) when every mail is known: the repository's keys listed and parsed, each
     * skipped. Keys found unknown are indexed as at start.
     */
    private static void rescanCost(WaitingRoom room, int count) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long begin = System.nanoTime();
            room.rescan();
            best = Math.min(best, System.nanoTime() - begin);
        }
        System.out.printf("rescan of %d waiting mails, all known: %.0f ms (best of 5; the repository double lists its"
            + " keys from memory)%n", count, best / 1e6);
    }

    private static void loopCost(int count) {
        FakeClock clock = FakeClock.at("2026-05-01T12:00:00Z");
        FakeScheduler scheduler = new FakeScheduler();
        WaitingIndex index = new WaitingIndex();
        for (int i = 0; i < count; i++) {
            Instant due = clock.instant().plusMillis(i);
            index.add(WaitingMail.of(WaitingKey.of(i, due, DeferralReason.SUSPENDED, "mx" + (i % 1000) + ".example.com"),
                DeferralReason.SUSPENDED, "mx" + (i % 1000) + ".example.com", due, false));
        }
        ReleaseLoop loop = new ReleaseLoop(index, mail -> ReleaseLoop.Result.RELEASED, ReleaseLeases.LOCAL,
            WaitingSettings.MAX_RELEASE_RATE, 4, clock, scheduler, scheduler, Runnable::run);
        clock.advance(Duration.ofHours(1));
        long begin = System.nanoTime();
        loop.wake();
        while (index.size() > 0) {
            scheduler.advance(Duration.ofMillis(100));
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        System.out.printf("release loop alone (index, pace, bookkeeping; a releaser that does nothing): %.0f mails/s"
            + " of real time on this machine%n", count / seconds);
    }

    private static Mail mail(String name, Instant due) throws Exception {
        Mail mail = FakeMail.builder().name(name).sender("sender@local.test")
            .recipients(List.of(new MailAddress(name + "@yahoo.com")))
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject(name).setText("body")).build();
        DeferralAttributes.write(mail, DeferralRecord.first(DeferralEvent.builder(due.minus(Duration.ofHours(2)),
            DeferralReason.SUSPENDED).message("Messages queued (destination suspended)").destination(MX)
            .rule("yahoo").build(), Optional.of(due)));
        return mail;
    }

    private static int total(MailQueueDouble queue) {
        return queue.enqueuesByName().values().stream().mapToInt(Integer::intValue).sum();
    }

    private static void advance(FakeClock clock, FakeScheduler scheduler, Duration duration, Duration step) {
        for (Duration left = duration; left.compareTo(Duration.ZERO) > 0; left = left.minus(step)) {
            clock.advance(step);
            scheduler.advance(step);
        }
    }

    private static long usedHeap() {
        Runtime runtime = Runtime.getRuntime();
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return runtime.totalMemory() - runtime.freeMemory();
    }
}

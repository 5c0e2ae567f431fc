package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.spy;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.DeliveryPart;
import io.github.mxgovernor.delivery.ReturnSchedule;
import io.github.mxgovernor.delivery.RetrySchedule;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.james.jmx.DequeueRow;
import io.github.mxgovernor.testing.MailQueueDouble;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The queue runner alone, against a queue double and a {@link PartDeliveryDouble}: what it asks of the queue, what it
 * hands the core, and how it stops. The disposer is the real one; its waits run on a timer the test drives.
 */
class QueueRunnerTest {
    private static final Duration LONG = Duration.ofSeconds(10);
    private static final RecoveryTiming TIMING = new RecoveryTiming(
        new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(8), 3),
        new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(8), 3),
        new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(1), 0));

    private final Clock clock = Clock.systemUTC();
    private final MailQueueDouble queue = MailQueueDouble.memory("outgoing");
    private final PartDeliveryDouble delivery = new PartDeliveryDouble();
    private final DeliveryLedger ledger = new DeliveryLedger();
    private final ManualTimer timer = new ManualTimer();
    private final FakeMailContext context = FakeMailContext.defaultContext();
    private final Governor governor = new Governor(clock);
    private QueueRunner runner;

    @AfterEach
    void stop() {
        if (runner != null) {
            runner.stop(Duration.ofMillis(100));
        }
        queue.shutdown();
    }

    @Test
    void itShouldTakeAtMostMaxInFlightItemsAndOneMoreForEachCompleted() throws Exception {
        start(2);
        for (int i = 0; i < 5; i++) {
            queue.enQueue(mail("m" + i, "r" + i + "@a.test"));
        }

        await().atMost(LONG).until(() -> delivery.parts.size() == 2);
        await().during(Duration.ofMillis(300)).atMost(LONG).until(() -> delivery.parts.size() == 2);
        assertThat(runner.status().getInFlight()).isEqualTo(2);

        delivery.complete(0, recipient -> PartDeliveryDouble.delivered());

        await().atMost(LONG).until(() -> delivery.parts.size() == 3);
        assertThat(queue.completions()).containsEntry("SUCCESS", 1);
    }

    @Test
    void aMailShouldBeSplitByRecipientDomain() throws Exception {
        start(10);

        queue.enQueue(mail("m1", "x@a.test", "y@b.test", "z@a.test"));

        await().atMost(LONG).until(() -> delivery.parts.size() == 2);
        assertThat(delivery.parts).extracting(DeliveryPart::recipientDomain).containsExactly("a.test", "b.test");
        assertThat(delivery.parts.get(0).recipients()).containsExactly("x@a.test", "z@a.test");
        assertThat(delivery.parts.get(0).id()).isEqualTo("m1-to-a.test");
        assertThat(delivery.parts.get(0).transaction().reversePath()).isEqualTo("sender@local.test");
    }

    @Test
    void aMailGivenBackBeforeItsNextAttemptShouldWaitAgainWithoutAnAttempt() throws Exception {
        governor.destination(MxRule.builder("default").mxMasks("*").build(), "mx.a.test");
        governor.suspend("mx.a.test", Instant.now().plus(Duration.ofHours(2)), "complaints");
        start(10);
        Mail early = mail("m1", "x@a.test");
        DeferralAttributes.write(early, record(Instant.now().plus(Duration.ofHours(1))));

        queue.enQueue(early);

        await().atMost(LONG).until(() -> queue.completions().getOrDefault("SUCCESS", 0) == 1);
        assertThat(delivery.parts).isEmpty();
        assertThat(queue.storedMails()).hasSize(1);
    }

    @Test
    void aMailHeldByFlowControlShouldGoOnceItsDestinationIsReleased() throws Exception {
        governor.destination(MxRule.builder("default").mxMasks("*").build(), "mx.a.test");
        start(10);
        Mail held = mail("m1", "x@a.test");
        DeferralAttributes.write(held, record(Instant.now().plus(Duration.ofHours(1))));

        queue.enQueue(held);

        await().atMost(LONG).until(() -> delivery.parts.size() == 1);
    }

    @Test
    void aSecondCopyOfAnEntrySettledBeforeShouldBeAcknowledgedWithoutBeingSent() throws Exception {
        start(10);
        Mail mail = mail("m1", "x@a.test");
        DeliveryLedger.stamp(mail, "stored-twice");
        ledger.mayComeAgain("stored-twice");
        queue.enQueue(mail);
        queue.enQueue(mail);

        await().atMost(LONG).until(() -> delivery.parts.size() == 1);
        await().atMost(LONG).until(() -> timer.waitingCount() == 1);
        delivery.complete(0, recipient -> PartDeliveryDouble.delivered());
        timer.runWaiting();

        await().atMost(LONG).until(() -> queue.completions().getOrDefault("SUCCESS", 0) == 2);
        assertThat(delivery.parts).hasSize(1);
    }

    @Test
    void anUnreadableMessageShouldBeReadAgainAfterGrowingWaitsThenGoToTheErrorProcessor() throws Exception {
        start(10);
        queue.handOutAs(mail -> {
            Mail unreadable = spy(mail);
            try {
                doThrow(new MessagingException("cannot load the message")).when(unreadable).getMessage();
            } catch (MessagingException e) {
                throw new IllegalStateException(e);
            }
            return unreadable;
        });

        queue.enQueue(mail("m1", "x@a.test"));
        await().atMost(LONG).until(() -> timer.waitingCount() == 1);
        timer.runWaiting();
        await().atMost(LONG).until(() -> timer.waitingCount() == 1);
        timer.runWaiting();

        await().atMost(LONG).until(() -> context.getSentMails().size() == 1);
        assertThat(context.getSentMails().iterator().next().getState()).isEqualTo(Mail.ERROR);
        assertThat(timer.delays()).containsExactly(Duration.ofMillis(1500), Duration.ofMillis(3000));
        assertThat(delivery.parts).isEmpty();
        assertThat(queue.handedOut()).isEqualTo(1);
    }

    @Test
    void aDequeueStreamErrorShouldSubscribeAgainAfterAWaitAndShowInTheStatus() throws Exception {
        queue.failDequeueAfter(0);
        start(10);
        queue.enQueue(mail("m1", "x@a.test"));

        await().atMost(LONG).until(() -> runner.status().getState().equals("RECOVERING"));
        DequeueRow recovering = runner.status();
        assertThat(recovering.getErrors()).isEqualTo(1);
        assertThat(recovering.getLastError()).contains("injected dequeue failure");
        assertThat(timer.delays()).containsExactly(Duration.ofMillis(750));

        timer.runWaiting();

        await().atMost(LONG).until(() -> delivery.parts.size() == 1);
        assertThat(runner.status().getState()).isEqualTo("RUNNING");
        assertThat(runner.status().getErrors()).isEqualTo(1);
    }

    @Test
    void stopShouldCloseTheCoreEndEveryOutcomeAndCompleteEveryItemOnce() throws Exception {
        start(10);
        for (int i = 0; i < 3; i++) {
            queue.enQueue(mail("m" + i, "r" + i + "@a.test"));
        }
        await().atMost(LONG).until(() -> delivery.parts.size() == 3);
        delivery.complete(0, recipient -> PartDeliveryDouble.delivered());

        runner.stop(Duration.ofSeconds(7));
        QueueRunner stopped = runner;
        runner = null;

        assertThat(delivery.closedWith).isEqualTo(Duration.ofSeconds(7));
        assertThat(stopped.status().getState()).isEqualTo("STOPPED");
        assertThat(stopped.status().getInFlight()).isZero();
        assertThat(queue.openItems()).isEmpty();
        assertThat(queue.itemsCompletedMoreThanOnce()).isEmpty();
        assertThat(queue.completions()).containsEntry("SUCCESS", 3);
        assertThat(queue.storedMails()).extracting(mail -> DeferralAttributes.read(mail).map(DeferralRecord::reason)
            .orElseThrow()).containsOnly(DeferralReason.CONNECTION_QUOTA_REACHED).hasSize(2);
        // copies due at once that the queue pushed while delivery stopped went back untouched, once, after the
        // subscription ended (the memory queue gives a handed-back item again at once)
        assertThat(queue.completions().keySet()).isSubsetOf("SUCCESS", "RETRY");
        assertThat(queue.completions().getOrDefault("RETRY", 0)).isLessThanOrEqualTo(2);
        assertThat(queue.handedOut()).isLessThanOrEqualTo(5);
    }

    private void start(int maxInFlight) {
        Disposer disposer = new Disposer(new DisposalStep.Targets(queue, context, Optional.empty(),
            Optional.empty(), false, clock), ledger, TIMING.steps(), timer.scheduler(), Runnable::run, () -> 0.5,
            false);
        runner = new QueueRunner(queue, delivery, disposer, ledger, new ReturnSchedule(RetrySchedule.parse(
            Optional.of("1 minute"), Optional.of("3")), Duration.ofDays(5), Duration.ofSeconds(10), clock, () -> 0.5),
            governor, new DeliveryMetrics(new RecordingMetricFactory()), new QueueRunner.Parts(maxInFlight, true, 0),
            TIMING, timer.scheduler(), Runnable::run, clock, () -> 0.5);
        runner.start();
    }

    private DeferralRecord record(Instant nextAttempt) {
        return DeferralRecord.first(DeferralEvent.builder(Instant.now(), DeferralReason.SUSPENDED)
            .message("Messages queued (destination suspended)").destination("mx.a.test").rule("default").build(),
            Optional.of(nextAttempt));
    }

    private static Mail mail(String name, String... recipients) throws Exception {
        Mail mail = FakeMail.builder().name(name).sender("sender@local.test").recipients(recipients)
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("hi").setText("body")).build();
        DeliveryLedger.stamp(mail, DeliveryLedger.newEntry());
        return mail;
    }

}

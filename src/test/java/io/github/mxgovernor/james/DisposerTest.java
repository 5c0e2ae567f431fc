package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.MailQueueDouble;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueue.MailQueueItem.CompletionStatus;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.ProcessingState;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The disposer alone: outcomes in, steps and one completion out, with a timer the test runs by hand. */
class DisposerTest {
    private static final Backoff BACKOFF = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(8), 3);

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final MailQueueDouble queue = MailQueueDouble.memory("outgoing");
    private final FakeMailContext context = FakeMailContext.defaultContext();
    private final DeliveryLedger ledger = new DeliveryLedger();
    private final ManualTimer timer = new ManualTimer();
    private final List<TakenItem> released = new ArrayList<>();
    private final Disposer disposer = new Disposer(new DisposalStep.Targets(queue, context,
        Optional.of(new ProcessingState("bounces")), Optional.of(new ProcessingState("delivered")), false, clock),
        ledger, BACKOFF, timer.scheduler(), Runnable::run, () -> 0.5, false);

    @AfterEach
    void stop() {
        queue.shutdown();
    }

    @Test
    void disposeShouldRecordTheDeliveredRecipientsThenRunTheStepsThenAcknowledge() throws Exception {
        ItemDouble item = new ItemDouble(mail("m1", "x@a.test", "y@b.test"));
        TakenItem taken = take(item);

        disposer.dispose(taken, Map.of("x@a.test", PartDeliveryDouble.delivered(),
            "y@b.test", PartDeliveryDouble.deferred451()));

        assertThat(item.done).containsExactly(CompletionStatus.SUCCESS);
        assertThat(released).containsExactly(taken);
        Mail copy = queue.storedMails().get(0);
        assertThat(copy.getRecipients()).containsExactly(new MailAddress("y@b.test"));
        assertThat(DeferralAttributes.read(copy).map(DeferralRecord::reason))
            .contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(copy.getAttribute(DeliveryLedger.DELIVERED).map(attribute -> attribute.getValue().value())
            .orElseThrow()).isEqualTo(List.of(AttributeValue.of("x@a.test")));
        assertThat(sent("delivered")).containsExactly(List.of("x@a.test"));
        assertThat(item.mail.getRecipients()).isEmpty();
    }

    @Test
    void aFailingStepShouldBeTriedAgainAloneAfterGrowingJitteredWaitsWhileTheItemWaits() throws Exception {
        queue.failEnqueues(call -> call <= 2);
        ItemDouble item = new ItemDouble(mail("m1", "x@a.test", "y@b.test"));

        disposer.dispose(take(item), Map.of("x@a.test", PartDeliveryDouble.delivered(),
            "y@b.test", PartDeliveryDouble.deferred451()));
        assertThat(item.done).isEmpty();
        assertThat(item.mail.getRecipients()).containsExactly(new MailAddress("y@b.test"));
        timer.runWaiting();
        assertThat(item.done).isEmpty();
        timer.runWaiting();

        assertThat(item.done).containsExactly(CompletionStatus.SUCCESS);
        assertThat(timer.delays()).containsExactly(Duration.ofMillis(750), Duration.ofMillis(1500));
        assertThat(queue.storedMails()).hasSize(1);
        assertThat(sent("delivered")).containsExactly(List.of("x@a.test"));
    }

    @Test
    void aStepThatKeepsFailingShouldHandTheItemBackAndTheLedgerShouldFinishItWhenTheQueueGivesItAgain()
            throws Exception {
        queue.failEnqueues(call -> true);
        ItemDouble first = new ItemDouble(mail("m1", "x@a.test", "y@b.test"));
        TakenItem taken = take(first);

        disposer.dispose(taken, Map.of("x@a.test", PartDeliveryDouble.delivered(),
            "y@b.test", PartDeliveryDouble.deferred451()));
        timer.runWaiting();
        timer.runWaiting();

        assertThat(first.done).containsExactly(CompletionStatus.RETRY);
        assertThat(first.mail.getRecipients()).containsExactly(new MailAddress("y@b.test"));
        assertThat(sent("delivered")).isEmpty();

        queue.failEnqueues(call -> false);
        ItemDouble again = new ItemDouble(mail("m1", "x@a.test", "y@b.test"));
        DeliveryLedger.stamp(again.mail, taken.entry());
        TakenItem second = take(again);
        second.progress(ledger.progress(taken.entry()));
        assertThat(second.progress().handled()).containsExactlyInAnyOrder("x@a.test", "y@b.test");

        disposer.finish(second);
        assertThat(again.done).isEmpty();
        timer.runWaiting();

        assertThat(again.done).containsExactly(CompletionStatus.SUCCESS);
        assertThat(timer.delays()).containsExactly(Duration.ofMillis(750), Duration.ofMillis(1500),
            Duration.ofMillis(3000));
        assertThat(queue.storedMails()).extracting(Mail::getRecipients)
            .containsExactly(List.of(new MailAddress("y@b.test")));
        assertThat(sent("delivered")).containsExactly(List.of("x@a.test"));
    }

    @Test
    void aQueueThatRefusesTheAcknowledgementShouldGetBoundedTriesThenTheItemIsLetGoAndRemembered() throws Exception {
        ItemDouble item = new ItemDouble(mail("m1", "x@a.test"));
        item.failures = Integer.MAX_VALUE;
        TakenItem taken = take(item);

        disposer.dispose(taken, Map.of("x@a.test", PartDeliveryDouble.delivered()));
        while (timer.runWaiting() > 0) {
            // every try of the acknowledgement, until they are spent
        }

        assertThat(item.done).containsExactly(CompletionStatus.SUCCESS, CompletionStatus.SUCCESS,
            CompletionStatus.SUCCESS);
        assertThat(released).containsExactly(taken);
        assertThat(ledger.progress(taken.entry()).ended()).containsExactly("x@a.test");
        assertThat(ledger.progress(taken.entry()).hasPending()).isFalse();
    }

    @Test
    void aBouncedOutcomeShouldBounceWithItsRecordAndNothingShouldBeRequeued() throws Exception {
        ItemDouble item = new ItemDouble(mail("m1", "y@b.test", "z@b.test"));
        DeferralRecord gaveUp = DeferralRecord.first(DeferralEvent.builder(clock.instant().minus(Duration.ofDays(6)),
            DeferralReason.SMTP_TEMPORARY_FAILURE).message("451").destination("mx.test").rule("default").build(),
            Optional.empty()).bounced(clock.instant(), "Giving up: too old", Optional.empty());
        Outcome bounced = Outcome.bounced("Giving up: too old", Optional.empty(), "mx.test", "default",
            Optional.of(gaveUp));

        disposer.dispose(take(item), Map.of("y@b.test", bounced, "z@b.test", bounced));

        assertThat(item.done).containsExactly(CompletionStatus.SUCCESS);
        assertThat(sent("bounces")).singleElement().satisfies(recipients ->
            assertThat(recipients).containsExactlyInAnyOrder("y@b.test", "z@b.test"));
        FakeMailContext.SentMail bounce = context.getSentMails().iterator().next();
        assertThat(bounce.getAttributes().get(DisposalStep.DELIVERY_ERROR).getValue().value().toString())
            .isEqualTo("Giving up: too old");
        assertThat(DeferralAttributes.read(FakeMail.builder().name("copy").attributes(
            new ArrayList<>(bounce.getAttributes().values())).build())).contains(gaveUp);
        assertThat(queue.storedMails()).isEmpty();
    }

    @Test
    void postponeShouldPutTheRecipientsBackWithTheirOwnRecordUntilTheTimeGiven() throws Exception {
        ItemDouble item = new ItemDouble(mail("m1", "x@a.test"));

        disposer.postpone(take(item), List.of("x@a.test"), clock.instant().plus(Duration.ofMinutes(5)));

        assertThat(item.done).containsExactly(CompletionStatus.SUCCESS);
        assertThat(queue.storedMails()).extracting(Mail::getName).containsExactly("m1");
    }

    @Test
    void stopShouldRunWaitingTriesAtOnceAndHandBackWhatStillFails() throws Exception {
        queue.failEnqueues(call -> true);
        ItemDouble item = new ItemDouble(mail("m1", "y@b.test"));
        disposer.dispose(take(item), Map.of("y@b.test", PartDeliveryDouble.deferred451()));
        assertThat(timer.waitingCount()).isEqualTo(1);

        disposer.stop();

        assertThat(item.done).containsExactly(CompletionStatus.RETRY);
    }

    private TakenItem take(ItemDouble item) {
        return new TakenItem(item, DeliveryLedger.entryOf(item.mail), released::add);
    }

    private List<List<String>> sent(String state) {
        return context.getSentMails().stream().filter(mail -> mail.getState().equals(state))
            .map(mail -> mail.getRecipients().stream().map(MailAddress::asString).collect(Collectors.toList()))
            .collect(Collectors.toList());
    }

    private static Mail mail(String name, String... recipients) throws Exception {
        return FakeMail.builder().name(name).sender("sender@local.test").recipients(recipients)
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("hi").setText("body")).build();
    }

    /** A queue item that records its completions and can refuse them. */
    static final class ItemDouble implements MailQueue.MailQueueItem {
        final Mail mail;
        final List<CompletionStatus> done = new ArrayList<>();
        int failures;

        ItemDouble(Mail mail) {
            this.mail = mail;
        }

        @Override
        public Mail getMail() {
            return mail;
        }

        @Override
        public void done(CompletionStatus status) throws MailQueue.MailQueueException {
            done.add(status);
            if (failures > 0) {
                failures--;
                throw new MailQueue.MailQueueException("injected failure of done(" + status + ")");
            }
        }
    }
}

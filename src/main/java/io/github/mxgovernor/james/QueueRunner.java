package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.PartDelivery;
import io.github.mxgovernor.delivery.ReturnSchedule;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.DequeueRow;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.DoubleSupplier;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Mail;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Takes mail from the outgoing queue and hands each mail's parts, one per recipient domain, to the core
 * ({@link PartDelivery}, through {@link PartDispatch}); the {@link Disposer} ends them from their outcomes and
 * completes the queue item.
 *
 * <ul>
 *   <li><b>Demand.</b> At most {@code maxInFlight} items are taken and not yet completed: the runner asks the queue for
 *   one more item each time one is completed. Delivery never cancels an item in flight.</li>
 *   <li><b>Given again.</b> An item of a queue entry the {@link DeliveryLedger} knows (a persistent queue gave back an
 *   item handed back, or one whose acknowledgement failed) is sent only to the recipients not yet served, after the
 *   steps still due; one whose first hand-over is still in flight waits for it; one already settled is acknowledged
 *   at once.</li>
 *   <li><b>Early return.</b> A mail given back before its {@code nextAttemptAt} (James's RabbitMQ queue ignores delays;
 *   a copy stored again after a crash) is put back to wait without an attempt, unless flow control released it: in the
 *   waiting place when it holds such a wait ({@link WaitingRoom#holds}), where storing it again does not make it wait
 *   twice, else on the queue.</li>
 *   <li><b>Unreadable message.</b> Read again after a growing wait, a few times ({@link RecoveryTiming#unreadable()}),
 *   the item held meanwhile whatever the queue does with delays; then the mail goes to the error processor.</li>
 *   <li><b>Dequeue stream failure.</b> The runner subscribes again after a growing wait ({@link RecoveryTiming#dequeue()},
 *   without end); items in flight go on. {@link #status()} shows it, on the Governor bean.</li>
 *   <li><b>Stop.</b> {@link #stop} asks for no more items, closes the core (transactions finish within the grace, then
 *   connections are closed hard), lets the disposer end every outcome, hands back items that arrive meanwhile, and
 *   only then cancels the subscription: every item taken is completed exactly once.</li>
 * </ul>
 */
final class QueueRunner {
    private static final Logger LOGGER = LoggerFactory.getLogger(QueueRunner.class);
    /** How long {@link #stop} waits, after the core closed, for the disposer to end the outcomes. */
    private static final Duration DRAIN = Duration.ofSeconds(30);

    private final MailQueue queue;
    private final PartDelivery delivery;
    private final Disposer disposer;
    private final DeliveryLedger ledger;
    private final ReturnSchedule returns;
    private final Governor governor;
    private final PartDispatch dispatch;
    private final RecoveryTiming timing;
    private final DelayedTasks delayed;
    private final Executor executor;
    private final Clock clock;
    private final DoubleSupplier random;
    private final Parts parts;
    private final RateLimitedLog warnings;
    private final Object lock = new Object();
    private final Set<TakenItem> taken = new LinkedHashSet<>();
    /** Items taken while delivery stops, untouched: handed back once the subscription is cancelled. */
    private final List<TakenItem> parked = new ArrayList<>();
    private boolean subscriptionGone;
    private Scheduler dequeueScheduler;
    private Intake current;
    private int inFlight;
    private long requested;
    private boolean stopping;
    private DequeueRow.State state = DequeueRow.State.STOPPED;
    private Instant since;
    private long errors;
    private int consecutiveErrors;
    private Optional<String> lastError = Optional.empty();
    private Optional<Instant> lastErrorAt = Optional.empty();

    /** How the runner makes parts of a mail: RemoteDelivery's {@code sendpartial}, {@code maxDnsProblemRetries}. */
    static final class Parts {
        final int maxInFlight;
        final boolean sendPartial;
        final int maxDnsProblemRetries;

        Parts(int maxInFlight, boolean sendPartial, int maxDnsProblemRetries) {
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be positive, was " + maxInFlight);
            }
            this.maxInFlight = maxInFlight;
            this.sendPartial = sendPartial;
            this.maxDnsProblemRetries = maxDnsProblemRetries;
        }
    }

    /**
     * @param returns  says whether a mail the queue gives back before its next attempt must wait again (the same
     *                 schedule the core defers by)
     * @param governor where flow control and the totals are
     */
    QueueRunner(MailQueue queue, PartDelivery delivery, Disposer disposer, DeliveryLedger ledger,
                ReturnSchedule returns, Governor governor, DeliveryMetrics metrics, Parts parts,
                RecoveryTiming timing, ScheduledExecutorService timer, Executor executor, Clock clock,
                DoubleSupplier random) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.delivery = Objects.requireNonNull(delivery, "delivery");
        this.disposer = Objects.requireNonNull(disposer, "disposer");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.returns = Objects.requireNonNull(returns, "returns");
        this.governor = Objects.requireNonNull(governor, "governor");
        this.parts = Objects.requireNonNull(parts, "parts");
        this.dispatch = new PartDispatch(delivery, returns, governor, metrics, parts.sendPartial,
            parts.maxDnsProblemRetries, clock);
        this.timing = Objects.requireNonNull(timing, "timing");
        this.delayed = new DelayedTasks(timer);
        this.executor = Objects.requireNonNull(executor, "executor");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.warnings = new RateLimitedLog(LOGGER, clock, Duration.ofMinutes(1));
        this.since = clock.instant();
    }

    /** Subscribes to the queue. */
    void start() {
        dequeueScheduler = Schedulers.newSingle("mx-governor-dequeue-" + queue.getName().asString());
        subscribe();
    }

    /**
     * Stops in order: no more items asked for, the core closed within {@code grace}, every outcome ended by the
     * disposer, every item taken completed once; then the subscription is cancelled. When this returns, no byte goes to
     * any server any more.
     */
    void stop(Duration grace) {
        Intake intake;
        synchronized (lock) {
            stopping = true;
            moveTo(DequeueRow.State.STOPPING);
            intake = current;
            LOGGER.info("Delivery from queue {} stops: {} mails in flight, {} to finish transactions",
                queue.getName().asString(), inFlight, grace);
        }
        delayed.runAllNow();
        try {
            delivery.close(grace);
        } finally {
            disposer.stop();
            awaitReleased(DRAIN);
            if (intake != null) {
                intake.dispose();
            }
            handBackParked();
            if (dequeueScheduler != null) {
                dequeueScheduler.dispose();
            }
            synchronized (lock) {
                moveTo(DequeueRow.State.STOPPED);
            }
        }
    }

    /**
     * Hands back the items that arrived while delivery stopped, now that no more can arrive: handed back earlier, an
     * item would come straight back from a queue that gives a handed-back item again at once (James's memory queue).
     */
    private void handBackParked() {
        List<TakenItem> untouched;
        synchronized (lock) {
            subscriptionGone = true;
            untouched = new ArrayList<>(parked);
            parked.clear();
        }
        untouched.forEach(disposer::handBackUntouched);
    }

    /** The runner's state, for the Governor bean. */
    DequeueRow status() {
        synchronized (lock) {
            return new DequeueRow(queue.getName().asString(), state, since, errors, lastError, lastErrorAt, inFlight);
        }
    }

    /** Waits until every item taken, but those parked, was released. */
    private void awaitReleased(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        synchronized (lock) {
            while (inFlight > parked.size()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOGGER.warn("Delivery from queue {} stopped with {} mails not completed; the queue gives them again"
                        + " when this consumer goes away: {}", queue.getName().asString(), inFlight - parked.size(),
                        taken);
                    return;
                }
                try {
                    lock.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Keeps an item that arrived while delivery stops, untouched, until the subscription is cancelled. */
    private void park(TakenItem item) {
        synchronized (lock) {
            if (!subscriptionGone) {
                parked.add(item);
                lock.notifyAll();
                return;
            }
        }
        // delivered by the stream while it was being cancelled: nothing can come back any more
        disposer.handBackUntouched(item);
    }

    private void subscribe() {
        Intake intake = new Intake();
        synchronized (lock) {
            if (stopping) {
                return;
            }
            current = intake;
            requested = 0;
            moveTo(DequeueRow.State.RUNNING);
        }
        try {
            Flux.from(queue.deQueue()).subscribeOn(dequeueScheduler).subscribe(intake);
        } catch (RuntimeException e) {
            ended(intake, e);
        }
    }

    /** Asks the queue for as many items as there are free places. */
    private void askForMore() {
        Intake target;
        long more;
        synchronized (lock) {
            if (stopping || current == null || !current.subscribed) {
                return;
            }
            more = parts.maxInFlight - inFlight - requested;
            if (more <= 0) {
                return;
            }
            requested += more;
            target = current;
        }
        target.request(more);
    }

    private void ended(Intake intake, Throwable error) {
        Duration wait;
        synchronized (lock) {
            if (intake != current) {
                return;
            }
            current = null;
            requested = 0;
            if (stopping) {
                return;
            }
            errors++;
            consecutiveErrors++;
            lastError = Optional.of(error == null ? "the dequeue stream ended" : error.toString());
            lastErrorAt = Optional.of(clock.instant());
            moveTo(DequeueRow.State.RECOVERING);
            wait = timing.dequeue().delayAfter(consecutiveErrors, random);
        }
        warnings.warn("dequeue", "The dequeue stream of queue " + queue.getName().asString() + " "
            + (error == null ? "ended" : "failed: " + error) + "; subscribing again in " + wait.toMillis() + " ms",
            error);
        delayed.schedule(this::subscribe, wait);
    }

    private void moveTo(DequeueRow.State next) {
        if (state != next) {
            state = next;
            since = clock.instant();
        }
    }

    private void received(Intake intake, MailQueue.MailQueueItem queued) {
        TakenItem item;
        synchronized (lock) {
            if (intake == current && requested > 0) {
                requested--;
            }
            consecutiveErrors = 0;
            inFlight++;
            item = new TakenItem(queued, DeliveryLedger.entryOf(queued.getMail()), this::released);
            taken.add(item);
        }
        take(item, 0);
    }

    /** Runs intake work later, on the disposition threads rather than the timer's. */
    private void later(Runnable task, Duration wait) {
        delayed.schedule(() -> executor.execute(task), wait);
    }

    private void released(TakenItem item) {
        if (item.isHoldingEntry()) {
            ledger.release(item.entry());
        }
        synchronized (lock) {
            inFlight--;
            taken.remove(item);
            lock.notifyAll();
        }
        askForMore();
    }

    /** Takes the item's entry in the ledger, waiting while an earlier hand-over of the same entry is in flight. */
    private void take(TakenItem item, int waits) {
        if (isStopping()) {
            park(item);
            return;
        }
        if (!ledger.claim(item.entry())) {
            if (waits == 0) {
                LOGGER.info("Mail {} given again while its earlier hand-over is still being delivered: it waits",
                    item.name());
            }
            later(() -> take(item, waits + 1), timing.steps().delayAfter(Math.min(waits + 1, 6), random));
            return;
        }
        item.holdsEntry();
        try {
            start(item, 0);
        } catch (RuntimeException | Error unexpected) {
            LOGGER.error("Unexpected failure while starting mail {}", item.name(), unexpected);
            disposer.handBackAfterFailure(item, "start");
        }
    }

    private void start(TakenItem item, int readFailures) {
        if (isStopping()) {
            park(item);
            return;
        }
        Mail mail = item.mail();
        if (ledger.settledBefore(item.entry())) {
            LOGGER.warn("Mail {} was given by the queue once more after it was acknowledged (a copy stored twice by a"
                + " failed enqueue, or a redelivery): acknowledged without being sent", item.name());
            disposer.finish(item);
            return;
        }
        ItemProgress progress = ledger.progress(item.entry());
        item.progress(progress);
        Set<String> handled = progress.handled();
        List<MailAddress> toDeliver = new ArrayList<>();
        for (MailAddress recipient : mail.getRecipients()) {
            if (!handled.contains(recipient.asString())) {
                toDeliver.add(recipient);
            }
        }
        if (toDeliver.isEmpty()) {
            if (progress.isEmpty()) {
                LOGGER.warn("Mail {} on the outgoing queue has no recipients: nothing to deliver", item.name());
            } else {
                LOGGER.info("Mail {} given again by the queue: {}; nothing left to send", item.name(), progress);
            }
            disposer.finish(item);
            return;
        }
        Optional<DeferralRecord> previous = DeferralAttributes.read(mail);
        Optional<Instant> heldUntil = previous.flatMap(record -> returns.heldUntil(record, governor));
        if (heldUntil.isPresent()) {
            // The queue did not honour the delay (RabbitMQ ignores it): wait again without an attempt.
            disposer.postpone(item, PartDispatch.addresses(toDeliver), heldUntil.get());
            return;
        }
        MimeMessageContent content;
        try {
            content = new MimeMessageContent(mail.getMessage());
        } catch (MessagingException | RuntimeException e) {
            unreadable(item, readFailures + 1, PartDispatch.addresses(toDeliver), e);
            return;
        }
        dispatch.deliver(mail, toDeliver, content, previous)
            .thenAccept(outcomes -> disposer.dispose(item, outcomes));
    }

    private void unreadable(TakenItem item, int failures, List<String> recipients, Exception e) {
        if (timing.unreadable().allowsAnotherTry(failures) && !isStopping()) {
            Duration wait = timing.unreadable().delayAfter(failures, random);
            warnings.warn("unreadable", "Cannot read the message of mail " + item.name() + " (try " + failures
                + "): reading it again in " + wait.toMillis() + " ms", e);
            later(() -> start(item, failures), wait);
            return;
        }
        disposer.toErrorProcessor(item, recipients, "mx-governor: the message cannot be read (" + failures
            + " tries): " + e);
    }

    private boolean isStopping() {
        synchronized (lock) {
            return stopping;
        }
    }

    /** One subscription to the queue's dequeue stream; items are asked for by {@link #askForMore()}. */
    private final class Intake extends BaseSubscriber<MailQueue.MailQueueItem> {
        private volatile boolean subscribed;

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            subscribed = true;
            askForMore();
        }

        @Override
        protected void hookOnNext(MailQueue.MailQueueItem item) {
            received(this, item);
        }

        @Override
        protected void hookOnError(Throwable error) {
            ended(this, error);
        }

        @Override
        protected void hookOnComplete() {
            ended(this, null);
        }
    }
}

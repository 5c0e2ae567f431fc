package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.DoubleSupplier;

import org.apache.james.queue.api.MailQueue.MailQueueItem.CompletionStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the end the core gave each recipient of a taken queue item, then completes the item: delivered
 * recipients get the {@code onSuccess} copy, deferred ones go back on the queue as a copy of their own with their
 * updated deferral record, until their next attempt, bounced ones bounce. What each end is, and when a deferral comes
 * back, is the core's to decide ({@link io.github.mxgovernor.delivery.ReturnSchedule}), and it is counted there.
 *
 * <p>The order makes every failure safe. First what happened is recorded, where nothing can fail: delivered
 * recipients are taken off the mail (James's memory queue gives this very object back) and written in the
 * {@link DeliveryLedger} (a persistent queue gives back its stored original). Then the steps run one at a time:
 * re-enqueues first, then bounces, then the {@code onSuccess} copies; a step that fails is tried again alone, after a
 * jittered, growing wait ({@link RecoveryTiming#steps()}), while the item stays unacknowledged, and its failures are
 * logged at most once a minute. A step that keeps failing hands the item back to the queue ({@code RETRY}) with what
 * is left: when the queue gives it again, the ledger says which recipients are served and which steps are still to
 * do, so no recipient that got a 2xx is ever sent the mail again. Last comes the acknowledgement, tried again alike.
 * Where only a possible duplicate or a loss is left (the queue refuses both the acknowledgement and the hand-back),
 * the mail is left with the queue and a WARN names it.
 */
final class Disposer {
    private static final Logger LOGGER = LoggerFactory.getLogger(Disposer.class);

    private final DisposalStep.Targets targets;
    private final DeliveryLedger ledger;
    private final Backoff backoff;
    private final Executor executor;
    private final DoubleSupplier random;
    private final boolean debug;
    private final Clock clock;
    private final RateLimitedLog warnings;
    private final DelayedTasks delayed;
    private volatile boolean stopping;

    Disposer(DisposalStep.Targets targets, DeliveryLedger ledger, Backoff backoff, ScheduledExecutorService timer,
             Executor executor, DoubleSupplier random, boolean debug) {
        this.targets = Objects.requireNonNull(targets, "targets");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.random = Objects.requireNonNull(random, "random");
        this.debug = debug;
        this.clock = targets.clock;
        this.warnings = new RateLimitedLog(LOGGER, clock, Duration.ofMinutes(1));
        this.delayed = new DelayedTasks(timer);
    }

    /** Ends the recipients of an attempt from their outcomes, then completes the item. */
    void dispose(TakenItem item, Map<String, Outcome> outcomes) {
        execute(item, () -> {
            plan(item, outcomes);
            begin(item);
        });
    }

    /** Puts recipients back on the queue without an attempt, to come back at {@code notBefore}; keeps their record. */
    void postpone(TakenItem item, List<String> recipients, Instant notBefore) {
        execute(item, () -> {
            add(item, List.of(new DisposalStep.Requeue(recipients, Optional.empty(), notBefore, false)));
            begin(item);
        });
    }

    /** Sends recipients whose mail cannot be delivered to James's error processor, then completes the item. */
    void toErrorProcessor(TakenItem item, List<String> recipients, String why) {
        execute(item, () -> {
            LOGGER.error("Mail {} to {} sent to the error processor: {}", item.name(), recipients, why);
            add(item, List.of(new DisposalStep.ToErrorProcessor(recipients, why)));
            begin(item);
        });
    }

    /** Does what the item's progress still holds, then acknowledges it. */
    void finish(TakenItem item) {
        execute(item, () -> begin(item));
    }

    /**
     * Hands an item back after an unexpected failure, once the item's backoff has passed, so that a mail that always
     * fails is not given back in a tight loop by a queue that redelivers at once.
     */
    void handBackAfterFailure(TakenItem item, String what) {
        delayed.schedule(() -> execute(item, () -> handBack(item, 0, what)),
            backoff.delayAfter(item.progress().failed(), random));
    }

    /** Hands an item back untouched (delivery is stopping); tried once. */
    void handBackUntouched(TakenItem item) {
        try {
            item.done(CompletionStatus.RETRY);
        } catch (Exception | Error e) {
            LOGGER.warn("Mail {} taken while delivery stops could not be handed back ({}): the queue gives it again when"
                + " this consumer goes away", item.name(), e.toString());
        }
        item.release();
    }

    /**
     * Delivery stops: no more waiting between tries. A step that fails from now on hands its item back at once, and
     * items waiting for their next try go now.
     */
    void stop() {
        stopping = true;
        delayed.runAllNow();
    }

    /** The steps the outcomes call for; each outcome is final (the core decided whether a deferral may wait). */
    private void plan(TakenItem item, Map<String, Outcome> outcomes) {
        Map<Outcome.Kind, Map<String, Outcome>> byKind = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> entry : outcomes.entrySet()) {
            byKind.computeIfAbsent(entry.getValue().kind(), kind -> new LinkedHashMap<>())
                .put(entry.getKey(), entry.getValue());
        }
        Map<String, Outcome> delivered = byKind.getOrDefault(Outcome.Kind.DELIVERED, Map.of());
        if (debug) {
            LOGGER.debug("Mail {}: {}", item.name(), outcomes);
            delivered.forEach((recipient, outcome) -> LOGGER.debug("Mail {} delivered to {} via {}: {}", item.name(),
                recipient, outcome.destination(), outcome.tls().map(TlsReport::fields).orElse(Map.of())));
        }
        item.progress().delivered(delivered.keySet());

        List<DisposalStep> steps = new ArrayList<>();
        if (targets.onSuccess.isPresent()) {
            // one copy per way the mail travelled, with the record as the first of them left it
            groupBy(delivered, Outcome::tls).forEach((tls, recipients) -> steps.add(new DisposalStep.DeliveredCopy(
                recipients, delivered.get(recipients.get(0)).record(), tls)));
        }
        Map<String, Outcome> deferred = byKind.getOrDefault(Outcome.Kind.DEFERRED, Map.of());
        groupBy(deferred, outcome -> outcome).forEach((outcome, recipients) -> {
            DeferralRecord record = outcome.record().orElseThrow();
            Instant next = outcome.nextAttemptAt().orElseThrow();
            LOGGER.info("Mail {} to {} deferred until {}: {} ({})", item.name(), recipients, next,
                record.latest().message(), record.latest().destination());
            steps.add(new DisposalStep.Requeue(recipients, Optional.of(record), next, !record.reason().isLocal()));
        });
        Map<String, Outcome> bounced = byKind.getOrDefault(Outcome.Kind.BOUNCED, Map.of());
        groupBy(bounced, outcome -> outcome).forEach((outcome, recipients) -> {
            LOGGER.info("Mail {} to {} bounced: {}", item.name(), recipients, outcome.message());
            steps.add(new DisposalStep.Bounce(recipients, outcome.message(), outcome.reply(), outcome.record()));
        });
        add(item, steps);
    }

    /** Records the item's progress, on the mail and in the ledger, before any step runs. */
    private void add(TakenItem item, List<DisposalStep> steps) {
        ItemProgress progress = item.progress();
        progress.add(steps);
        item.keepRecipients(item.openRecipients());
        if (!progress.deliveredRecipients().isEmpty()) {
            DeliveryLedger.noteDelivered(item.mail(), progress.deliveredRecipients());
        }
        if (!progress.isEmpty()) {
            ledger.record(item.entry(), progress);
        }
    }

    /**
     * Runs the item's steps: at once, or, for an item the queue gave again after its steps failed, once the backoff its
     * failures so far call for has passed (James's memory queue gives a handed-back item again at once).
     */
    private void begin(TakenItem item) {
        int failures = item.progress().failures();
        if (failures == 0 || stopping) {
            runSteps(item, 0);
            return;
        }
        delayed.schedule(() -> execute(item, () -> runSteps(item, 0)), backoff.delayAfter(failures, random));
    }

    private void runSteps(TakenItem item, int failedTries) {
        ItemProgress progress = item.progress();
        int tries = failedTries;
        for (DisposalStep step = progress.next(); step != null; step = progress.next()) {
            try {
                step.run(item.mail(), targets);
            } catch (Exception | Error e) {
                if (step instanceof DisposalStep.Requeue) {
                    // the queue may have stored the copy all the same: a second copy is then recognised
                    ledger.mayComeAgain(((DisposalStep.Requeue) step).entry());
                }
                int next = tries + 1;
                String failed = step.describe();
                retry(item, "step", "Mail " + item.name() + ": " + failed + " failed (try " + next + ")", e,
                    next, () -> runSteps(item, next), () -> handBack(item, 0, failed));
                return;
            }
            progress.succeeded(step);
            tries = 0;
            item.keepRecipients(item.openRecipients());
        }
        acknowledge(item, 0);
    }

    private void acknowledge(TakenItem item, int failedTries) {
        try {
            item.done(CompletionStatus.SUCCESS);
        } catch (Exception | Error e) {
            ledger.mayComeAgain(item.entry());
            ledger.record(item.entry(), item.progress());
            int next = failedTries + 1;
            retry(item, "ack", "Mail " + item.name() + ": the queue refused its acknowledgement (try " + next + ")", e,
                next, () -> acknowledge(item, next), () -> {
                    LOGGER.warn("Mail {}: the queue refused its acknowledgement {} times; every recipient reached its"
                        + " end ({}). Should the queue give it again, it is acknowledged without being sent, as long as"
                        + " this JVM runs", item.name(), next, item.progress());
                    item.release();
                });
            return;
        }
        ledger.settled(item.entry());
        item.release();
    }

    private void handBack(TakenItem item, int failedTries, String failedStep) {
        try {
            item.done(CompletionStatus.RETRY);
        } catch (Exception | Error e) {
            int next = failedTries + 1;
            retry(item, "retry", "Mail " + item.name() + ": the queue refused to take it back (try " + next + ")", e,
                next, () -> handBack(item, next, failedStep), () -> {
                    LOGGER.warn("Mail {} could not be handed back to the queue ({} tries, after its {} kept failing):"
                        + " it stays with the queue as taken, which gives it again when this consumer goes away; done"
                        + " so far: {}", item.name(), next, failedStep, item.progress());
                    item.release();
                });
            return;
        }
        warnings.warn("handed-back", "Mail " + item.name() + " handed back to the queue (RETRY): its " + failedStep
            + " kept failing; done so far, not done again when the queue gives it back: " + item.progress(), null);
        item.release();
    }

    /**
     * After a failed try: the next try after the item's backoff, or {@code giveUp} once the tries are spent (at once
     * while stopping). Failures are logged at most once a minute per kind.
     */
    private void retry(TakenItem item, String kind, String what, Throwable cause, int failedTries, Runnable again,
                       Runnable giveUp) {
        int failures = item.progress().failed();
        warnings.warn(kind, what + ": " + cause, cause);
        if (stopping || !backoff.allowsAnotherTry(failedTries)) {
            giveUp.run();
            return;
        }
        delayed.schedule(() -> execute(item, again), backoff.delayAfter(failures, random));
    }

    /** Runs a task of the item on the disposition threads; anything it throws hands the item back. */
    private void execute(TakenItem item, Runnable task) {
        Runnable guarded = () -> {
            try {
                task.run();
            } catch (RuntimeException | Error unexpected) {
                LOGGER.error("Unexpected failure while ending mail {}", item.name(), unexpected);
                if (!item.isReleased()) {
                    handBack(item, 0, "unexpected failure");
                }
            }
        };
        try {
            executor.execute(guarded);
        } catch (RejectedExecutionException e) {
            guarded.run();
        }
    }

    private static <K> Map<K, List<String>> groupBy(Map<String, Outcome> outcomes,
                                                    java.util.function.Function<Outcome, K> key) {
        Map<K, List<String>> groups = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> entry : outcomes.entrySet()) {
            groups.computeIfAbsent(key.apply(entry.getValue()), k -> new ArrayList<>()).add(entry.getKey());
        }
        return groups;
    }
}

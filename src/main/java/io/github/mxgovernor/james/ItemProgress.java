package io.github.mxgovernor.james;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * How far the end of one queue entry got: recipients that need nothing more (delivered, put back on the queue as a
 * copy of their own, bounced), and the steps still to do. It outlives a hand-over of the item to the queue, so that
 * the entry, given again, is never sent to a recipient that already got it. Thread-safe.
 */
final class ItemProgress {
    private final Set<String> ended = new LinkedHashSet<>();
    private final Set<String> delivered = new LinkedHashSet<>();
    private final List<DisposalStep> pending = new ArrayList<>();
    private int failures;

    /** Recipients that got the mail (a 2xx): never sent it again. */
    synchronized void delivered(Collection<String> recipients) {
        delivered.addAll(recipients);
        ended.addAll(recipients);
    }

    synchronized Set<String> deliveredRecipients() {
        return Set.copyOf(delivered);
    }

    /** Recipients ended, and those a pending step will end: none of them is to be delivered again. */
    synchronized Set<String> handled() {
        Set<String> handled = new LinkedHashSet<>(ended);
        for (DisposalStep step : pending) {
            handled.addAll(step.recipients());
        }
        return handled;
    }

    synchronized Set<String> ended() {
        return Set.copyOf(ended);
    }

    synchronized void add(List<DisposalStep> steps) {
        pending.addAll(steps);
        pending.sort(Comparator.comparingInt(DisposalStep::order));
    }

    /** The step to do next; null when none is left. */
    synchronized DisposalStep next() {
        return pending.isEmpty() ? null : pending.get(0);
    }

    synchronized boolean hasPending() {
        return !pending.isEmpty();
    }

    synchronized void succeeded(DisposalStep step) {
        pending.remove(step);
        if (step.endsRecipients()) {
            ended.addAll(step.recipients());
        }
    }

    /** Counts a failed try of a step; the count goes on over hand-overs, so that the backoff keeps growing. */
    synchronized int failed() {
        return ++failures;
    }

    /** Failed tries so far, over every hand-over. */
    synchronized int failures() {
        return failures;
    }

    synchronized boolean isEmpty() {
        return ended.isEmpty() && pending.isEmpty();
    }

    @Override
    public synchronized String toString() {
        return "ended " + ended + (pending.isEmpty() ? "" : ", still to do: " + pending.stream()
            .map(DisposalStep::describe).reduce((a, b) -> a + "; " + b).orElse(""));
    }
}

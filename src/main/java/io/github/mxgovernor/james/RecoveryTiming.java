package io.github.mxgovernor.james;

import java.time.Duration;
import java.util.Objects;

/**
 * How the queue runner and the disposer wait after a failure: a step of a mail's end (re-enqueue, bounce,
 * {@code onSuccess} copy, acknowledgement), a message that cannot be read, the dequeue stream. Not a mailet
 * parameter: tests shorten it.
 */
final class RecoveryTiming {
    /**
     * A step: 6 tries, waiting 1, 2, 4, 8 and 16 s (jittered) in between, before the item is handed back; a message:
     * 4 reads, 2, 4 and 8 s apart, before the error processor; the dequeue stream: from 1 s to 1 min, without end.
     */
    static final RecoveryTiming DEFAULT = new RecoveryTiming(
        new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(1), 6),
        new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(30), 4),
        new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(1), 0));

    private final Backoff steps;
    private final Backoff unreadable;
    private final Backoff dequeue;

    /**
     * @param steps      one step of a mail's end, tried alone while the queue item stays unacknowledged; also how
     *                   often a mail given again while its first copy is still in flight looks again
     * @param unreadable reading a message that failed; after the last try the mail goes to the error processor
     * @param dequeue    subscribing again to a dequeue stream that failed or ended (no bound)
     */
    RecoveryTiming(Backoff steps, Backoff unreadable, Backoff dequeue) {
        this.steps = Objects.requireNonNull(steps, "steps");
        this.unreadable = Objects.requireNonNull(unreadable, "unreadable");
        this.dequeue = Objects.requireNonNull(dequeue, "dequeue");
        if (steps.maxTries() == 0 || unreadable.maxTries() == 0) {
            throw new IllegalArgumentException("steps and unreadable messages need a bounded number of tries");
        }
    }

    Backoff steps() {
        return steps;
    }

    Backoff unreadable() {
        return unreadable;
    }

    Backoff dequeue() {
        return dequeue;
    }
}

package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts waiting mails back on the queue when they are due, in the {@link WaitingIndex}'s order, at a bounded pace: at
 * most {@code perSecond} mails a second (a burst of a tenth of a second's worth at most) and {@code maxInFlight} at
 * once. The release of a mail (read it, enqueue it, remove it from the repository) blocks, so it runs on
 * {@code executor}; the loop itself runs on {@code scheduler} and never blocks.
 *
 * <p>A release that fails keeps its mail waiting: it is tried again after a growing wait of its own (1 s doubling to 5
 * min), and the whole loop pauses after each failure (100 ms doubling to 30 s, until a release succeeds), so a queue or
 * repository that is down costs a try now and then, never a loop. Due times follow the wall {@code clock} (they are
 * stored with the mails); the pace follows the monotonic {@code ticker}. While mails wait the loop looks at the clock
 * at least every second, so that a clock step is noticed.
 */
public final class ReleaseLoop implements AutoCloseable {
    /** What became of one release. */
    public enum Result {
        /** Back on the queue and removed from the repository. */
        RELEASED,
        /** No longer in the repository: nothing to release. */
        GONE,
        /** Not released now; the mail still waits. */
        FAILED
    }

    /** Releases one mail; may block; never throws (a failure is {@link Result#FAILED}). */
    @FunctionalInterface
    public interface Releaser {
        Result release(WaitingMail mail);
    }

    static final Duration MAX_SLEEP = Duration.ofSeconds(1);
    static final Duration LEASE_RETRY = Duration.ofSeconds(5);
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_RETRY = Duration.ofMinutes(5);
    static final Duration FIRST_PAUSE = Duration.ofMillis(100);
    static final Duration MAX_PAUSE = Duration.ofSeconds(30);
    private static final Duration STOP_WAIT = Duration.ofSeconds(10);
    private static final Logger LOGGER = LoggerFactory.getLogger(ReleaseLoop.class);

    private final WaitingIndex index;
    private final Releaser releaser;
    private final ReleaseLeases leases;
    private final int perSecond;
    private final double burst;
    private final int maxInFlight;
    private final Clock clock;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final Executor executor;
    private final Object lock = new Object();
    private double tokens;
    private long refilledAtNanos;
    private int inFlight;
    private int consecutiveFailures;
    private long pausedUntilNanos;
    private Scheduler.Scheduled pending;
    private long pendingAtNanos;
    private boolean stopped;
    private long released;

    /**
     * @param perSecond   at most this many mails a second go back on the queue
     * @param maxInFlight at most this many releases at once
     */
    public ReleaseLoop(WaitingIndex index, Releaser releaser, ReleaseLeases leases, int perSecond, int maxInFlight,
                       Clock clock, Ticker ticker, Scheduler scheduler, Executor executor) {
        if (perSecond < 1) {
            throw new IllegalArgumentException("perSecond must be positive, was " + perSecond);
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be positive, was " + maxInFlight);
        }
        this.index = Objects.requireNonNull(index, "index");
        this.releaser = Objects.requireNonNull(releaser, "releaser");
        this.leases = Objects.requireNonNull(leases, "leases");
        this.perSecond = perSecond;
        this.burst = Math.max(1.0, perSecond / 10.0);
        this.maxInFlight = maxInFlight;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.tokens = burst;
        this.refilledAtNanos = ticker.nanos();
        this.pausedUntilNanos = refilledAtNanos;
    }

    /** Looks for due mail now (a mail was added, or released early). */
    public void wake() {
        synchronized (lock) {
            scheduleIn(0);
        }
    }

    /** A mail was added to the index, due at {@code dueMillis}: the loop looks then, unless it looks sooner anyway. */
    public void added(long dueMillis) {
        synchronized (lock) {
            long wait = Math.max(0, Math.min(dueMillis - clock.millis(), MAX_SLEEP.toMillis()));
            scheduleIn(wait * 1_000_000);
        }
    }

    /**
     * Releases early the mails waiting for {@code destination} for one of {@code reasons}, spread as they were meant to
     * come back (see {@link WaitingIndex#releaseEarly}).
     */
    public int releaseEarly(String destination, Set<DeferralReason> reasons, Duration maxSpread) {
        int moved = index.releaseEarly(destination, reasons, clock.millis(), maxSpread);
        if (moved > 0) {
            wake();
        }
        return moved;
    }

    /** Releases now, in due order and at the loop's pace, the mails of one destination, or every mail. */
    public int releaseNow(Optional<String> destination) {
        int moved = index.releaseNow(destination, clock.millis());
        if (moved > 0) {
            wake();
        }
        return moved;
    }

    /** Mails put back on the queue since the loop started. */
    public long released() {
        synchronized (lock) {
            return released;
        }
    }

    /**
     * Starts no more releases and waits (at most 10 s) for those under way; the mails not released stay in the
     * repository.
     */
    @Override
    public void close() {
        synchronized (lock) {
            stopped = true;
            if (pending != null) {
                pending.cancel();
                pending = null;
            }
            long deadline = System.nanoTime() + STOP_WAIT.toNanos();
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOGGER.warn("{} releases of waiting mail still under way at stop", inFlight);
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

    private void run() {
        List<WaitingMail> starting = new ArrayList<>();
        synchronized (lock) {
            pending = null;
            if (stopped) {
                return;
            }
            long nowNanos = ticker.nanos();
            if (nowNanos - pausedUntilNanos < 0) {
                scheduleIn(pausedUntilNanos - nowNanos);
                return;
            }
            refill(nowNanos);
            long nowMillis = clock.millis();
            while (tokens >= 1 && inFlight < maxInFlight) {
                WaitingMail mail = index.next(nowMillis);
                if (mail == null) {
                    break;
                }
                if (!leases.tryAcquire(mail.key(), !mail.recovered())) {
                    index.postpone(mail, nowMillis + LEASE_RETRY.toMillis());
                    continue;
                }
                tokens -= 1;
                inFlight++;
                starting.add(mail);
            }
            planNext(nowMillis);
        }
        for (WaitingMail mail : starting) {
            try {
                executor.execute(() -> release(mail));
            } catch (RejectedExecutionException e) {
                finish(mail, Result.FAILED);
            }
        }
    }

    private void release(WaitingMail mail) {
        Result result;
        try {
            result = releaser.release(mail);
        } catch (RuntimeException | Error e) {
            LOGGER.error("Releasing waiting mail {} failed unexpectedly", mail, e);
            result = Result.FAILED;
        }
        finish(mail, result);
    }

    private void finish(WaitingMail mail, Result result) {
        try {
            leases.release(mail.key());
        } catch (RuntimeException e) {
            LOGGER.warn("The release lease of waiting mail {} could not be given back", mail, e);
        }
        synchronized (lock) {
            inFlight--;
            if (result == Result.FAILED) {
                consecutiveFailures++;
                pausedUntilNanos = ticker.nanos() + doubling(FIRST_PAUSE, MAX_PAUSE, consecutiveFailures).toNanos();
                index.retryAt(mail, clock.millis()
                    + doubling(FIRST_RETRY, MAX_RETRY, index.failures(mail) + 1).toMillis());
            } else {
                consecutiveFailures = 0;
                index.released(mail);
                if (result == Result.RELEASED) {
                    released++;
                }
            }
            if (stopped) {
                lock.notifyAll();
                return;
            }
            scheduleIn(Math.max(0, pausedUntilNanos - ticker.nanos()));
        }
    }

    /** Under the lock: when to look again for due mail. */
    private void planNext(long nowMillis) {
        OptionalLong next = index.nextReleaseMillis();
        if (next.isEmpty()) {
            return;
        }
        if (next.getAsLong() > nowMillis) {
            scheduleIn(Math.min(next.getAsLong() - nowMillis, MAX_SLEEP.toMillis()) * 1_000_000);
        } else if (inFlight < maxInFlight) {
            // due now, but the pace allows no more yet: when the next token is there
            scheduleIn((long) Math.ceil((1 - tokens) * 1_000_000_000.0 / perSecond));
        }
        // else: the end of a release under way looks again
    }

    private void refill(long nowNanos) {
        tokens = Math.min(burst, tokens + (nowNanos - refilledAtNanos) * perSecond / 1_000_000_000.0);
        refilledAtNanos = nowNanos;
    }

    /** Under the lock: runs the loop in {@code nanos}, unless it is to run sooner already. */
    private void scheduleIn(long nanos) {
        if (stopped) {
            return;
        }
        long at = ticker.nanos() + Math.max(0, nanos);
        if (pending != null) {
            if (pendingAtNanos <= at) {
                return;
            }
            pending.cancel();
        }
        pendingAtNanos = at;
        pending = scheduler.schedule(Duration.ofNanos(Math.max(0, nanos)), this::run);
    }

    private static Duration doubling(Duration first, Duration max, int failures) {
        long millis = first.toMillis();
        for (int i = 1; i < failures && millis < max.toMillis(); i++) {
            millis *= 2;
        }
        return Duration.ofMillis(Math.min(millis, max.toMillis()));
    }
}

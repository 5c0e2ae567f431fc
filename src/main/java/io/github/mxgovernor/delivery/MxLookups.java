package io.github.mxgovernor.delivery;

import io.github.mxgovernor.time.Scheduler;
import io.github.mxgovernor.time.Ticker;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MX resolution off the dequeue path: each domain's lookup (the {@link MxResolver}, which blocks in DNS) runs on the
 * lookup executor, and parts for one domain that arrive while its lookup runs share it (single flight). Nothing is
 * kept once a lookup ends: the next part asks again, and the DNS service's own cache answers as its TTLs allow.
 *
 * <p>A lookup that has not answered within the time limit is a temporary DNS failure for every part waiting on it;
 * until it returns, parts for that domain get that answer at once instead of starting another lookup, so a domain
 * whose name servers hang holds one lookup thread. Nor does it hold more than its share of the mails in flight: once
 * its lookup has run for {@link #SLOW} and {@code maxWaiting} parts wait on it, further parts get a temporary DNS
 * failure at once. Thread-safe.
 */
final class MxLookups {
    private static final Logger LOGGER = LoggerFactory.getLogger(MxLookups.class);
    /** How long a lookup runs before the parts waiting on it are bounded. */
    static final Duration SLOW = Duration.ofSeconds(1);

    private final MxResolver resolver;
    private final Executor lookups;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final Duration timeout;
    private final int maxWaiting;
    private final ConcurrentMap<String, Flight> inFlight = new ConcurrentHashMap<>();

    /** @param maxWaiting how many parts may wait on a slow lookup (the lanes' capacity) */
    MxLookups(MxResolver resolver, Executor lookups, Scheduler scheduler, Ticker ticker, Duration timeout,
              int maxWaiting) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.lookups = Objects.requireNonNull(lookups, "lookups");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.maxWaiting = maxWaiting;
    }

    /** The domain's MX endpoints, or why there are none; never completes exceptionally. */
    CompletableFuture<MxResolution> resolve(String domain) {
        String key = domain.toLowerCase(Locale.ROOT);
        Flight running = inFlight.get(key);
        if (running == null) {
            Flight started = new Flight(ticker.nanos());
            running = inFlight.putIfAbsent(key, started);
            if (running == null) {
                start(domain, key, started);
                return started.result;
            }
        }
        return running.join(domain);
    }

    private void start(String domain, String key, Flight flight) {
        CompletableFuture<MxResolution> started = flight.result;
        flight.waiting.incrementAndGet();
        Scheduler.Scheduled deadline = scheduler.schedule(timeout, () -> {
            if (started.complete(MxResolution.temporaryFailure("MX lookup of " + domain + " did not answer within "
                + timeout.toMillis() + " ms"))) {
                LOGGER.warn("MX lookup of {} did not answer within {} ms: its mail is deferred until it does",
                    domain, timeout.toMillis());
            }
        });
        started.whenComplete((resolution, error) -> deadline.cancel());
        try {
            lookups.execute(() -> {
                try {
                    started.complete(Objects.requireNonNull(resolver.resolve(domain), "MX resolution"));
                } catch (RuntimeException e) {
                    LOGGER.warn("MX lookup of {} failed", domain, e);
                    started.complete(MxResolution.temporaryFailure("MX lookup failed: " + e));
                } finally {
                    inFlight.remove(key, flight);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.remove(key, flight);
            started.complete(MxResolution.temporaryFailure("MX lookup not started: " + e.getMessage()));
        }
    }

    /** One domain's lookup in progress, and how many parts wait on it. */
    private final class Flight {
        final CompletableFuture<MxResolution> result = new CompletableFuture<>();
        final long startNanos;
        final AtomicInteger waiting = new AtomicInteger();

        Flight(long startNanos) {
            this.startNanos = startNanos;
        }

        CompletableFuture<MxResolution> join(String domain) {
            if (!result.isDone() && ticker.nanos() - startNanos >= SLOW.toNanos() && waiting.get() >= maxWaiting) {
                return CompletableFuture.completedFuture(MxResolution.temporaryFailure("MX lookup of " + domain
                    + " has not answered for " + (ticker.nanos() - startNanos) / 1_000_000 + " ms, and "
                    + waiting.get() + " mails wait for it already"));
            }
            waiting.incrementAndGet();
            return result;
        }
    }

    /** Lookups running now (for tests and operators). */
    int running() {
        return inFlight.size();
    }
}

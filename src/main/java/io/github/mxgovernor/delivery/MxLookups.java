package io.github.mxgovernor.delivery;

import io.github.mxgovernor.time.Scheduler;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MX resolution off the dequeue path: each domain's lookup (the {@link MxResolver}, which blocks in DNS) runs on the
 * lookup executor, and parts for one domain that arrive while its lookup runs share it (single flight). Nothing is
 * kept once a lookup ends: the next part asks again, and the DNS service's own cache answers as its TTLs allow.
 *
 * <p>A lookup that has not answered within the time limit is a temporary DNS failure for every part waiting on it;
 * until it returns, parts for that domain get that answer at once instead of starting another lookup, so a domain
 * whose name servers hang holds one lookup thread and its own mail only, for at most the time limit. Thread-safe.
 */
final class MxLookups {
    private static final Logger LOGGER = LoggerFactory.getLogger(MxLookups.class);

    private final MxResolver resolver;
    private final Executor lookups;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final ConcurrentMap<String, CompletableFuture<MxResolution>> inFlight = new ConcurrentHashMap<>();

    MxLookups(MxResolver resolver, Executor lookups, Scheduler scheduler, Duration timeout) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.lookups = Objects.requireNonNull(lookups, "lookups");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    /** The domain's MX endpoints, or why there are none; never completes exceptionally. */
    CompletableFuture<MxResolution> resolve(String domain) {
        String key = domain.toLowerCase(Locale.ROOT);
        CompletableFuture<MxResolution> running = inFlight.get(key);
        if (running != null) {
            return running;
        }
        CompletableFuture<MxResolution> started = new CompletableFuture<>();
        running = inFlight.putIfAbsent(key, started);
        if (running != null) {
            return running;
        }
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
                    inFlight.remove(key, started);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.remove(key, started);
            started.complete(MxResolution.temporaryFailure("MX lookup not started: " + e.getMessage()));
        }
        return started;
    }

    /** Lookups running now (for tests and operators). */
    int running() {
        return inFlight.size();
    }
}

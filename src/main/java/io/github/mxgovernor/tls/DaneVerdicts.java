package io.github.mxgovernor.tls;

import io.github.mxgovernor.time.Scheduler;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * MX hosts' DANE verdicts, looked up off the caller's thread: each TLSA lookup runs on the lookup executor (a bounded
 * pool of its own, never a delivery or timer thread), sessions opened to one host at the same time share one lookup,
 * and a lookup that has not answered within the time limit is unusable (the mail waits, never plaintext): until it
 * returns, sessions to that host get that verdict at once, so a host whose name servers hang holds one lookup thread.
 * Answers are not kept: the validating resolver caches them as their TTLs say. Thread-safe.
 */
final class DaneVerdicts {
    private final TlsPolicyResolver policy;
    private final Executor lookups;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final ConcurrentMap<String, CompletableFuture<DaneVerdict>> inFlight = new ConcurrentHashMap<>();

    /**
     * @param lookups where the (blocking) TLSA lookups run
     * @param timeout how long a verdict may take before it is unusable
     */
    public DaneVerdicts(TlsPolicyResolver policy, Executor lookups, Scheduler scheduler, Duration timeout) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.lookups = Objects.requireNonNull(lookups, "lookups");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
    }

    /** The host's verdict; at once when the rule does not ask for DANE. Never completes exceptionally. */
    public CompletableFuture<DaneVerdict> verdict(boolean ruleUsesDane, String mxHost, int port) {
        if (!ruleUsesDane) {
            return CompletableFuture.completedFuture(DaneVerdict.notAsked());
        }
        String key = mxHost.toLowerCase(Locale.ROOT) + ":" + port;
        CompletableFuture<DaneVerdict> running = inFlight.get(key);
        if (running != null) {
            return running;
        }
        CompletableFuture<DaneVerdict> started = new CompletableFuture<>();
        running = inFlight.putIfAbsent(key, started);
        if (running != null) {
            return running;
        }
        Scheduler.Scheduled deadline = scheduler.schedule(timeout, () -> started.complete(DaneVerdict.unusable(
            "TLSA lookup of " + mxHost + " did not answer within " + timeout.toMillis() + " ms")));
        started.whenComplete((verdict, error) -> deadline.cancel());
        try {
            lookups.execute(() -> {
                try {
                    started.complete(policy.dane(true, mxHost, port));
                } finally {
                    // Only now: while a lookup hangs, later sessions to the host get its late verdict at once
                    // instead of taking another thread.
                    inFlight.remove(key, started);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.remove(key, started);
            started.complete(DaneVerdict.unusable("TLSA lookup of " + mxHost + " not started: " + e.getMessage()));
        }
        return started;
    }
}

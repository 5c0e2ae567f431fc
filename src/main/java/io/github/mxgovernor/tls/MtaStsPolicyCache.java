package io.github.mxgovernor.tls;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MTA-STS policies by recipient domain (RFC 8461 section 5): discovered through the {@code _mta-sts} TXT record,
 * fetched, and kept for their {@code max_age}.
 *
 * <ul>
 *   <li>A lookup answers at once from the cache when the domain's policy is in force (or when the domain was
 *       looked up less than {@code recheckInterval} ago without finding one); otherwise it starts a discovery on the
 *       executor and answers when it ends. Concurrent lookups of one domain share one discovery.</li>
 *   <li>While a policy is in force, its TXT record is read again every {@code recheckInterval}, in the background:
 *       a new id fetches the policy again. From three quarters of its {@code max_age} on, the policy is fetched
 *       again too, so a domain in use never sees its policy expire; {@link #refreshExpiring()} does the same for
 *       every cached policy, whether mail is flowing or not.</li>
 *   <li>A failed refresh (TXT record gone or malformed, fetch failed, policy malformed) keeps the cached policy in
 *       force until it expires, and says so in the status. Without a cached policy, the domain has none: mail goes
 *       by the MX rules' TLS mode, and the status says why.</li>
 *   <li>Each domain is looked up on its own, and no thread waits on a policy host: the TXT lookup runs on the
 *       executor (a DNS lookup), the fetch is asynchronous ({@link PolicyFetcher#fetchAsync}) and bounded by the
 *       fetcher's time limit. A domain whose policy host hangs holds nothing another domain needs.</li>
 * </ul>
 * Entries are kept for a day after their last use, or until their policy expires if later; at most
 * {@code maxDomains} of them. Thread-safe.
 */
public final class MtaStsPolicyCache {
    private static final Logger LOGGER = LoggerFactory.getLogger(MtaStsPolicyCache.class);
    private static final Duration IDLE_RETENTION = Duration.ofDays(1);

    private final TxtLookup txt;
    private final PolicyFetcher fetcher;
    private final Clock clock;
    private final Executor executor;
    private final Duration recheckInterval;
    private final Cache<String, Entry> entries;

    /**
     * @param executor where the (blocking) TXT lookups run: the engine's lookup pool
     * @param recheckInterval how often the TXT record of a domain in use is read again
     * @param maxDomains how many domains are kept at most
     */
    public MtaStsPolicyCache(TxtLookup txt, PolicyFetcher fetcher, Clock clock, Executor executor,
                             Duration recheckInterval, int maxDomains) {
        this.txt = Objects.requireNonNull(txt, "txt");
        this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.recheckInterval = Objects.requireNonNull(recheckInterval, "recheckInterval");
        if (recheckInterval.isNegative() || recheckInterval.isZero()) {
            throw new IllegalArgumentException("recheckInterval must be positive, was " + recheckInterval);
        }
        if (maxDomains < 1) {
            throw new IllegalArgumentException("maxDomains must be at least 1, was " + maxDomains);
        }
        this.entries = Caffeine.newBuilder()
            .maximumSize(maxDomains)
            .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
            .expireAfter(new Retention())
            .executor(Runnable::run)
            .build();
    }

    /** The domain's MTA-STS standing; never completes exceptionally. */
    public CompletableFuture<DomainTlsPolicy> lookup(String domain) {
        String key = normalize(domain);
        Entry entry = entries.get(key, Entry::new);
        Instant now = clock.instant();
        synchronized (entry) {
            if (entry.inForce(now)) {
                boolean due = entry.checkedAt == null || !now.isBefore(entry.checkedAt.plus(recheckInterval))
                    || !now.isBefore(entry.current.refreshAt);
                if (due && entry.running == null) {
                    start(entry);
                }
                return CompletableFuture.completedFuture(entry.view(now));
            }
            if (entry.running != null) {
                return entry.running;
            }
            if (entry.checkedAt != null && now.isBefore(entry.checkedAt.plus(recheckInterval))) {
                return CompletableFuture.completedFuture(entry.view(now));
            }
            return start(entry);
        }
    }

    /** Refreshes, in the background, every cached policy past three quarters of its {@code max_age}. */
    public void refreshExpiring() {
        Instant now = clock.instant();
        for (Entry entry : entries.asMap().values()) {
            synchronized (entry) {
                if (entry.inForce(now) && !now.isBefore(entry.current.refreshAt) && entry.running == null) {
                    start(entry);
                }
            }
        }
    }

    /** Domains cached now (for tests and operators). */
    public long size() {
        return entries.estimatedSize();
    }

    private CompletableFuture<DomainTlsPolicy> start(Entry entry) {
        CompletableFuture<DomainTlsPolicy> result = new CompletableFuture<>();
        entry.running = result;
        try {
            executor.execute(() -> {
                CompletableFuture<DomainTlsPolicy> discovery;
                try {
                    discovery = discover(entry);
                } catch (RuntimeException e) {
                    discovery = CompletableFuture.failedFuture(e);
                }
                discovery.whenComplete((found, error) -> {
                    DomainTlsPolicy policy = found;
                    if (error != null) {
                        LOGGER.warn("MTA-STS lookup of {} failed", entry.domain, error);
                        policy = settle(entry, clock.instant(), "MTA-STS lookup failed: " + error);
                    }
                    synchronized (entry) {
                        entry.running = null;
                    }
                    result.complete(policy);
                });
            });
        } catch (RejectedExecutionException e) {
            entry.running = null;
            result.complete(entry.view(clock.instant()));
        }
        return result;
    }

    /** Reads the TXT record here (on the lookup executor), then fetches without holding any thread. */
    private CompletableFuture<DomainTlsPolicy> discover(Entry entry) {
        Instant now = clock.instant();
        Optional<MtaStsTxtRecord> record;
        try {
            record = MtaStsTxtRecord.select(txt.txtRecords("_mta-sts." + entry.domain));
        } catch (MtaStsException e) {
            return settled(entry, now, "TXT record _mta-sts." + entry.domain + " invalid: " + e.getMessage());
        } catch (RuntimeException e) {
            return settled(entry, now, "TXT lookup of _mta-sts." + entry.domain + " failed: " + e.getMessage());
        }
        if (record.isEmpty()) {
            return settled(entry, now, "no MTA-STS TXT record");
        }
        String id = record.get().id();
        synchronized (entry) {
            Cached current = entry.current;
            if (entry.inForce(now) && current.id.equals(id) && now.isBefore(current.refreshAt)) {
                return settled(entry, now, null);
            }
        }
        CompletableFuture<String> fetch;
        try {
            fetch = fetcher.fetchAsync(entry.domain);
        } catch (RuntimeException e) {
            fetch = CompletableFuture.failedFuture(e);
        }
        return fetch.handle((text, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
                return settle(entry, now, "policy fetch failed: " + (cause instanceof MtaStsException
                    ? cause.getMessage() : String.valueOf(cause)));
            }
            return adopt(entry, now, id, text);
        });
    }

    private DomainTlsPolicy adopt(Entry entry, Instant now, String id, String text) {
        MtaStsPolicy policy;
        try {
            policy = MtaStsPolicy.parse(text);
        } catch (MtaStsException e) {
            return settle(entry, now, "policy of " + entry.domain + " malformed: " + e.getMessage());
        }
        if (policy.maxAgeCapped()) {
            LOGGER.warn("MTA-STS policy of {} asks to be cached for more than {} s: capped", entry.domain,
                MtaStsPolicy.MAX_AGE_CAP.getSeconds());
        }
        synchronized (entry) {
            entry.current = new Cached(policy, id, now);
        }
        LOGGER.info("MTA-STS policy of {} (id {}): {}", entry.domain, id, policy);
        return settle(entry, now, null);
    }

    private CompletableFuture<DomainTlsPolicy> settled(Entry entry, Instant now, String problem) {
        return CompletableFuture.completedFuture(settle(entry, now, problem));
    }

    private DomainTlsPolicy settle(Entry entry, Instant now, String problem) {
        // a fetched policy keeps its entry until it expires, even if no mail asks for it meanwhile
        entries.policy().expireVariably().ifPresent(expiry ->
            expiry.setExpiresAfter(entry.domain, entry.retainNanos(now), TimeUnit.NANOSECONDS));
        synchronized (entry) {
            entry.checkedAt = now;
            if (problem != null && !problem.equals(entry.problem)) {
                LOGGER.info("MTA-STS for {}: {}{}", entry.domain, problem,
                    entry.inForce(now) ? " (the cached policy stays in force until " + entry.current.expiresAt + ")"
                        : "");
            }
            entry.problem = problem;
            return entry.view(now);
        }
    }

    private static String normalize(String domain) {
        String key = domain.toLowerCase(Locale.ROOT);
        return key.endsWith(".") ? key.substring(0, key.length() - 1) : key;
    }

    /** A fetched policy and the TXT id it was fetched for. */
    private static final class Cached {
        final MtaStsPolicy policy;
        final String id;
        final Instant expiresAt;
        final Instant refreshAt;

        Cached(MtaStsPolicy policy, String id, Instant fetchedAt) {
            this.policy = policy;
            this.id = id;
            this.expiresAt = fetchedAt.plus(policy.maxAge());
            this.refreshAt = fetchedAt.plus(policy.maxAge().multipliedBy(3).dividedBy(4));
        }
    }

    /** One domain's state, guarded by its own monitor. */
    private static final class Entry {
        final String domain;
        Cached current;
        Instant checkedAt;
        String problem;
        CompletableFuture<DomainTlsPolicy> running;

        Entry(String domain) {
            this.domain = domain;
        }

        /** Whether a policy is in force: a max_age of 0 still covers the moment it was fetched. */
        boolean inForce(Instant now) {
            return current != null && !now.isAfter(current.expiresAt);
        }

        DomainTlsPolicy view(Instant now) {
            if (inForce(now)) {
                String status = current.policy.mode().name().toLowerCase(Locale.ROOT) + " (id " + current.id
                    + ", until " + current.expiresAt + (current.policy.maxAgeCapped() ? ", max_age capped" : "")
                    + ")" + (problem == null ? "" : "; kept while " + problem);
                return DomainTlsPolicy.mtaSts(domain, current.policy, status);
            }
            return DomainTlsPolicy.none(domain, problem != null ? problem : "not looked up yet");
        }

        synchronized long retainNanos(Instant now) {
            Instant until = now.plus(IDLE_RETENTION);
            if (current != null && current.expiresAt.isAfter(until)) {
                until = current.expiresAt;
            }
            return Duration.between(now, until).toNanos();
        }
    }

    /** Keeps an entry a day after its last use, or until its policy expires if that is later. */
    private final class Retention implements Expiry<String, Entry> {
        @Override
        public long expireAfterCreate(String key, Entry entry, long currentTime) {
            return entry.retainNanos(clock.instant());
        }

        @Override
        public long expireAfterUpdate(String key, Entry entry, long currentTime, long currentDuration) {
            return entry.retainNanos(clock.instant());
        }

        @Override
        public long expireAfterRead(String key, Entry entry, long currentTime, long currentDuration) {
            return entry.retainNanos(clock.instant());
        }
    }
}

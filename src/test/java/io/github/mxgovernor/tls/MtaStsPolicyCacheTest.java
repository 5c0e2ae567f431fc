package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MtaStsPolicyCacheTest {
    private static final Duration RECHECK = Duration.ofMinutes(5);
    private static final String POLICY = "version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n";

    private final FakeClock clock = FakeClock.at("2025-03-01T00:00:00Z");
    private final Map<String, List<String>> txt = new ConcurrentHashMap<>();
    private final Map<String, String> files = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> fetches = new ConcurrentHashMap<>();
    private final AtomicInteger txtLookups = new AtomicInteger();
    private ExecutorService threads;

    private final PolicyFetcher fetcher = domain -> {
        fetches.computeIfAbsent(domain, d -> new AtomicInteger()).incrementAndGet();
        String file = files.get(domain);
        if (file == null) {
            throw new MtaStsException("https://mta-sts." + domain + "/.well-known/mta-sts.txt: HTTP 404");
        }
        return file;
    };
    private final TxtLookup txtLookup = name -> {
        txtLookups.incrementAndGet();
        return txt.getOrDefault(name, List.of());
    };
    private final MtaStsPolicyCache cache = new MtaStsPolicyCache(txtLookup, fetcher, clock, Runnable::run, RECHECK, 100);

    @AfterEach
    void stopThreads() {
        if (threads != null) {
            threads.shutdownNow();
        }
    }

    @Test
    void aFetchInProgressShouldHoldNoThreadOfTheLookupExecutor() {
        io.github.mxgovernor.testing.ManualExecutor lookups = new io.github.mxgovernor.testing.ManualExecutor();
        CompletableFuture<String> hangingFetch = new CompletableFuture<>();
        PolicyFetcher asynchronous = new PolicyFetcher() {
            @Override
            public String fetch(String domain) {
                throw new UnsupportedOperationException("asynchronous only");
            }

            @Override
            public CompletableFuture<String> fetchAsync(String domain) {
                return domain.equals("hanging.example") ? hangingFetch : CompletableFuture.completedFuture(POLICY);
            }
        };
        MtaStsPolicyCache asynchronousCache = new MtaStsPolicyCache(name -> List.of("v=STSv1; id=1;"), asynchronous,
            clock, lookups, RECHECK, 100);

        CompletableFuture<DomainTlsPolicy> hanging = asynchronousCache.lookup("hanging.example");
        lookups.runAll();
        CompletableFuture<DomainTlsPolicy> other = asynchronousCache.lookup("example.com");
        assertThat(lookups.runAll()).as("only the other domain's TXT lookup").isEqualTo(1);

        assertThat(other).isCompleted();
        assertThat(other.join().enforces()).isTrue();
        assertThat(hanging).isNotDone();
        hangingFetch.complete(POLICY);
        assertThat(hanging.join().enforces()).isTrue();
    }

    @Test
    void aPolicyShouldBeFetchedOnceAndServedFromTheCache() {
        publish("example.com", "id1", POLICY);

        DomainTlsPolicy first = lookup("example.com");
        clock.advance(Duration.ofMinutes(1));
        DomainTlsPolicy second = lookup("EXAMPLE.com.");

        assertThat(first.enforces()).isTrue();
        assertThat(first.status()).isEqualTo("enforce (id id1, until 2025-03-02T00:00:00Z)");
        assertThat(second).isEqualTo(first);
        assertThat(fetches.get("example.com")).hasValue(1);
        assertThat(txtLookups).hasValue(1);
    }

    @Test
    void theTxtRecordShouldBeReadAgainAfterTheRecheckIntervalAndTheSameIdNotRefetched() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");

        clock.advance(RECHECK);
        DomainTlsPolicy policy = lookup("example.com");

        assertThat(policy.enforces()).isTrue();
        assertThat(txtLookups).hasValue(2);
        assertThat(fetches.get("example.com")).hasValue(1);
    }

    @Test
    void aNewTxtIdShouldFetchThePolicyAgain() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");
        publish("example.com", "id2", POLICY.replace("enforce", "testing"));

        clock.advance(RECHECK);
        lookup("example.com");
        DomainTlsPolicy after = lookup("example.com");

        assertThat(fetches.get("example.com")).hasValue(2);
        assertThat(after.mtaSts().orElseThrow().mode()).isEqualTo(MtaStsPolicy.Mode.TESTING);
        assertThat(after.status()).startsWith("testing (id id2, ");
    }

    @Test
    void aFailedRefetchShouldKeepTheCachedPolicyInForceUntilItExpires() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");
        txt.put("_mta-sts.example.com", List.of("v=STSv1; id=id2;"));
        files.remove("example.com");

        clock.advance(RECHECK);
        lookup("example.com");
        DomainTlsPolicy kept = lookup("example.com");

        assertThat(kept.enforces()).isTrue();
        assertThat(kept.status()).isEqualTo("enforce (id id1, until 2025-03-02T00:00:00Z); kept while policy fetch"
            + " failed: https://mta-sts.example.com/.well-known/mta-sts.txt: HTTP 404");

        clock.advance(Duration.ofDays(1));
        DomainTlsPolicy expired = lookup("example.com");

        assertThat(expired.mtaSts()).isEmpty();
        assertThat(expired.status()).isEqualTo("policy fetch failed: https://mta-sts.example.com/.well-known/mta-sts.txt:"
            + " HTTP 404");
    }

    @Test
    void aVanishedOrBrokenTxtRecordShouldKeepTheCachedPolicyInForce() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");

        txt.remove("_mta-sts.example.com");
        clock.advance(RECHECK);
        lookup("example.com");
        assertThat(lookup("example.com").status()).endsWith("; kept while no MTA-STS TXT record");

        txt.put("_mta-sts.example.com", List.of("v=STSv1; id=bad-id;"));
        clock.advance(RECHECK);
        lookup("example.com");
        DomainTlsPolicy kept = lookup("example.com");

        assertThat(kept.enforces()).isTrue();
        assertThat(kept.status()).endsWith("; kept while TXT record _mta-sts.example.com invalid: TXT record id must be"
            + " 1 to 32 letters or digits, was 'bad-id'");
    }

    @Test
    void aPolicyShouldBeRefreshedInTheBackgroundBeforeItExpires() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");

        clock.advance(Duration.ofHours(17));
        cache.refreshExpiring();
        assertThat(fetches.get("example.com")).hasValue(1);

        clock.advance(Duration.ofHours(1));
        cache.refreshExpiring();
        assertThat(fetches.get("example.com")).hasValue(2);

        clock.advance(Duration.ofHours(12));
        assertThat(lookup("example.com").status()).isEqualTo("enforce (id id1, until 2025-03-02T18:00:00Z)");
    }

    @Test
    void aCachedPolicyShouldOutliveDaysWithoutMailUntilItExpires() {
        publish("example.com", "id1", POLICY.replace("86400", "604800"));
        lookup("example.com");

        clock.advance(Duration.ofDays(3));
        DomainTlsPolicy later = lookup("example.com");

        assertThat(later.status()).isEqualTo("enforce (id id1, until 2025-03-08T00:00:00Z)");
        assertThat(fetches.get("example.com")).hasValue(1);
    }

    @Test
    void aDomainInUseShouldRefreshItsPolicyPastThreeQuartersOfItsMaxAge() {
        publish("example.com", "id1", POLICY);
        lookup("example.com");

        clock.advance(Duration.ofHours(18));
        lookup("example.com");

        assertThat(fetches.get("example.com")).hasValue(2);
    }

    @Test
    void anAbsurdMaxAgeShouldBeCappedAndSaidInTheStatus() {
        publish("example.com", "id1", POLICY.replace("86400", "4000000000"));

        DomainTlsPolicy policy = lookup("example.com");

        assertThat(policy.status()).isEqualTo("enforce (id id1, until 2026-03-01T06:00:00Z, max_age capped)");
    }

    @Test
    void aDomainWithoutPolicyShouldNotBeLookedUpAgainBeforeTheRecheckInterval() {
        DomainTlsPolicy first = lookup("plain.test");
        clock.advance(Duration.ofMinutes(4));
        lookup("plain.test");

        assertThat(first.mtaSts()).isEmpty();
        assertThat(first.status()).isEqualTo("no MTA-STS TXT record");
        assertThat(txtLookups).hasValue(1);

        clock.advance(Duration.ofMinutes(1));
        lookup("plain.test");
        assertThat(txtLookups).hasValue(2);
    }

    @Test
    void aMalformedPolicyShouldLeaveTheDomainWithoutPolicyAndSayWhy() {
        publish("example.com", "id1", "version: STSv1\nmode: enforce\nmax_age: 86400\n");

        DomainTlsPolicy policy = lookup("example.com");

        assertThat(policy.mtaSts()).isEmpty();
        assertThat(policy.status()).isEqualTo("policy of example.com malformed: mode enforce needs at least one 'mx'"
            + " line");
    }

    @Test
    void aMalformedTxtRecordShouldLeaveTheDomainWithoutPolicyAndSayWhy() {
        txt.put("_mta-sts.example.com", List.of("v=STSv1; id=1;", "v=STSv1; id=2;"));

        assertThat(lookup("example.com").status()).isEqualTo("TXT record _mta-sts.example.com invalid: 2 TXT records"
            + " begin with v=STSv1; exactly one is allowed");
        assertThat(fetches).isEmpty();
    }

    @Test
    void aFailingTxtLookupShouldNeverFailTheLookup() {
        MtaStsPolicyCache failing = new MtaStsPolicyCache(name -> {
            throw new IllegalStateException("SERVFAIL");
        }, fetcher, clock, Runnable::run, RECHECK, 100);

        DomainTlsPolicy policy = failing.lookup("example.com").join();

        assertThat(policy.mtaSts()).isEmpty();
        assertThat(policy.status()).isEqualTo("TXT lookup of _mta-sts.example.com failed: SERVFAIL");
    }

    @Test
    void aModeNonePolicyShouldBeCachedAndEnforceNothing() {
        publish("example.com", "id1", "version: STSv1\nmode: none\nmax_age: 86400\n");

        DomainTlsPolicy policy = lookup("example.com");

        assertThat(policy.mtaSts()).isPresent();
        assertThat(policy.enforces()).isFalse();
        assertThat(policy.admits("anything.test")).isTrue();
    }

    @Test
    void aHangingPolicyHostShouldDelayOnlyItsOwnDomain() throws Exception {
        threads = Executors.newFixedThreadPool(2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger hangingFetches = new AtomicInteger();
        publish("slow.test", "id1", POLICY);
        publish("fast.test", "id1", POLICY);
        MtaStsPolicyCache pooled = new MtaStsPolicyCache(txtLookup, domain -> {
            if (domain.equals("slow.test")) {
                hangingFetches.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new MtaStsException("interrupted");
                }
            }
            return fetcher.fetch(domain);
        }, clock, threads, RECHECK, 100);

        CompletableFuture<DomainTlsPolicy> slow = pooled.lookup("slow.test");
        CompletableFuture<DomainTlsPolicy> slowAgain = pooled.lookup("slow.test");
        DomainTlsPolicy fast = pooled.lookup("fast.test").get(5, TimeUnit.SECONDS);

        assertThat(fast.enforces()).isTrue();
        assertThat(slow).isNotDone();
        assertThat(slowAgain).isSameAs(slow);
        release.countDown();
        assertThat(slow.get(5, TimeUnit.SECONDS).enforces()).isTrue();
        assertThat(hangingFetches).hasValue(1);
    }

    @Test
    void aRejectedDiscoveryShouldAnswerWithWhatIsKnown() {
        MtaStsPolicyCache stopped = new MtaStsPolicyCache(txtLookup, fetcher, clock, task -> {
            throw new java.util.concurrent.RejectedExecutionException("stopped");
        }, RECHECK, 100);

        DomainTlsPolicy policy = stopped.lookup("example.com").join();

        assertThat(policy.mtaSts()).isEmpty();
        assertThat(policy.status()).isEqualTo("not looked up yet");
    }

    private void publish(String domain, String id, String policy) {
        txt.put("_mta-sts." + domain, List.of("v=STSv1; id=" + id + ";"));
        files.put(domain, policy);
    }

    private DomainTlsPolicy lookup(String domain) {
        CompletableFuture<DomainTlsPolicy> future = cache.lookup(domain);
        assertThat(future).isDone();
        return future.join();
    }
}

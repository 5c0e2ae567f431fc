package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.EngineHarness.outcome;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.smtp.TlsInfo;
import io.github.mxgovernor.testing.ManualExecutor;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.MtaStsPolicyCache;
import io.github.mxgovernor.tls.PlaintextFallbacks;
import io.github.mxgovernor.tls.PolicyFetcher;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsProblem;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * No remote party slows another, and nothing leaks: the engine's deadlines on session futures, slots and tokens given
 * back whatever a session throws, credentials only to verified servers, a lowered cap honoured at reuse, lookups off
 * the dequeue path. Fake sessions on fake time, except where a lookup thread is meant to hang.
 */
class EngineIsolationTest {
    private static final Duration CONNECT = Duration.ofSeconds(10);
    private static final Duration COMMAND = Duration.ofSeconds(10);
    private static final Duration TRANSACTION = Duration.ofSeconds(120);

    private final EngineHarness harness = new EngineHarness();
    private final FakeSmtpSessions sessions = harness.sessions;
    private ExecutorService lookupThreads;

    @AfterEach
    void stop() {
        harness.close();
        if (lookupThreads != null) {
            lookupThreads.shutdownNow();
        }
    }

    @Test
    void anOpeningThatNeverEndsShouldEndAtTheEnginesDeadlineAndHoldUpNoOtherDestination() {
        harness.start(rule());
        harness.mx("stuck.test", "mx1.stuck.test", "mx2.stuck.test");
        harness.mx("healthy.test", "mx1.healthy.test");
        sessions.holdOpens = true;
        CompletableFuture<Map<String, Outcome>> stuck = harness.deliver("stuck.test", "a");
        sessions.holdOpens = false;

        assertThat(harness.deliverNow("healthy.test", "b").kind()).isEqualTo(Outcome.Kind.DELIVERED);
        harness.advance(CONNECT.plus(COMMAND));
        assertThat(stuck).isNotDone();
        harness.advance(SessionWatchdog.MARGIN);

        Outcome outcome = outcome(stuck);
        assertThat(outcome.kind()).as("the next MX host took it").isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.destination()).isEqualTo("mx2.stuck.test");
        assertThat(harness.connections("mx1.stuck.test")).isZero();
    }

    @Test
    void aTransactionThatNeverEndsShouldBeAbortedAtTheEnginesDeadlineAndItsPartDeferred() {
        harness.start(rule());
        harness.mx("stuck.test", "mx1.stuck.test");
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> stuck = harness.deliver("stuck.test", "a");

        harness.advance(TRANSACTION);
        assertThat(stuck).isNotDone();
        harness.advance(SessionWatchdog.MARGIN);

        Outcome outcome = outcome(stuck);
        assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(outcome.message()).contains("transaction did not end within 120000 ms");
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "abort");
        assertThat(harness.connections("mx1.stuck.test")).isZero();
    }

    /** How a session factory may fail to open a session. */
    enum OpeningFault {
        THROWS_RUNTIME_EXCEPTION, THROWS_ERROR, FAILS_WITH_RUNTIME_EXCEPTION, FAILS_WITH_ERROR
    }

    @ParameterizedTest
    @EnumSource(OpeningFault.class)
    void whateverOpeningASessionThrowsItsSlotAndTokenShouldComeBackAndTheDestinationConnectAgain(
            OpeningFault fault) {
        harness.start(rule().maxConnections(1).messagesPerHour(60));
        harness.mx("example.com", "mx1.example.com");
        Supplier<Throwable> failure = fault == OpeningFault.THROWS_ERROR || fault == OpeningFault.FAILS_WITH_ERROR
            ? () -> new NoClassDefFoundError("io/netty/Missing") : () -> new IllegalStateException("factory broken");
        if (fault.name().startsWith("THROWS")) {
            sessions.openThrows = failure;
        } else {
            sessions.openFails = failure;
        }

        Outcome failed = harness.deliverNow("example.com", "a");

        assertThat(failed.reason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(failed.message()).startsWith("Internal error while delivering: ");
        assertThat(harness.connections("mx1.example.com")).isZero();
        sessions.openThrows = null;
        sessions.openFails = null;
        assertThat(harness.deliverNow("example.com", "b").kind()).as("connects again, with the refunded token")
            .isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(harness.connections("mx1.example.com")).isEqualTo(1);
    }

    /**
     * A factory that keeps throwing for one destination, beside a healthy one: every part of the first ends deferred
     * with its slot back, and the healthy destination delivers each of its parts at once, on one session, as if the
     * other did not exist (on fake time no step of it waits).
     */
    @ParameterizedTest
    @EnumSource(OpeningFault.class)
    void aFactoryThatKeepsFailingForOneDestinationShouldLeakNoSlotAndHoldUpNoOther(OpeningFault fault) {
        harness.start(rule().maxConnections(2));
        harness.mx("broken.test", "mx1.broken.test");
        harness.mx("healthy.test", "mx1.healthy.test");
        sessions.faultyHosts = host -> host.equals("mx1.broken.test");
        Supplier<Throwable> failure = fault == OpeningFault.THROWS_ERROR || fault == OpeningFault.FAILS_WITH_ERROR
            ? () -> new NoClassDefFoundError("io/netty/Missing") : () -> new IllegalStateException("factory broken");
        if (fault.name().startsWith("THROWS")) {
            sessions.openThrows = failure;
        } else {
            sessions.openFails = failure;
        }

        List<CompletableFuture<Map<String, Outcome>>> broken = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            broken.add(harness.deliver("broken.test", "b" + i));
            assertThat(harness.deliverNow("healthy.test", "h" + i).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        }

        assertThat(broken).allSatisfy(part -> assertThat(outcome(part).reason())
            .contains(DeferralReason.CONNECTION_FAILED));
        assertThat(harness.connections("mx1.broken.test")).isZero();
        assertThat(harness.connections("mx1.healthy.test")).isEqualTo(1);
        assertThat(sessions.transactions).hasSize(50);
    }

    @Test
    void aSessionWhoseCloseNeverEndsShouldBeAbortedAndItsSlotComeBack() {
        harness.start(rule().idleTimeout(Duration.ofSeconds(5)));
        harness.mx("example.com", "mx1.example.com");
        harness.deliverNow("example.com", "a");
        sessions.holdCloses = true;

        harness.advance(Duration.ofSeconds(5));
        assertThat(harness.connections("mx1.example.com")).as("closing").isEqualTo(1);
        harness.advance(SessionWatchdog.CLOSE_LIMIT.plus(SessionWatchdog.MARGIN));

        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close", "abort");
        assertThat(harness.connections("mx1.example.com")).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = TlsMode.class, names = {"OPPORTUNISTIC", "REQUIRED"})
    void aGatewayWhoseCertificateIsNotTrustedShouldNeverBeSentTheCredentials(TlsMode mode) {
        harness.start(rule().tlsMode(mode), EngineHarness.settings()
            .gatewayCredentials(Optional.of(new SmtpCredentials("relay-user", "secret"))).build());
        harness.mx("example.com", "gateway.example.net");
        sessions.tls = Optional.of(new TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", List.of(),
            CertificateCheck.failed(TlsProblem.UNTRUSTED_CHAIN, "self-signed")));

        Outcome outcome = harness.deliverNow("example.com", "a");

        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).contains("SMTP AUTH credentials not sent to gateway.example.net")
            .contains("certificate chain not trusted: self-signed");
        assertThat(sessions.authenticatedHosts).isEmpty();
        assertThat(sessions.sessions).singleElement().satisfies(session ->
            assertThat(session.calls).containsExactly("close"));
        assertThat(harness.connections("gateway.example.net")).isZero();
    }

    @Test
    void aGatewayInPlaintextShouldNeverBeSentTheCredentials() {
        harness.start(rule().tlsMode(TlsMode.OPPORTUNISTIC), EngineHarness.settings()
            .gatewayCredentials(Optional.of(new SmtpCredentials("relay-user", "secret"))).build());
        harness.mx("example.com", "gateway.example.net");

        Outcome outcome = harness.deliverNow("example.com", "a");

        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).contains("the session is not encrypted");
        assertThat(sessions.authenticatedHosts).isEmpty();
    }

    @Test
    void aGatewayWhoseCertificatePassedTheChecksShouldBeSentTheCredentials() {
        harness.start(rule().tlsMode(TlsMode.OPPORTUNISTIC), EngineHarness.settings()
            .gatewayCredentials(Optional.of(new SmtpCredentials("relay-user", "secret"))).build());
        harness.mx("example.com", "gateway.example.net");
        sessions.tls = Optional.of(new TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", List.of(),
            CertificateCheck.valid()));

        Outcome outcome = harness.deliverNow("example.com", "a");

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(sessions.authenticatedHosts).containsExactly("gateway.example.net");
        assertThat(sessions.sessions.get(0).calls).containsExactly("authenticate", "send");
        assertThat(sessions.settings).allSatisfy(settings -> assertThat(settings.credentials())
            .as("opening itself never authenticates").isEmpty());
    }

    @Test
    void aReloadThatLowersTheCapShouldLeaveNoMoreSessionsCarryingMailThanTheNewCap() {
        harness.start(rule().maxConnections(5));
        harness.mx("example.com", "mx1.example.com");
        sessions.holdTransactions = true;
        for (int i = 0; i < 5; i++) {
            harness.deliver("example.com", "warm" + i);
        }
        sessions.releaseAll();
        assertThat(harness.engine.idleSessions()).isEqualTo(5);

        MxRule lowered = rule().maxConnections(2).build();
        harness.engine.useRules(EngineHarness.rules(rule().maxConnections(2)));
        harness.governor.applyRules(List.of(harness.engine.rules()));
        sessions.peakSending.set(0);
        List<CompletableFuture<Map<String, Outcome>>> parts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            parts.add(harness.deliver("example.com", "user" + i));
        }
        assertThat(sessions.sendingNow).hasValue(2);
        sessions.releaseAll();

        assertThat(parts).allSatisfy(part -> assertThat(outcome(part).kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(sessions.peakSending).hasValue(lowered.maxConnections());
        assertThat(harness.connections("mx1.example.com")).isEqualTo(2);
    }

    @Test
    void aDomainWhoseNameServersHangShouldHoldOnlyItsOwnMail() throws Exception {
        lookupThreads = Executors.newFixedThreadPool(2);
        CountDownLatch hanging = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        AtomicInteger hangingLookups = new AtomicInteger();
        harness.mx("healthy.test", "mx1.healthy.test");
        MxResolver dns = harness.resolver;
        harness.resolver = domain -> {
            if (domain.equals("hanging.test")) {
                hangingLookups.incrementAndGet();
                entered.countDown();
                try {
                    hanging.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return dns.resolve(domain);
        };
        harness.lookups(lookupThreads).start(rule());
        try {
            CompletableFuture<Map<String, Outcome>> held = harness.deliver("hanging.test", "a");
            assertThat(held).as("deliver() returned at once").isNotDone();
            assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();

            Map<String, Outcome> healthy = harness.deliver("healthy.test", "b").get(5, TimeUnit.SECONDS);
            assertThat(EngineHarness.kinds(healthy)).containsExactly(Outcome.Kind.DELIVERED);

            harness.advance(Duration.ofSeconds(30));
            Outcome outcome = outcome(held);
            assertThat(outcome.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
            assertThat(outcome.message()).contains("MX lookup of hanging.test did not answer within 30000 ms");

            Outcome next = harness.deliverNow("hanging.test", "c");
            assertThat(next.reason()).as("answered at once while the lookup still hangs")
                .contains(DeferralReason.DNS_TEMPORARY_FAILURE);
            assertThat(hangingLookups).as("one lookup thread held").hasValue(1);
        } finally {
            hanging.countDown();
        }
    }

    @Test
    void aSlowLookupShouldHoldNoMoreWaitingPartsThanALaneHoldsWhileABurstForAFastOneWaitsWhole() {
        ManualExecutor lookups = new ManualExecutor();
        harness.mx("example.com", "mx1.example.com");
        harness.lookups(lookups).start(rule(), EngineHarness.settings().laneCapacity(3).build());
        List<CompletableFuture<Map<String, Outcome>>> burst = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            burst.add(harness.deliver("example.com", "burst" + i));
        }
        assertThat(burst).as("a lookup that just started: all wait").allSatisfy(part -> assertThat(part).isNotDone());

        harness.advance(MxLookups.SLOW);
        Outcome turnedAway = outcome(harness.deliver("example.com", "late"));
        lookups.runAll();

        assertThat(turnedAway.reason()).contains(DeferralReason.DNS_TEMPORARY_FAILURE);
        assertThat(turnedAway.message()).isEqualTo("Temporary problem looking up mail server for example.com: MX"
            + " lookup of example.com has not answered for 1000 ms, and 5 mails wait for it already");
        assertThat(burst).allSatisfy(part -> assertThat(outcome(part).kind()).isEqualTo(Outcome.Kind.DELIVERED));
    }

    @Test
    void aSlowMtaStsDiscoveryShouldHoldNoMoreWaitingPartsThanALaneHolds() {
        CompletableFuture<String> hangingFetch = new CompletableFuture<>();
        PolicyFetcher fetcher = new PolicyFetcher() {
            @Override
            public String fetch(String domain) {
                throw new UnsupportedOperationException("asynchronous only");
            }

            @Override
            public CompletableFuture<String> fetchAsync(String domain) {
                return hangingFetch;
            }
        };
        MtaStsPolicyCache policies = new MtaStsPolicyCache(name -> List.of("v=STSv1; id=1;"), fetcher,
            harness.clock, Runnable::run, Duration.ofMinutes(5), 100);
        harness.start(rule(), EngineHarness.settings().laneCapacity(2).build(), new TlsPolicyResolver(
            Optional.of(policies), DaneLookup.NOT_CONFIGURED, new PlaintextFallbacks(Duration.ofHours(1),
            harness.clock), Duration.ofSeconds(10)));
        harness.mx("slow.test", "mx1.slow.test");
        CompletableFuture<Map<String, Outcome>> first = harness.deliver("slow.test", "first");
        CompletableFuture<Map<String, Outcome>> second = harness.deliver("slow.test", "second");

        harness.advance(MxLookups.SLOW);
        Outcome third = outcome(harness.deliver("slow.test", "third"));

        assertThat(third.kind()).as("goes by its rule at once").isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(third.tls().orElseThrow().fields().get("mtaSts"))
            .isEqualTo("MTA-STS discovery still running after 1000 ms, 2 mails waiting for it");
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();
        hangingFetch.complete("version: STSv1\nmode: testing\nmx: mx1.slow.test\nmax_age: 86400\n");
        assertThat(outcome(first).tls().orElseThrow().fields().get("mtaSts")).startsWith("testing (id 1");
        assertThat(outcome(second).kind()).isEqualTo(Outcome.Kind.DELIVERED);
    }

    @Test
    void partsForOneDomainShouldShareOneLookup() {
        ManualExecutor lookups = new ManualExecutor();
        AtomicInteger asked = new AtomicInteger();
        harness.mx("example.com", "mx1.example.com");
        MxResolver dns = harness.resolver;
        harness.resolver = domain -> {
            asked.incrementAndGet();
            return dns.resolve(domain);
        };
        harness.lookups(lookups).start(rule());

        List<CompletableFuture<Map<String, Outcome>>> parts = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            parts.add(harness.deliver("example.com", "user" + i));
        }
        assertThat(parts).allSatisfy(part -> assertThat(part).isNotDone());
        lookups.runAll();

        assertThat(asked).hasValue(1);
        assertThat(parts).allSatisfy(part -> assertThat(outcome(part).kind()).isEqualTo(Outcome.Kind.DELIVERED));

        harness.deliver("example.com", "later");
        lookups.runAll();
        assertThat(asked).as("nothing kept once the lookup ended").hasValue(2);
    }

    @Test
    void aDomainsMxLookupAndItsMtaStsDiscoveryShouldRunSideBySide() {
        ManualExecutor lookups = new ManualExecutor();
        PolicyFetcher noFetch = new PolicyFetcher() {
            @Override
            public String fetch(String domain) {
                throw new AssertionError("no TXT record, no fetch");
            }

            @Override
            public CompletableFuture<String> fetchAsync(String domain) {
                throw new AssertionError("no TXT record, no fetch");
            }
        };
        MtaStsPolicyCache policies = new MtaStsPolicyCache(name -> List.of(), noFetch, harness.clock, lookups,
            Duration.ofMinutes(5), 100);
        harness.mx("example.com", "mx1.example.com");
        harness.lookups(lookups).start(rule(), EngineHarness.settings().build(), new TlsPolicyResolver(
            Optional.of(policies), DaneLookup.NOT_CONFIGURED, new PlaintextFallbacks(Duration.ofHours(1),
            harness.clock)));

        CompletableFuture<Map<String, Outcome>> part = harness.deliver("example.com", "a");

        assertThat(lookups.pending()).as("the MX lookup and the _mta-sts TXT lookup, started together").isEqualTo(2);
        lookups.runAll();
        Outcome outcome = outcome(part);
        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.tls().orElseThrow().fields().get("mtaSts")).isEqualTo("no MTA-STS TXT record");
    }

    @Test
    void hangingMtaStsPolicyHostsShouldNotDelayAnotherDomainAndTheirOwnMailWaitAtMostTheDiscoveryWait() {
        Duration discoveryWait = Duration.ofSeconds(2);
        PolicyFetcher fetcher = new PolicyFetcher() {
            @Override
            public String fetch(String domain) {
                throw new UnsupportedOperationException("asynchronous only");
            }

            @Override
            public CompletableFuture<String> fetchAsync(String domain) {
                return domain.startsWith("hang") ? new CompletableFuture<>()
                    : CompletableFuture.completedFuture("version: STSv1\nmode: testing\nmx: mx1.good.test\n"
                        + "max_age: 86400\n");
            }
        };
        MtaStsPolicyCache policies = new MtaStsPolicyCache(name -> List.of("v=STSv1; id=1;"), fetcher,
            harness.clock, Runnable::run, Duration.ofMinutes(5), 100);
        harness.start(rule(), EngineHarness.settings().build(), new TlsPolicyResolver(Optional.of(policies),
            DaneLookup.NOT_CONFIGURED, new PlaintextFallbacks(Duration.ofHours(1), harness.clock), discoveryWait));
        harness.mx("good.test", "mx1.good.test");
        List<CompletableFuture<Map<String, Outcome>>> hanging = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            harness.mx("hang" + i + ".test", "mx1.hang" + i + ".test");
            hanging.add(harness.deliver("hang" + i + ".test", "a"));
        }

        Outcome good = harness.deliverNow("good.test", "b");

        assertThat(good.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(good.tls().orElseThrow().fields().get("mtaSts")).startsWith("testing (id 1");
        assertThat(hanging).allSatisfy(part -> assertThat(part).isNotDone());
        harness.advance(discoveryWait);
        assertThat(hanging).allSatisfy(part -> {
            Outcome outcome = outcome(part);
            assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
            assertThat(outcome.tls().orElseThrow().fields().get("mtaSts"))
                .isEqualTo("MTA-STS discovery did not end within 2000 ms");
        });
    }

    @Test
    void aTlsaLookupThatNeverAnswersShouldBeUnusableAfterTheLookupTimeout() {
        ManualExecutor lookups = new ManualExecutor();
        harness.mx("example.com", "mx1.example.com");
        harness.lookups(lookups).start(rule().dane(true), EngineHarness.settings().build(), new TlsPolicyResolver(
            Optional.empty(), (host, port) -> DaneVerdict.notApplicable("never asked"), new PlaintextFallbacks(Duration.ofHours(1), harness.clock)));

        CompletableFuture<Map<String, Outcome>> part = harness.deliver("example.com", "a");
        assertThat(lookups.runNext()).as("the MX lookup").isTrue();
        assertThat(lookups.pending()).as("the TLSA lookup, which hangs").isEqualTo(1);
        assertThat(part).isNotDone();
        harness.advance(EngineSettings.builder().build().lookupTimeout());

        Outcome outcome = outcome(part);
        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).contains("TLSA lookup of mx1.example.com did not answer within 30000 ms");
        assertThat(harness.connections("mx1.example.com")).isZero();
    }

    private static MxRule.Builder rule() {
        return MxRule.builder("all").mxMasks("*").connectTimeout(CONNECT).commandTimeout(COMMAND)
            .transactionTimeout(TRANSACTION);
    }
}

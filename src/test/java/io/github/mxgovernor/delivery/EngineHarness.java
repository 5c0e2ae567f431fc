package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.tls.TlsPolicyResolver;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * An engine on fake time and fake sessions: decisions run on the thread that triggers them (a direct work executor),
 * time moves only by {@link #advance}, which moves the wall clock and the monotonic ticker together and runs what
 * falls due (lane sweeps, deadlines, wake-ups).
 */
final class EngineHarness implements AutoCloseable {
    static final Duration LANE_WAIT = Duration.ofSeconds(30);

    final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    final FakeScheduler time = new FakeScheduler();
    final FakeSmtpSessions sessions = new FakeSmtpSessions();
    final Map<String, MxResolution> dns = new ConcurrentHashMap<>();
    Governor governor = new Governor(clock, time, () -> 0.5);
    DeliveryEngine engine;
    private Executor lookups = Runnable::run;
    MxResolver resolver = domain -> dns.getOrDefault(domain, MxResolution.noHost("unknown test domain"));

    EngineHarness lookups(Executor executor) {
        this.lookups = executor;
        return this;
    }

    EngineHarness start(MxRule.Builder rule) {
        return start(rule, settings().build());
    }

    EngineHarness start(MxRule.Builder rule, EngineSettings settings) {
        return start(rule, settings, TlsPolicyResolver.rulesOnly(clock));
    }

    EngineHarness start(MxRule.Builder rule, EngineSettings settings, TlsPolicyResolver tls) {
        engine = new DeliveryEngine(governor, rules(rule), resolver, sessions, new ReplyClassifier(), settings, tls,
            EngineThreads.of(Runnable::run, lookups, time));
        return this;
    }

    static EngineSettings.Builder settings() {
        return EngineSettings.builder().heloName("test.local").maxLaneWait(LANE_WAIT);
    }

    static RuleSet rules(MxRule.Builder rule) {
        return RuleSet.of(MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").build(), List.of(rule.build()));
    }

    /** Moves the wall clock and the ticker forward together, running what falls due. */
    void advance(Duration duration) {
        clock.advance(duration);
        time.advance(duration);
    }

    void mx(String domain, String... hosts) {
        List<SmtpEndpoint> endpoints = new ArrayList<>();
        int address = 2;
        for (String host : hosts) {
            try {
                endpoints.add(new SmtpEndpoint(host, InetAddress.getByName("127.0.0." + address++), 25));
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
        dns.put(domain, MxResolution.found(endpoints));
    }

    static DeliveryPart part(String domain, String localPart) {
        return part(localPart + "-to-" + domain, domain, new SmtpTransaction("sender@local.test",
            List.of(localPart + "@" + domain), out -> out.write("Subject: test\r\n\r\nhello\r\n".getBytes()), false),
            false);
    }

    /** A part never deferred before. */
    static DeliveryPart part(String id, String domain, SmtpTransaction transaction, boolean dnsProblemRetryAllowed) {
        return new DeliveryPart(id, domain, transaction, dnsProblemRetryAllowed, Optional.empty());
    }

    CompletableFuture<Map<String, Outcome>> deliver(DeliveryPart part) {
        return engine.deliver(part);
    }

    CompletableFuture<Map<String, Outcome>> deliver(String domain, String localPart) {
        return engine.deliver(part(domain, localPart));
    }

    /** Delivers and returns the one recipient's outcome, which must be known at once. */
    Outcome deliverNow(String domain, String localPart) {
        return outcome(deliver(domain, localPart));
    }

    /** The single outcome of a part that must have completed. */
    static Outcome outcome(CompletableFuture<Map<String, Outcome>> future) {
        assertThat(future).as("part completed").isDone();
        return future.join().values().iterator().next();
    }

    static List<Outcome.Kind> kinds(Map<String, Outcome> outcomes) {
        List<Outcome.Kind> kinds = new ArrayList<>();
        outcomes.values().forEach(outcome -> kinds.add(outcome.kind()));
        return kinds;
    }

    Destination destination(String name) {
        return governor.find(name).orElseThrow();
    }

    int connections(String destination) {
        return governor.find(destination).map(found -> found.connections().inUse()).orElse(0);
    }

    @Override
    public void close() {
        if (engine != null) {
            engine.close(Duration.ofMillis(50));
        }
    }
}

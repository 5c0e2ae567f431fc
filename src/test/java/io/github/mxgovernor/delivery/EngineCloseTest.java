package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.EngineHarness.outcome;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.ManualExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DeliveryEngine#close(Duration)} stops in order: what waits is deferred at once, transactions in progress get
 * the grace, then every connection is aborted, every part has completed, and nothing more is asked of any session.
 * Fake sessions on fake time; the grace itself is real time, as close blocks its caller.
 */
class EngineCloseTest {
    private final EngineHarness harness = new EngineHarness();
    private final FakeSmtpSessions sessions = harness.sessions;
    private final ManualExecutor lookups = new ManualExecutor();

    @AfterEach
    void stop() {
        harness.close();
    }

    @Test
    void waitingPartsShouldBeDeferredAtOnceAndATransactionFinishingWithinTheGraceShouldEndNormally()
            throws Exception {
        harness.lookups(lookups).start(MxRule.builder("all").mxMasks("*").maxConnections(1));
        harness.mx("idle.test", "mx1.idle.test");
        harness.mx("example.com", "mx1.example.com");
        harness.mx("opening.test", "mx1.opening.test");
        CompletableFuture<Map<String, Outcome>> idle = deliver("idle.test", "idle");
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> sending = deliver("example.com", "sending");
        CompletableFuture<Map<String, Outcome>> waiting = deliver("example.com", "waiting");
        sessions.holdOpens = true;
        CompletableFuture<Map<String, Outcome>> opening = deliver("opening.test", "opening");
        CompletableFuture<Map<String, Outcome>> routing = harness.deliver("unresolved.test", "routing");
        assertThat(outcome(idle).kind()).isEqualTo(Outcome.Kind.DELIVERED);

        Thread closer = new Thread(() -> harness.engine.close(Duration.ofSeconds(30)), "closer");
        closer.start();
        List<Outcome> deferredAtOnce = new ArrayList<>();
        for (CompletableFuture<Map<String, Outcome>> part : List.of(waiting, opening, routing)) {
            deferredAtOnce.add(part.get(5, TimeUnit.SECONDS).values().iterator().next());
        }
        assertThat(sending).isNotDone();
        assertThat(closer.isAlive()).isTrue();
        sessions.releaseAll();
        closer.join(5_000);

        assertThat(closer.isAlive()).as("close returned once the transaction ended").isFalse();
        assertThat(outcome(sending).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(deferredAtOnce).allSatisfy(outcome -> {
            assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
            assertThat(outcome.reason()).contains(DeferralReason.CONNECTION_QUOTA_REACHED);
            assertThat(outcome.nextAttemptAt()).isPresent();
        });
        assertThat(sessions.cancelledOpens).as("the opening in progress was cancelled").hasValue(1);
        assertThat(sessions.sessions).allSatisfy(session -> assertThat(session.calls).endsWith("close"));
        assertThat(sessions.openNow).hasValue(0);
        Outcome late = outcome(harness.deliver("example.com", "late"));
        assertThat(late.message()).isEqualTo("Messages queued (delivery is stopping)");
    }

    @Test
    void aTransactionNotFinishedWithinTheGraceShouldBeAbortedAndDeferredAndNoSessionCalledAgain() {
        harness.start(MxRule.builder("all").mxMasks("*"));
        harness.mx("example.com", "mx1.example.com", "mx2.example.com");
        harness.mx("idle.test", "mx1.idle.test");
        harness.deliverNow("idle.test", "idle");
        sessions.holdTransactions = true;
        CompletableFuture<Map<String, Outcome>> sending = harness.deliver("example.com", "sending");

        harness.engine.close(Duration.ofMillis(100));

        Outcome outcome = outcome(sending);
        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).as("a local deferral: no retry spent").contains(
            DeferralReason.CONNECTION_QUOTA_REACHED);
        assertThat(outcome.message()).isEqualTo("Messages queued (delivery is stopping)");
        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");
        assertThat(sessions.sessions.get(1).calls).containsExactly("send", "abort");
        assertThat(harness.connections("mx1.example.com")).isZero();
        assertThat(harness.connections("mx2.example.com")).as("no next MX host tried").isZero();
        List<List<String>> callsAtClose = new ArrayList<>();
        sessions.sessions.forEach(session -> callsAtClose.add(List.copyOf(session.calls)));

        sessions.releaseAll();
        harness.advance(Duration.ofHours(1));
        harness.engine.sweep();

        List<List<String>> callsAfter = new ArrayList<>();
        sessions.sessions.forEach(session -> callsAfter.add(List.copyOf(session.calls)));
        assertThat(callsAfter).isEqualTo(callsAtClose);
        assertThat(sessions.opened).hasValue(2);
        assertThat(harness.destination("mx1.example.com").flowControl().state().kind())
            .as("our own abort is not the server's failure")
            .isEqualTo(io.github.mxgovernor.flowcontrol.FlowState.Kind.NORMAL);
    }

    @Test
    void closingTwiceShouldDoNothingMore() {
        harness.start(MxRule.builder("all").mxMasks("*"));
        harness.mx("example.com", "mx1.example.com");
        harness.deliverNow("example.com", "a");

        harness.engine.close(Duration.ofMillis(50));
        harness.engine.close(Duration.ofMillis(50));

        assertThat(sessions.sessions.get(0).calls).containsExactly("send", "close");
    }

    private CompletableFuture<Map<String, Outcome>> deliver(String domain, String localPart) {
        CompletableFuture<Map<String, Outcome>> part = harness.deliver(domain, localPart);
        lookups.runAll();
        return part;
    }
}

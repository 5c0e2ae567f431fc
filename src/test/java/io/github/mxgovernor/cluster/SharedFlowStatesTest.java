package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.cluster.SharedFlowState.Limits;
import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowState;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Flow-control states shared by two nodes (two stores in one JVM) through one private Redis. */
class SharedFlowStatesTest {
    private static final String DESTINATION = "mta5.am0.yahoodns.net";

    @RegisterExtension
    static final RedisStores redis = new RedisStores();

    private SharedFlowStates node(String name) {
        ClusterStore store = redis.open(redis.settings(name).build());
        assertThat(store.isUp()).isTrue();
        return store.flowStates();
    }

    private static SharedFlowState.Builder suspension(FlowState.Origin origin, Duration length) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return SharedFlowState.builder(DESTINATION, FlowState.Kind.SUSPENDED).origin(origin).since(now)
            .until(now.plus(length)).cause(FlowCause.Kind.RESPONSE_RULE, "a reply matching '421 4.7.0 \\[TSS04\\]'",
                "mx-rules.xml:131", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred");
    }

    private static SharedFlowState.Builder state(FlowState.Kind kind, FlowState.Origin origin) {
        return SharedFlowState.builder(DESTINATION, kind).origin(origin).since(Instant.now().truncatedTo(ChronoUnit.MILLIS))
            .cause(FlowCause.Kind.OPERATOR, "an operator " + kind, null, null);
    }

    @Test
    void aSuspensionOnOneNodeIsInForceOnTheOtherWithinOneSecond() {
        SharedFlowStates a = node("a");
        SharedFlowStates b = node("b");
        List<SharedFlowState> heardByB = new CopyOnWriteArrayList<>();
        List<Long> heardAt = new CopyOnWriteArrayList<>();
        b.watch(DESTINATION, state -> {
            heardAt.add(System.nanoTime());
            heardByB.add(state);
        });
        SharedFlowState suspended = suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(2)).build();

        long published = System.nanoTime();
        FlowPublication publication = a.publish(suspended).join();

        assertThat(publication.outcome()).isEqualTo(FlowPublication.Outcome.PUBLISHED);
        await().atMost(Duration.ofSeconds(1)).until(() -> !heardByB.isEmpty());
        assertThat(Duration.ofNanos(heardAt.get(0) - published)).isLessThan(Duration.ofSeconds(1));
        SharedFlowState heard = heardByB.get(0);
        assertThat(heard).isEqualTo(publication.state());
        assertThat(heard.kind()).isEqualTo(FlowState.Kind.SUSPENDED);
        assertThat(heard.until()).isEqualTo(suspended.until());
        assertThat(heard.origin()).isEqualTo(FlowState.Origin.AUTOMATIC);
        assertThat(heard.causeKind()).isEqualTo(FlowCause.Kind.RESPONSE_RULE);
        assertThat(heard.source()).hasValue("mx-rules.xml:131");
        assertThat(heard.reply()).hasValue("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred");
        assertThat(heard.node()).isEqualTo("a");
        assertThat(heard.version()).isPositive();
    }

    @Test
    void aBackoffCarriesItsLimits() {
        SharedFlowStates a = node("a");
        SharedFlowStates b = node("b");
        List<SharedFlowState> heard = new CopyOnWriteArrayList<>();
        b.watch(DESTINATION, heard::add);
        Limits limits = new Limits(1, 20, OptionalLong.of(60));

        a.publish(state(FlowState.Kind.BACKOFF, FlowState.Origin.AUTOMATIC).limits(limits).build()).join();

        await().atMost(Duration.ofSeconds(1)).until(() -> !heard.isEmpty());
        assertThat(heard.get(0).limits()).hasValue(limits);
        assertThat(heard.get(0).until()).isEmpty();
    }

    @Test
    void anOperatorsResumeOnAnyNodeAppliesEverywhere() {
        SharedFlowStates a = node("a");
        SharedFlowStates b = node("b");
        List<SharedFlowState> heardByA = new CopyOnWriteArrayList<>();
        a.watch(DESTINATION, heardByA::add);
        a.publish(suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(2)).build()).join();

        FlowPublication resumed = b.publish(state(FlowState.Kind.NORMAL, FlowState.Origin.OPERATOR).build()).join();

        assertThat(resumed.outcome()).isEqualTo(FlowPublication.Outcome.PUBLISHED);
        await().atMost(Duration.ofSeconds(1)).until(() -> !heardByA.isEmpty());
        assertThat(heardByA.get(heardByA.size() - 1).kind()).isEqualTo(FlowState.Kind.NORMAL);
        assertThat(heardByA.get(heardByA.size() - 1).node()).isEqualTo("b");
    }

    @Test
    void anAutomaticStateNeverReplacesAStricterOneOrAnOperatorsOne() {
        SharedFlowStates a = node("a");
        SharedFlowStates b = node("b");
        List<SharedFlowState> heardByB = new CopyOnWriteArrayList<>();
        b.watch(DESTINATION, heardByB::add);
        SharedFlowState suspended = a.publish(suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(2)).build())
            .join().state();

        FlowPublication backoff = b.publish(state(FlowState.Kind.BACKOFF, FlowState.Origin.AUTOMATIC).build()).join();
        FlowPublication shorter = b.publish(suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(1)).build())
            .join();

        assertThat(backoff.outcome()).isEqualTo(FlowPublication.Outcome.REFUSED);
        assertThat(backoff.state()).isEqualTo(suspended);
        assertThat(shorter.outcome()).isEqualTo(FlowPublication.Outcome.REFUSED);
        await().atMost(Duration.ofSeconds(1)).until(() -> heardByB.contains(suspended));

        FlowPublication longer = b.publish(suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(3)).build()).join();
        assertThat(longer.outcome()).as("the same kind lasting longer").isEqualTo(FlowPublication.Outcome.PUBLISHED);

        SharedFlowState forced = a.publish(state(FlowState.Kind.BACKOFF, FlowState.Origin.OPERATOR)
            .until(Instant.now().plus(Duration.ofHours(1))).build()).join().state();
        FlowPublication automatic = b.publish(suspension(FlowState.Origin.AUTOMATIC, Duration.ofHours(5)).build())
            .join();
        assertThat(automatic.outcome()).as("an operator's state holds").isEqualTo(FlowPublication.Outcome.REFUSED);
        assertThat(automatic.state()).isEqualTo(forced);
    }

    @Test
    void probesEndABackoffOnlyFromANodeThatSawIt() {
        SharedFlowStates a = node("a");
        SharedFlowStates b = node("b");
        SharedFlowStates unaware = node("c");
        List<SharedFlowState> heardByB = new CopyOnWriteArrayList<>();
        b.watch(DESTINATION, heardByB::add);
        a.publish(state(FlowState.Kind.BACKOFF, FlowState.Origin.AUTOMATIC).build()).join();
        await().atMost(Duration.ofSeconds(1)).until(() -> !heardByB.isEmpty());
        SharedFlowState probesEnded = SharedFlowState.builder(DESTINATION, FlowState.Kind.NORMAL)
            .cause(FlowCause.Kind.PROBES, "5 successful deliveries in a row", null, null).build();

        FlowPublication fromUnaware = unaware.publish(probesEnded).join();
        FlowPublication probes = b.publish(probesEnded).join();

        assertThat(fromUnaware.outcome()).as("a node that never saw the backoff").isEqualTo(
            FlowPublication.Outcome.REFUSED);
        assertThat(probes.outcome()).isEqualTo(FlowPublication.Outcome.PUBLISHED);
        assertThat(b.read(DESTINATION).join()).hasValueSatisfying(state -> {
            assertThat(state.kind()).isEqualTo(FlowState.Kind.NORMAL);
            assertThat(state.causeKind()).isEqualTo(FlowCause.Kind.PROBES);
        });
    }

    @Test
    void aNewWatcherHearsTheStateInForce() {
        SharedFlowStates a = node("a");
        SharedFlowState published = a.publish(suspension(FlowState.Origin.OPERATOR, Duration.ofMinutes(30)).build())
            .join().state();
        SharedFlowStates b = node("b");
        List<SharedFlowState> heard = new CopyOnWriteArrayList<>();

        b.watch(DESTINATION, heard::add);

        await().atMost(Duration.ofSeconds(1)).until(() -> heard.contains(published));
    }

    @Test
    void aMissedAnnouncementIsCaughtByThePeriodicRead() throws IOException {
        SharedFlowStates b = node("b");
        List<SharedFlowState> heard = new CopyOnWriteArrayList<>();
        b.watch(DESTINATION, heard::add);
        String key = redis.prefix() + ":{" + DESTINATION + "}:flow";
        long now = System.currentTimeMillis();

        // Written behind the nodes' backs: no announcement.
        redis.server().command("HSET", key, "kind", "SUSPENDED", "origin", "OPERATOR", "since", Long.toString(now),
            "until", Long.toString(now + 60_000), "cause", "OPERATOR", "description", "written by hand", "node", "elsewhere",
            "version", Long.toString(now * 1000));

        await().atMost(Duration.ofSeconds(1)).until(() -> !heard.isEmpty());
        assertThat(heard.get(0).description()).isEqualTo("written by hand");
        assertThat(heard.get(0).node()).isEqualTo("elsewhere");
    }
}

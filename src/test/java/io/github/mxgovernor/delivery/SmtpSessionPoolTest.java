package io.github.mxgovernor.delivery;

import static io.github.mxgovernor.delivery.LaneFixture.part;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.rules.LimitScope;
import io.github.mxgovernor.rules.MxRule;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Which idle session may carry a part, and which must close, on fake time. */
class SmtpSessionPoolTest {
    private static final MxRule RULE = MxRule.builder("all").mxMasks("*.example.com").limitScope(LimitScope.SHARED)
        .maxConnections(5).maxMessagesPerConnection(2).idleTimeout(Duration.ofSeconds(60)).build();

    private final LaneFixture fixture = new LaneFixture();
    private final Destination destination = fixture.destination(RULE, "mx1.example.com");
    private final SmtpSessionPool pool = new SmtpSessionPool(destination, fixture.tlsPolicy);
    private final List<PooledSession> gone = new ArrayList<>();

    @Test
    void anIdleSessionShouldCarryOnlyAPartThatGoesToItsHostWithTlsItMeets() {
        PooledSession plaintext = park(fixture.session(destination, "mx1.example.com", false, gone));
        PooledSession verified = park(fixture.session(destination, "mx2.example.com", true, gone));

        assertThat(pool.takeFor(part("elsewhere", "mx3.example.com"))).isNull();
        assertThat(pool.takeFor(part("tls", true, "mx1.example.com", "mx2.example.com"))).isSameAs(verified);
        assertThat(pool.takeFor(part("tls-again", true, "mx1.example.com"))).as("plaintext never carries REQUIRETLS")
            .isNull();
        assertThat(pool.takeFor(part("plain", "mx1.example.com"))).isSameAs(plaintext);
        assertThat(pool.isEmpty()).isTrue();
    }

    @Test
    void aPartThatNeedsAFreshSessionShouldGetNoIdleOne() {
        park(fixture.session(destination, "mx1.example.com", false, gone));
        PendingPart part = part("retried", "mx1.example.com");
        part.takeFreshSessionRetry();

        assertThat(pool.takeFor(part)).isNull();
        assertThat(pool.size()).isEqualTo(1);
    }

    @Test
    void aSessionThatCarriedItsMailsPerConnectionShouldNotBeHandedOut() {
        PooledSession session = fixture.session(destination, "mx1.example.com", false, gone);
        session.session().send(transaction()).join();
        session.session().send(transaction()).join();
        park(session);

        assertThat(pool.takeFor(part("next", "mx1.example.com"))).isNull();
    }

    @Test
    void idleSessionsShouldExpireByTheTickerAfterTheIdleTimeout() {
        PooledSession old = park(fixture.session(destination, "mx1.example.com", false, gone));
        fixture.time.advance(Duration.ofSeconds(30));
        PooledSession young = park(fixture.session(destination, "mx2.example.com", false, gone));

        fixture.time.advance(Duration.ofSeconds(29));
        assertThat(pool.evictExpired(fixture.time.nanos(), RULE.idleTimeout())).isEmpty();
        fixture.time.advance(Duration.ofSeconds(1));
        assertThat(pool.evictExpired(fixture.time.nanos(), RULE.idleTimeout())).containsExactly(old);
        assertThat(pool.takeFor(part("next", "mx2.example.com"))).isSameAs(young);
    }

    @Test
    void anIdleSessionNoLongerUsableShouldBeEvictedAtOnce() {
        PooledSession broken = park(fixture.session(destination, "mx1.example.com", false, gone));
        fixture.sessions.sessions.get(0).abort();

        assertThat(pool.evictExpired(fixture.time.nanos(), RULE.idleTimeout())).containsExactly(broken);
    }

    @Test
    void aLoweredCapShouldEvictTheOldestIdleSessionsBeyondIt() {
        List<PooledSession> parked = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            parked.add(park(fixture.session(destination, "mx1.example.com", false, gone)));
        }
        assertThat(pool.evictOverCap(0)).isEmpty();

        fixture.reload(MxRule.builder("all").mxMasks("*.example.com").limitScope(LimitScope.SHARED)
            .maxConnections(2).maxMessagesPerConnection(2).idleTimeout(Duration.ofSeconds(60)).build());

        assertThat(pool.evictOverCap(0)).containsExactlyElementsOf(parked.subList(0, 3));
        assertThat(pool.evictOverCap(3)).as("those closing count as gone").isEmpty();
    }

    @Test
    void aSessionPutBackShouldBeTheFirstOneAgainAndTheOldestTheFirstEvicted() {
        PooledSession first = park(fixture.session(destination, "mx1.example.com", false, gone));
        PooledSession second = park(fixture.session(destination, "mx1.example.com", false, gone));

        PooledSession taken = pool.takeFor(part("a", "mx1.example.com"));
        pool.putBack(taken);

        assertThat(taken).isSameAs(first);
        assertThat(pool.evictOldest()).isSameAs(first);
        assertThat(pool.drain()).containsExactly(second);
        assertThat(pool.isEmpty()).isTrue();
    }

    @Test
    void aSessionShouldReleaseItsSlotOnceWhenItsCloseCompletesOrItIsAborted() {
        fixture.sessions.holdCloses = true;
        PooledSession closing = fixture.session(destination, "mx1.example.com", false, gone);
        PooledSession aborted = fixture.session(destination, "mx1.example.com", false, gone);

        assertThat(closing.markClosing()).isTrue();
        closing.close();
        aborted.abort();
        aborted.abort();
        assertThat(destination.connections().inUse()).as("one slot still held until its QUIT is done").isEqualTo(1);

        fixture.sessions.releaseAll();
        closing.abort();

        assertThat(destination.connections().inUse()).isZero();
        assertThat(gone).containsExactlyInAnyOrder(closing, aborted);
        assertThat(fixture.sessions.sessions.get(1).calls).containsExactly("abort");
    }

    private PooledSession park(PooledSession session) {
        pool.park(session, fixture.time.nanos());
        return session;
    }

    private static io.github.mxgovernor.smtp.SmtpTransaction transaction() {
        return new io.github.mxgovernor.smtp.SmtpTransaction("sender@local.test", List.of("a@example.com"),
            out -> out.write('x'), false);
    }
}

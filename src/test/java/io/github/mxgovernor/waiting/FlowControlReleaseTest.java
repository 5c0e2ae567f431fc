package io.github.mxgovernor.waiting;

import static io.github.mxgovernor.deferral.DeferralReason.DYNAMIC_FLOW_CONTROL;
import static io.github.mxgovernor.deferral.DeferralReason.SMTP_TEMPORARY_FAILURE;
import static io.github.mxgovernor.deferral.DeferralReason.SUSPENDED;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

/** The waiting place hears the governor's flow-control changes (a real governor on a fake clock). */
class FlowControlReleaseTest {
    private static final String MX1 = "mx1.example.com";
    private static final String MX2 = "mx2.example.com";
    private final FakeClock clock = FakeClock.at("2026-05-01T12:00:00Z");
    private final FakeScheduler scheduler = new FakeScheduler();
    private final Governor governor = new Governor(clock, () -> 0);
    private final MxRule rule = MxRule.builder("all").mxMasks("*").build();
    private final WaitingIndex index = new WaitingIndex();
    private final List<Long> released = new CopyOnWriteArrayList<>();
    private final ReleaseLoop loop = new ReleaseLoop(index, mail -> {
        released.add(mail.identity());
        return ReleaseLoop.Result.RELEASED;
    }, ReleaseLeases.LOCAL, 1000, 4, clock, scheduler, scheduler, Runnable::run);

    FlowControlReleaseTest() {
        governor.destination(rule, MX1);
        governor.destination(rule, MX2);
        governor.addFlowControlListener(new FlowControlRelease(loop, scheduler, "test"));
    }

    @Test
    void anOperatorsResumeShouldReleaseTheDestinationsHeldMailFirstAndSpreadAsFlowControlDoes() {
        governor.suspend(MX1, clock.instant().plus(Duration.ofHours(2)), "complaints");
        add(1, MX1, SUSPENDED, Duration.ofHours(2));
        add(2, MX1, SUSPENDED, Duration.ofHours(2).plusMinutes(6));
        add(3, MX1, SMTP_TEMPORARY_FAILURE, Duration.ofHours(1));
        add(4, MX2, SUSPENDED, Duration.ofHours(2));
        advance(Duration.ofMinutes(30));
        assertThat(released).isEmpty();

        governor.resume(MX1, "cause fixed");
        advance(Duration.ofSeconds(1));

        assertThat(released).containsExactly(1L);
        advance(Duration.ofMinutes(6));
        assertThat(released).containsExactly(1L, 2L);
        advance(Duration.ofMinutes(30));
        assertThat(released).containsExactly(1L, 2L, 3L);
        assertThat(index.waitingFor(MX2)).isEqualTo(1);
    }

    @Test
    void theExpiryOfASuspensionShouldReleaseItsMailWhenFlowControlNoticesIt() {
        governor.suspend(MX1, clock.instant().plus(Duration.ofMinutes(10)), "complaints");
        // a mail deferred when the suspension was meant to last longer (extended by hand, then shortened)
        add(1, MX1, SUSPENDED, Duration.ofHours(1));
        advance(Duration.ofMinutes(10));
        assertThat(released).isEmpty();

        governor.find(MX1).orElseThrow().flowControl().state();
        advance(Duration.ofSeconds(1));

        assertThat(released).containsExactly(1L);
    }

    @Test
    void theEndOfABackoffShouldReleaseMailHeldByIt() {
        governor.backoff(MX1, clock.instant().plus(Duration.ofHours(1)), "slow down");
        add(1, MX1, DYNAMIC_FLOW_CONTROL, Duration.ofHours(1));

        governor.cancelAutomatic(MX1, "no-op: an operator set it");
        advance(Duration.ofSeconds(1));
        assertThat(released).isEmpty();
        governor.resume(MX1, "enough");
        advance(Duration.ofSeconds(1));

        assertThat(released).containsExactly(1L);
    }

    @Test
    void aNewSuspensionShouldReleaseNothing() {
        add(1, MX1, SUSPENDED, Duration.ofHours(1));

        governor.suspend(MX1, clock.instant().plus(Duration.ofHours(2)), "complaints");
        governor.backoff(MX2, clock.instant().plus(Duration.ofHours(2)), "slow");
        advance(Duration.ofMinutes(1));

        assertThat(released).isEmpty();
        assertThat(index.size()).isEqualTo(1);
    }

    private void add(long identity, String destination, DeferralReason reason, Duration in) {
        Instant due = clock.instant().plus(in);
        index.add(WaitingMail.of(WaitingKey.of(identity, due, reason, destination), reason, destination, due, false));
        loop.wake();
    }

    private void advance(Duration duration) {
        Duration step = Duration.ofMillis(100);
        for (Duration left = duration; left.compareTo(Duration.ZERO) > 0; left = left.minus(step)) {
            Duration move = left.compareTo(step) < 0 ? left : step;
            clock.advance(move);
            scheduler.advance(move);
        }
    }
}

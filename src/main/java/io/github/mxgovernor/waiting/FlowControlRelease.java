package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowControlEvent;
import io.github.mxgovernor.flowcontrol.FlowControlListener;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.time.Scheduler;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases the mail flow control held back as soon as its destination is let go: when a suspension ends (it expired,
 * an operator resumed the destination or cancelled the automatic state; a suspension may end in a half-open backoff) or
 * a backoff ends (expiry, probes, operator), the destination's mails waiting for {@code SUSPENDED} or
 * {@code DYNAMIC_FLOW_CONTROL} go ahead of the mails merely due, spread as flow control spreads them when a state runs
 * out (each keeps its distance from the first, at most {@link #MAX_SPREAD}). Mails waiting for another reason (a
 * server's 4xx, a retry schedule) keep their time.
 *
 * <p>Flow control tells its listeners on the thread that made the change, often a delivery thread: the release runs on
 * the loop's scheduler instead.
 */
public final class FlowControlRelease implements FlowControlListener {
    /** The reasons flow control holds mail back for. */
    public static final Set<DeferralReason> HELD = EnumSet.of(DeferralReason.SUSPENDED,
        DeferralReason.DYNAMIC_FLOW_CONTROL);
    /** As far apart as flow control spreads held mail over the end of a state (a tenth of its length, at most this). */
    public static final Duration MAX_SPREAD = Duration.ofMinutes(15);
    private static final Logger LOGGER = LoggerFactory.getLogger(FlowControlRelease.class);

    private final ReleaseLoop loop;
    private final Scheduler scheduler;
    private final String place;

    /** @param place the waiting place, for the log */
    public FlowControlRelease(ReleaseLoop loop, Scheduler scheduler, String place) {
        this.loop = Objects.requireNonNull(loop, "loop");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.place = Objects.requireNonNull(place, "place");
    }

    /** Whether the change lets held mail go: out of SUSPENDED, or from BACKOFF back to NORMAL. */
    public static boolean letsGo(FlowControlEvent event) {
        return event.from() == FlowState.Kind.SUSPENDED && event.to() != FlowState.Kind.SUSPENDED
            || event.from() == FlowState.Kind.BACKOFF && event.to() == FlowState.Kind.NORMAL;
    }

    @Override
    public void onTransition(FlowControlEvent event) {
        if (!letsGo(event)) {
            return;
        }
        scheduler.schedule(Duration.ZERO, () -> {
            int released = loop.releaseEarly(event.destination(), HELD, MAX_SPREAD);
            if (released > 0) {
                LOGGER.info("{} mails held back for {} leave {} early: {}", released, event.destination(), place,
                    event);
            }
        });
    }
}

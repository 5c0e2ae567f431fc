package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.DestinationStats;
import io.github.mxgovernor.governor.Governor;

import java.util.EnumMap;
import java.util.Map;

import org.apache.james.metrics.api.Metric;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.metrics.api.TimeMetric;

/**
 * James's metrics ({@link MetricFactory}, exported wherever James exports its own) of mx-governor. The counters mirror
 * the governor's totals ({@link Governor#stats()}, shown over JMX): they hear each end as the governor counts it (one
 * listener per governor, see {@link SharedGovernor}), so they have the same meaning. Counts are recipients.
 *
 * <ul>
 *   <li>{@value #DELIVERED}, {@value #BOUNCED}: counters;</li>
 *   <li>{@value #DEFERRED} and {@value #DEFERRED}{@code .<REASON>} (such as {@code mxgovernor.deferred.SUSPENDED}):
 *       counters;</li>
 *   <li>{@value #ATTEMPT}: a timer, from handing one recipient domain's part of a mail to the engine until its
 *       outcome (lane wait included).</li>
 * </ul>
 */
final class DeliveryMetrics implements DestinationStats.EndListener {
    static final String DELIVERED = "mxgovernor.delivered";
    static final String DEFERRED = "mxgovernor.deferred";
    static final String BOUNCED = "mxgovernor.bounced";
    static final String ATTEMPT = "mxgovernor.attempt";

    private final MetricFactory factory;
    private final Metric delivered;
    private final Metric deferred;
    private final Metric bounced;
    private final Map<DeferralReason, Metric> deferredByReason = new EnumMap<>(DeferralReason.class);

    DeliveryMetrics(MetricFactory factory) {
        this.factory = factory;
        this.delivered = factory.generate(DELIVERED);
        this.deferred = factory.generate(DEFERRED);
        this.bounced = factory.generate(BOUNCED);
        for (DeferralReason reason : DeferralReason.values()) {
            deferredByReason.put(reason, factory.generate(DEFERRED + "." + reason.name()));
        }
    }

    TimeMetric startAttempt() {
        return factory.timer(ATTEMPT);
    }

    @Override
    public void delivered(int recipients) {
        delivered.add(recipients);
    }

    @Override
    public void deferred(DeferralReason reason, int recipients) {
        deferred.add(recipients);
        deferredByReason.get(reason).add(recipients);
    }

    @Override
    public void bounced(int recipients) {
        bounced.add(recipients);
    }
}

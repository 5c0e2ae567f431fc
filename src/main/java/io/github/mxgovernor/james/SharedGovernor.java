package io.github.mxgovernor.james;

import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.GovernorBeans;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import javax.management.JMException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one {@link Governor} of a JVM, shared by every governed mailet so that caps hold across mailet
 * instances. Reference-counted: the last mailet destroyed drops it, so a James restarted in the same JVM
 * (tests) starts from clean counters.
 *
 * <p>With the governor live, its housekeeping runs on a thread of its own ({@link Governor#startHousekeeping}), its JMX
 * beans are registered on the platform MBean server ({@link GovernorBeans}), James's metrics hear every end it counts
 * ({@link DeliveryMetrics}), the mailets' rules sources are gathered
 * so that one {@code reloadRules} reaches every mailet, and their queue runners so that the Governor bean shows how
 * each takes mail from its queue. {@link #current()} lets tools in the same JVM (the demo, the benchmark) read the
 * live counters.
 */
public final class SharedGovernor {
    private static final Logger LOGGER = LoggerFactory.getLogger(SharedGovernor.class);

    private static Governor governor;
    private static RulesSources rulesSources;
    private static QueueRunners queueRunners;
    private static GovernorBeans beans;
    private static ScheduledExecutorService housekeeping;
    private static int users;

    private SharedGovernor() {
    }

    /**
     * The governor, created by the first mailet, whose metrics then mirror its totals in James's metrics.
     *
     * @param metrics the acquiring mailet's metrics; only the first mailet's are registered, once
     * @param clock   the governor's clock: the first mailet's (tests run mailets on a fake clock)
     */
    static synchronized Governor acquire(DeliveryMetrics metrics, Clock clock) {
        if (governor == null) {
            governor = new Governor(clock);
            governor.addEndListener(metrics);
            housekeeping = Executors.newSingleThreadScheduledExecutor(new DaemonThreadFactory(
                "mx-governor-housekeeping"));
            governor.startHousekeeping(housekeeping);
            rulesSources = new RulesSources(governor, clock);
            queueRunners = new QueueRunners();
            try {
                beans = GovernorBeans.register(governor, rulesSources, queueRunners, WaitingRooms.jvmWide());
            } catch (JMException e) {
                LOGGER.warn("mx-governor's JMX beans could not be registered: delivery goes on, without them", e);
            }
        }
        users++;
        return governor;
    }

    /** The governor of the governed mailets running in this JVM; empty while none runs. */
    public static synchronized Optional<Governor> current() {
        return Optional.ofNullable(governor);
    }

    /** Lets {@code reloadRules} reach a mailet that holds the governor. */
    static synchronized void addRulesSource(RulesSource source) {
        if (rulesSources == null) {
            throw new IllegalStateException("acquire the governor before adding a rules source");
        }
        rulesSources.add(source);
    }

    static synchronized void removeRulesSource(RulesSource source) {
        if (rulesSources != null) {
            rulesSources.remove(source);
        }
    }

    /** Shows a mailet's queue runner on the Governor bean. */
    static synchronized void addQueueRunner(QueueRunner runner) {
        if (queueRunners == null) {
            throw new IllegalStateException("acquire the governor before adding a queue runner");
        }
        queueRunners.add(runner);
    }

    static synchronized void removeQueueRunner(QueueRunner runner) {
        if (queueRunners != null) {
            queueRunners.remove(runner);
        }
    }

    static synchronized void release() {
        if (users > 0 && --users == 0) {
            if (beans != null) {
                beans.close();
            }
            housekeeping.shutdownNow();
            governor = null;
            rulesSources = null;
            queueRunners = null;
            beans = null;
            housekeeping = null;
        }
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.GovernorBeans;
import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;

import javax.mail.MessagingException;
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
 *
 * <p>With a cluster store ({@code store}), the first mailet opens it ({@link ClusterStore#open}, which does not fail
 * when the store is unreachable: the node starts on its shares) and every other governed mailet of the JVM must name
 * the same store the same way; the store is closed after the last mailet's engines stopped, so that connections
 * closed first gave their leases back.
 */
public final class SharedGovernor {
    private static final Logger LOGGER = LoggerFactory.getLogger(SharedGovernor.class);

    private static Governor governor;
    private static RulesSources rulesSources;
    private static QueueRunners queueRunners;
    private static GovernorBeans beans;
    private static ScheduledExecutorService housekeeping;
    private static Optional<ClusterStore> store = Optional.empty();
    private static int users;

    private SharedGovernor() {
    }

    /**
     * The governor, created by the first mailet, whose metrics then mirror its totals in James's metrics.
     *
     * @param metrics the acquiring mailet's metrics; only the first mailet's are registered, once
     * @param clock   the governor's clock: the first mailet's (tests run mailets on a fake clock)
     * @param storeSettings the mailet's cluster store; every mailet of the JVM must give the same, or none
     * @throws MessagingException naming {@code store} when another mailet of this JVM uses another store, or none
     */
    static synchronized Governor acquire(DeliveryMetrics metrics, Clock clock, Optional<StoreSettings> storeSettings)
            throws MessagingException {
        if (governor != null) {
            refuseOtherStore(storeSettings);
        }
        if (governor == null) {
            store = storeSettings.map(settings -> ClusterStore.open(settings, clock, Ticker.SYSTEM));
            governor = new Governor(clock, Ticker.SYSTEM,
                () -> ThreadLocalRandom.current().nextDouble(), store);
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

    private static void refuseOtherStore(Optional<StoreSettings> wanted) throws MessagingException {
        Optional<StoreSettings> running = store.map(ClusterStore::settings);
        boolean same = running.isPresent() == wanted.isPresent()
            && (running.isEmpty() || running.get().sameAs(wanted.get()));
        if (!same) {
            throw new MessagingException("Invalid mailet parameter " + StoreSettings.STORE + ": another governed mailet"
                + " of this James already runs " + running.map(settings -> "with the cluster store " + settings)
                .orElse("without a cluster store") + "; every governed mailet of one James shares one governor and"
                + " must give the same " + StoreSettings.STORE + " parameters (this one: "
                + wanted.map(StoreSettings::toString).orElse("none") + ")");
        }
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
            store.ifPresent(ClusterStore::close);
            store = Optional.empty();
            governor = null;
            rulesSources = null;
            queueRunners = null;
            beans = null;
            housekeeping = null;
        }
    }
}

package io.github.mxgovernor.james.jmx;

import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.PeriodicTask;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MXBeans of one governor on an MBean server: {@code io.github.mxgovernor:type=Governor}, and one
 * {@code io.github.mxgovernor:type=Destination,name=<destination>} per active destination.
 *
 * <p>A pass every few seconds keeps the Destination beans to the active destinations: those with connections open,
 * not in NORMAL flow control, or with mail routed to them within {@link #DEFAULT_BEAN_IDLE}; at most
 * {@link #DEFAULT_MAX_BEANS} beans are kept for merely recent ones, so that a server that talks to 100,000 domains
 * does not carry 100,000 beans. The pass only reads the governor: forgetting idle destinations is the governor's own
 * housekeeping ({@link Governor#startHousekeeping}).
 */
public final class GovernorBeans implements AutoCloseable {
    public static final String DOMAIN = "io.github.mxgovernor";
    public static final Duration DEFAULT_BEAN_IDLE = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_BEANS = 1000;
    static final Duration HOUSEKEEPING_INTERVAL = Duration.ofSeconds(5);
    private static final Logger LOGGER = LoggerFactory.getLogger(GovernorBeans.class);
    /** Characters an unquoted ObjectName value may not hold. */
    private static final String NEEDS_QUOTING = ",=:\"*?\n";

    private final MBeanServer server;
    private final Governor governor;
    private final Duration beanIdle;
    private final int maxBeans;
    private final Map<String, DestinationBean> beans = new HashMap<>();
    private ScheduledExecutorService housekeeping;

    GovernorBeans(MBeanServer server, Governor governor, Duration beanIdle, int maxBeans) {
        this.server = Objects.requireNonNull(server, "server");
        this.governor = Objects.requireNonNull(governor, "governor");
        this.beanIdle = Objects.requireNonNull(beanIdle, "beanIdle");
        this.maxBeans = maxBeans;
    }

    /**
     * Registers the Governor bean on the platform MBean server (the one James's JMX connector exports) and starts
     * keeping the Destination beans to the active destinations.
     *
     * @throws JMException if the beans cannot be registered, for instance because another governor's are
     */
    public static GovernorBeans register(Governor governor, RulesFiles rules, DequeueStates dequeue,
                                         WaitingPlaces waiting) throws JMException {
        GovernorBeans beans = new GovernorBeans(ManagementFactory.getPlatformMBeanServer(), governor,
            DEFAULT_BEAN_IDLE, DEFAULT_MAX_BEANS);
        beans.registerGovernor(rules, dequeue, waiting);
        beans.startHousekeeping();
        return beans;
    }

    /** {@code io.github.mxgovernor:type=Governor}. */
    public static ObjectName governorName() {
        return name(new Hashtable<>(Map.of("type", "Governor")));
    }

    /**
     * {@code io.github.mxgovernor:type=Destination,name=<destination>}, the name quoted
     * ({@link ObjectName#quote}) when it holds a character an ObjectName value cannot, as {@code shared:google} does.
     */
    public static ObjectName destinationName(String destination) {
        boolean quote = destination.chars().anyMatch(c -> NEEDS_QUOTING.indexOf(c) >= 0);
        return name(new Hashtable<>(Map.of("type", "Destination",
            "name", quote ? ObjectName.quote(destination) : destination)));
    }

    private static ObjectName name(Hashtable<String, String> properties) {
        try {
            return new ObjectName(DOMAIN, properties);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("cannot name an MBean " + properties + ": " + e.getMessage(), e);
        }
    }

    void registerGovernor(RulesFiles rules, DequeueStates dequeue, WaitingPlaces waiting) throws JMException {
        server.registerMBean(new GovernorBean(governor, rules, dequeue, waiting), governorName());
    }

    private void startHousekeeping() {
        housekeeping = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "mx-governor-jmx");
            thread.setDaemon(true);
            return thread;
        });
        housekeeping.scheduleWithFixedDelay(new PeriodicTask("Refreshing the destination beans", this::refresh), 0,
            HOUSEKEEPING_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Registers and unregisters Destination beans to match the destinations the governor tracks. */
    synchronized void refresh() {
        long recent = governor.clock().millis() - beanIdle.toMillis();
        Map<String, Destination> wanted = new HashMap<>();
        List<Destination> recentWithoutBean = new ArrayList<>();
        int recentOnly = 0;
        for (Destination destination : governor.destinations()) {
            boolean held = destination.connections().inUse() > 0
                || destination.flowControl().state().kind() != FlowState.Kind.NORMAL;
            if (held) {
                wanted.put(destination.name(), destination);
            } else if (destination.lastActivity().toEpochMilli() >= recent) {
                DestinationBean bean = beans.get(destination.name());
                if (bean != null && bean.destination() == destination) {
                    wanted.put(destination.name(), destination);
                    recentOnly++;
                } else {
                    recentWithoutBean.add(destination);
                }
            }
        }
        for (Destination destination : recentWithoutBean) {
            if (recentOnly >= maxBeans) {
                break;
            }
            wanted.put(destination.name(), destination);
            recentOnly++;
        }
        for (Iterator<Map.Entry<String, DestinationBean>> it = beans.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, DestinationBean> entry = it.next();
            if (wanted.get(entry.getKey()) != entry.getValue().destination()) {
                unregister(entry.getKey());
                it.remove();
            }
        }
        for (Destination destination : wanted.values()) {
            // Asked here, in the background, so that reading ClusterConnections never waits on the store.
            destination.refreshClusterCount();
            if (!beans.containsKey(destination.name())) {
                DestinationBean bean = new DestinationBean(destination);
                try {
                    server.registerMBean(bean, destinationName(destination.name()));
                    beans.put(destination.name(), bean);
                } catch (JMException e) {
                    LOGGER.warn("Cannot register the JMX bean of destination {}", destination.name(), e);
                }
            }
        }
    }

    /** The names of the destinations that have a bean now. */
    synchronized Set<String> registeredDestinations() {
        return Set.copyOf(beans.keySet());
    }

    private void unregister(String destination) {
        try {
            server.unregisterMBean(destinationName(destination));
        } catch (JMException e) {
            LOGGER.debug("Destination bean {} was already gone", destination, e);
        }
    }

    /** Stops the housekeeping and unregisters every bean. */
    @Override
    public synchronized void close() {
        if (housekeeping != null) {
            housekeeping.shutdownNow();
        }
        beans.keySet().forEach(this::unregister);
        beans.clear();
        try {
            server.unregisterMBean(governorName());
        } catch (JMException e) {
            LOGGER.debug("The governor bean was already gone", e);
        }
    }
}

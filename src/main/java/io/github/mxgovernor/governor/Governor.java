package io.github.mxgovernor.governor;

import io.github.mxgovernor.flowcontrol.DeliveryLimits;
import io.github.mxgovernor.flowcontrol.FlowControl;
import io.github.mxgovernor.flowcontrol.FlowControlEvent;
import io.github.mxgovernor.flowcontrol.FlowControlListener;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.rules.MxRule;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM-wide accounting of every destination: connection quotas, message rates and flow control are counted
 * here, so that every delivery engine (one per mailet instance) in one James shares the same caps.
 *
 * <p>It is also where operators act on flow control: {@link #flowControlStatus()} lists what is in effect and
 * why, {@link #suspend}, {@link #backoff}, {@link #resume} and {@link #reset} force a state, and
 * {@link #cancelAutomatic} lifts an automatic backoff or suspension. These take the destination's name as
 * {@link Destination#name()} gives it and return open, serialisable values, ready for JMX.
 */
public final class Governor {
    private static final Logger LOGGER = LoggerFactory.getLogger(Governor.class);

    private final Clock clock;
    private final DoubleSupplier random;
    private final ConcurrentMap<String, Destination> destinations = new ConcurrentHashMap<>();
    private final List<FlowControlListener> listeners = new CopyOnWriteArrayList<>();
    private final FlowControlListener publisher = this::publish;

    public Governor(Clock clock) {
        this(clock, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random numbers in [0, 1) that jitter suspensions and flow-control deferrals */
    public Governor(Clock clock, DoubleSupplier random) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /**
     * The destination that counts connections to {@code mxHost} under {@code rule}, created on first use. The
     * first rule seen for a destination name sets its limits: every mailet of one James reads one rules file.
     */
    public Destination destination(MxRule rule, String mxHost) {
        String name = Destination.nameFor(rule, mxHost);
        Destination existing = destinations.get(name);
        if (existing != null) {
            return existing;
        }
        return destinations.computeIfAbsent(name, key -> create(key, rule));
    }

    private Destination create(String name, MxRule rule) {
        DeliveryLimits normal = new DeliveryLimits(rule.maxConnections(), rule.maxMessagesPerConnection(),
            rule.messagesPerHour());
        FlowControl flowControl = new FlowControl(name, rule.flowControl(), normal, clock,
            perHour -> new MessageRate(OptionalLong.of(perHour), clock), publisher, random);
        return new Destination(name, rule, new MessageRate(rule.messagesPerHour(), clock), flowControl);
    }

    public Collection<Destination> destinations() {
        return Collections.unmodifiableCollection(destinations.values());
    }

    public Clock clock() {
        return clock;
    }

    /** Hears of every change of flow-control state of every destination, after it took effect. */
    public void addFlowControlListener(FlowControlListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeFlowControlListener(FlowControlListener listener) {
        listeners.remove(listener);
    }

    /**
     * What flow control has in effect now: every destination that is not in NORMAL state or whose adaptive
     * connection limit is below its cap, by destination name.
     */
    public List<FlowControlStatus> flowControlStatus() {
        List<FlowControlStatus> inEffect = new ArrayList<>();
        for (Destination destination : destinations.values()) {
            FlowControlStatus status = destination.flowControlStatus();
            if (status.state() != FlowState.Kind.NORMAL
                || status.adaptiveConnectionLimit() < destination.rule().maxConnections()) {
                inEffect.add(status);
            }
        }
        inEffect.sort(Comparator.comparing(FlowControlStatus::destination));
        return inEffect;
    }

    /** The flow-control status of one destination, if it exists. */
    public Optional<FlowControlStatus> flowControlStatus(String destination) {
        return Optional.ofNullable(destinations.get(destination)).map(Destination::flowControlStatus);
    }

    /**
     * Suspends a destination until the given time: no attempt until then, automatic triggers ignored.
     *
     * @throws IllegalArgumentException if there is no such destination or {@code until} is not in the future
     */
    public FlowControlStatus suspend(String destination, Instant until, String note) {
        Destination target = existing(destination);
        target.flowControl().suspend(until, note);
        return target.flowControlStatus();
    }

    /**
     * Puts a destination in BACKOFF, with its rule's backoff limits, until the given time.
     *
     * @throws IllegalArgumentException if there is no such destination or {@code until} is not in the future
     */
    public FlowControlStatus backoff(String destination, Instant until, String note) {
        Destination target = existing(destination);
        target.flowControl().backoff(until, note);
        return target.flowControlStatus();
    }

    /** Returns a destination to NORMAL at once, whatever its state. @throws IllegalArgumentException if unknown */
    public FlowControlStatus resume(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().resume(note);
        return target.flowControlStatus();
    }

    /**
     * Returns a destination to NORMAL and forgets its error and reply counts and its adaptive limit.
     *
     * @throws IllegalArgumentException if there is no such destination
     */
    public FlowControlStatus reset(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().reset(note);
        return target.flowControlStatus();
    }

    /**
     * Lifts an automatic backoff or suspension; a state an operator forced is left alone.
     *
     * @return the status after, whose state says whether anything was lifted
     * @throws IllegalArgumentException if there is no such destination
     */
    public FlowControlStatus cancelAutomatic(String destination, String note) {
        Destination target = existing(destination);
        target.flowControl().cancelAutomatic(note);
        return target.flowControlStatus();
    }

    private Destination existing(String name) {
        Destination destination = destinations.get(Objects.requireNonNull(name, "destination"));
        if (destination == null) {
            throw new IllegalArgumentException("no destination named '" + name + "'; a destination exists once mail"
                + " was routed to it (names are MX host names, rule/host, or shared:rule)");
        }
        return destination;
    }

    private void publish(FlowControlEvent event) {
        if (event.to() == FlowState.Kind.NORMAL) {
            LOGGER.info("Flow control: {}", event);
        } else {
            LOGGER.warn("Flow control: {}", event);
        }
        for (FlowControlListener listener : listeners) {
            try {
                listener.onTransition(event);
            } catch (RuntimeException e) {
                LOGGER.warn("A flow-control listener failed on {}", event, e);
            }
        }
    }
}

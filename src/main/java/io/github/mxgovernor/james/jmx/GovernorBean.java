package io.github.mxgovernor.james.jmx;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.flowcontrol.FlowControlStatus;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.DestinationStats;
import io.github.mxgovernor.governor.Governor;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link GovernorMXBean}: totals and operations over the shared governor. */
final class GovernorBean extends CountersView implements GovernorMXBean {
    static final long MAX_MINUTES = Reaction.MAX_DURATION.toMinutes();
    private static final Logger LOGGER = LoggerFactory.getLogger(GovernorBean.class);
    private static final String NOTE = "over JMX";

    private final Governor governor;
    private final RulesFiles rules;
    private final DequeueStates dequeue;
    private final WaitingPlaces waiting;

    GovernorBean(Governor governor, RulesFiles rules, DequeueStates dequeue, WaitingPlaces waiting) {
        this.governor = Objects.requireNonNull(governor, "governor");
        this.rules = Objects.requireNonNull(rules, "rules");
        this.dequeue = Objects.requireNonNull(dequeue, "dequeue");
        this.waiting = Objects.requireNonNull(waiting, "waiting");
    }

    @Override
    DestinationStats stats() {
        return governor.stats();
    }

    @Override
    public int getActiveConnections() {
        int open = 0;
        for (Destination destination : governor.destinations()) {
            open += destination.connections().inUse();
        }
        return open;
    }

    @Override
    public int getDestinationsTracked() {
        return governor.destinations().size();
    }

    @Override
    public String getStoreState() {
        return governor.clusterStore().map(store -> store.state().kind().name()).orElse("NONE");
    }

    @Override
    public String getStoreSince() {
        return governor.clusterStore().map(store -> store.state().since().toString()).orElse("");
    }

    @Override
    public String getStoreLastError() {
        return governor.clusterStore().flatMap(store -> store.state().lastError()).orElse("");
    }

    @Override
    public String getStoreLastErrorAt() {
        return DestinationBean.text(governor.clusterStore().flatMap(store -> store.state().lastErrorAt()));
    }

    @Override
    public String getStoreAddress() {
        return governor.clusterStore().map(store -> store.settings().address()).orElse("");
    }

    @Override
    public String getStoreNode() {
        return governor.clusterStore().map(store -> store.settings().nodeName()).orElse("");
    }

    @Override
    public long getStoreCommands() {
        return governor.clusterStore().map(ClusterStore::commands).orElse(0L);
    }

    @Override
    public long getStoreFailures() {
        return governor.clusterStore().map(ClusterStore::failures).orElse(0L);
    }

    @Override
    public String getRulesFile() {
        List<String> files = rules.files();
        return files.isEmpty() ? "built-in" : String.join(", ", files);
    }

    @Override
    public String getRulesLoadedAt() {
        return DestinationBean.text(rules.loadedAt());
    }

    @Override
    public List<DequeueRow> getDequeueStates() {
        return dequeue.dequeueStates();
    }

    @Override
    public long getDequeueErrors() {
        long errors = 0;
        for (DequeueRow row : dequeue.dequeueStates()) {
            errors += row.getErrors();
        }
        return errors;
    }

    @Override
    public String suspend(String destination, long minutes, String reason) {
        return force(destination, minutes, reason, "suspended", governor::suspend);
    }

    @Override
    public String backoff(String destination, long minutes, String reason) {
        return force(destination, minutes, reason, "backed off", governor::backoff);
    }

    /** A state an operator forces for some minutes, every argument checked before anything changes. */
    private String force(String destination, long minutes, String reason, String what, ForcedState state) {
        String name = existing(destination);
        Instant until = until(minutes);
        String note = reason(reason);
        FlowControlStatus status = state.force(name, until, note);
        LOGGER.warn("An operator {} {} over JMX for {} minutes: {}", what, name, minutes, note);
        return status.toString();
    }

    /** {@link Governor#suspend} or {@link Governor#backoff}. */
    @FunctionalInterface
    private interface ForcedState {
        FlowControlStatus force(String destination, Instant until, String note);
    }

    @Override
    public String resume(String destination) {
        return lift(destination, "resumed {}", governor::resume);
    }

    @Override
    public String resetFlowControl(String destination) {
        return lift(destination, "reset the flow control of {}", governor::reset);
    }

    @Override
    public String cancelAutomaticFlowControl(String destination) {
        return lift(destination, "cancelled the automatic flow control of {}", governor::cancelAutomatic);
    }

    /** An operator's command that lifts a state at once, logged. */
    private String lift(String destination, String what, BiFunction<String, String, FlowControlStatus> command) {
        String name = existing(destination);
        LOGGER.info("An operator " + what + " over JMX", name);
        return command.apply(name, NOTE).toString();
    }

    @Override
    public String reloadRules() {
        return rules.reload();
    }

    @Override
    public List<DestinationRow> destinations() {
        List<Destination> tracked = new ArrayList<>(governor.destinations());
        tracked.sort(Comparator.comparing(Destination::name));
        List<DestinationRow> rows = new ArrayList<>(tracked.size());
        for (Destination destination : tracked) {
            rows.add(new DestinationRow(destination));
        }
        return rows;
    }

    @Override
    public long getWaiting() {
        return waiting.waiting();
    }

    @Override
    public List<WaitingRow> getWaitingMails() {
        return waiting.waitingRows();
    }

    @Override
    public String releaseWaiting(String destination) {
        if (destination == null || destination.isBlank()) {
            throw new IllegalArgumentException("destination must be given: a name as WaitingMails shows it, such as"
                + " mx1.example.com or shared:google");
        }
        String name = destination.trim();
        List<String> waitingFor = waiting.destinations();
        if (!waitingFor.contains(name)) {
            throw new IllegalArgumentException("no mail waits for destination '" + name + "'" + (waitingFor.isEmpty()
                ? "; no mail waits at all" : "; mail waits for " + listed(waitingFor) + " (see WaitingMails)"));
        }
        int released = waiting.releaseNow(Optional.of(name));
        LOGGER.info("An operator released over JMX the {} mails waiting for {}", released, name);
        return released + " mails waiting for " + name + " go back on the queue now, at the waiting place's pace";
    }

    @Override
    public String releaseAllWaiting() {
        int released = waiting.releaseNow(Optional.empty());
        LOGGER.info("An operator released over JMX every waiting mail: {}", released);
        return released + " waiting mails go back on the queue now, at the waiting place's pace";
    }

    private static String listed(List<String> destinations) {
        int shown = Math.min(10, destinations.size());
        return String.join(", ", destinations.subList(0, shown))
            + (destinations.size() > shown ? " and " + (destinations.size() - shown) + " more" : "");
    }

    private String existing(String destination) {
        if (destination == null || destination.isBlank()) {
            throw new IllegalArgumentException("destination must be given: a name as destinations() and the"
                + " Destination beans show it, such as mx1.example.com or shared:google");
        }
        String name = destination.trim();
        if (governor.find(name).isEmpty()) {
            throw new IllegalArgumentException("no destination named '" + name + "'; a destination exists once mail"
                + " was routed to it (names are MX host names, rule/host, or shared:rule; see destinations())");
        }
        return name;
    }

    private Instant until(long minutes) {
        if (minutes < 1 || minutes > MAX_MINUTES) {
            throw new IllegalArgumentException("minutes must be from 1 to " + MAX_MINUTES + " (a week), was "
                + minutes);
        }
        return governor.clock().instant().plus(Duration.ofMinutes(minutes));
    }

    private static String reason(String reason) {
        if (reason == null || reason.isBlank()) {
            throw new IllegalArgumentException("reason must not be blank: say why, it is shown in the destination's"
                + " state and in the deferral records of the mail held back");
        }
        return reason.trim();
    }
}

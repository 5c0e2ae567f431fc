package io.github.mxgovernor.cluster;

import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowState;

import java.io.Serializable;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A destination's flow-control state as the cluster store holds it: what a node's {@link FlowState} says (kind,
 * origin, since, until, cause, the limits of a backoff), which node set it, and the store's version of it. An open,
 * serialisable value. Immutable; built by {@link #builder(String, FlowState.Kind)}.
 */
public final class SharedFlowState implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String destination;
    private final FlowState.Kind kind;
    private final FlowState.Origin origin;
    private final Instant since;
    private final Instant until;
    private final FlowCause.Kind causeKind;
    private final String description;
    private final String source;
    private final String reply;
    private final Limits limits;
    private final String node;
    private final long version;

    private SharedFlowState(Builder builder) {
        this.destination = builder.destination;
        this.kind = builder.kind;
        this.origin = builder.origin;
        this.since = builder.since;
        this.until = builder.until;
        this.causeKind = builder.causeKind;
        this.description = builder.description;
        this.source = builder.source;
        this.reply = builder.reply;
        this.limits = builder.limits;
        this.node = builder.node;
        this.version = builder.version;
    }

    /**
     * A state to publish for {@code destination}. Defaults: origin AUTOMATIC, since now (the publishing store's clock),
     * no end, cause {@code OPERATOR} with an empty description, no limits.
     */
    public static Builder builder(String destination, FlowState.Kind kind) {
        return new Builder(destination, kind);
    }

    public String destination() {
        return destination;
    }

    public FlowState.Kind kind() {
        return kind;
    }

    public FlowState.Origin origin() {
        return origin;
    }

    public Instant since() {
        return since;
    }

    /** When the state ends by time; empty when it does not (NORMAL, or a backoff ended by probes). */
    public Optional<Instant> until() {
        return Optional.ofNullable(until);
    }

    public FlowCause.Kind causeKind() {
        return causeKind;
    }

    public String description() {
        return description;
    }

    /** Where the trigger is written ({@code mx-rules.xml:40}), if a trigger set the state. */
    public Optional<String> source() {
        return Optional.ofNullable(source);
    }

    /** The reply that fired a response rule, as the server sent it. */
    public Optional<String> reply() {
        return Optional.ofNullable(reply);
    }

    /** The limits of a backoff. */
    public Optional<Limits> limits() {
        return Optional.ofNullable(limits);
    }

    /** The node that published it; empty before publication. */
    public String node() {
        return node;
    }

    /** The store's version of the destination's state (1, 2, ...); 0 before publication. */
    public long version() {
        return version;
    }

    /** Whether the state is in force at {@code now}: not NORMAL, and not past its end. */
    public boolean inForceAt(Instant now) {
        return kind != FlowState.Kind.NORMAL && (until == null || until.isAfter(now));
    }

    /** The store's fields; empty strings for what is absent. */
    Map<String, String> fields() {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("kind", kind.name());
        fields.put("origin", origin.name());
        fields.put("since", Long.toString(since.toEpochMilli()));
        fields.put("until", until == null ? "" : Long.toString(until.toEpochMilli()));
        fields.put("cause", causeKind.name());
        fields.put("description", description);
        fields.put("source", source == null ? "" : source);
        fields.put("reply", reply == null ? "" : reply);
        fields.put("maxConnections", limits == null ? "" : Integer.toString(limits.maxConnections()));
        fields.put("maxMessagesPerConnection", limits == null ? ""
            : Integer.toString(limits.maxMessagesPerConnection()));
        fields.put("messagesPerHour", limits == null ? "" : Long.toString(limits.messagesPerHour().orElse(0)));
        fields.put("node", node);
        return fields;
    }

    /**
     * The state of the store's fields (as HGETALL gives them).
     *
     * @throws IllegalArgumentException naming the field when one is missing or unreadable
     */
    static SharedFlowState fromFields(String destination, Map<String, String> fields) {
        Map<String, String> values = new HashMap<>(fields);
        try {
            Builder builder = builder(destination, FlowState.Kind.valueOf(required(values, "kind")))
                .origin(FlowState.Origin.valueOf(required(values, "origin")))
                .since(Instant.ofEpochMilli(Long.parseLong(required(values, "since"))))
                .cause(FlowCause.Kind.valueOf(required(values, "cause")), values.getOrDefault("description", ""),
                    blankToNull(values.get("source")), blankToNull(values.get("reply")));
            String until = values.get("until");
            if (until != null && !until.isEmpty()) {
                builder.until(Instant.ofEpochMilli(Long.parseLong(until)));
            }
            String connections = values.get("maxConnections");
            if (connections != null && !connections.isEmpty()) {
                long perHour = Long.parseLong(required(values, "messagesPerHour"));
                builder.limits(new Limits(Integer.parseInt(connections),
                    Integer.parseInt(required(values, "maxMessagesPerConnection")),
                    perHour == 0 ? OptionalLong.empty() : OptionalLong.of(perHour)));
            }
            builder.node = values.getOrDefault("node", "");
            builder.version = Long.parseLong(required(values, "version"));
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the stored flow state of " + destination + " cannot be read: "
                + e.getMessage() + " (fields " + values.keySet() + ")", e);
        }
    }

    private static String required(Map<String, String> values, String field) {
        String value = values.get(field);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("field '" + field + "' is missing");
        }
        return value;
    }

    private static String blankToNull(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    SharedFlowState published(String publisher, long publishedVersion) {
        Builder copy = toBuilder();
        copy.node = publisher;
        copy.version = publishedVersion;
        return copy.build();
    }

    private Builder toBuilder() {
        Builder copy = new Builder(destination, kind).origin(origin).since(since)
            .cause(causeKind, description, source, reply);
        copy.until = until;
        copy.limits = limits;
        copy.node = node;
        copy.version = version;
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SharedFlowState)) {
            return false;
        }
        SharedFlowState that = (SharedFlowState) o;
        return destination.equals(that.destination) && kind == that.kind && origin == that.origin
            && since.equals(that.since) && Objects.equals(until, that.until) && causeKind == that.causeKind
            && description.equals(that.description) && Objects.equals(source, that.source)
            && Objects.equals(reply, that.reply) && Objects.equals(limits, that.limits) && node.equals(that.node)
            && version == that.version;
    }

    @Override
    public int hashCode() {
        return Objects.hash(destination, kind, origin, since, until, causeKind, description, node, version);
    }

    @Override
    public String toString() {
        return destination + ": " + kind + " since " + since + (until == null ? "" : " until " + until) + " ("
            + origin + ": " + description + (source == null ? "" : " (" + source + ")") + ")"
            + (node.isEmpty() ? "" : " from node " + node) + (version == 0 ? "" : ", version " + version);
    }

    /**
     * The limits of a backoff, as flow control's own limits say them: connections, mails per connection, and
     * messages per hour (empty for unlimited). Immutable.
     */
    public static final class Limits implements Serializable {
        private static final long serialVersionUID = 1L;

        private final int maxConnections;
        private final int maxMessagesPerConnection;
        private final OptionalLong messagesPerHour;

        /** @throws IllegalArgumentException when a value is below 1 */
        public Limits(int maxConnections, int maxMessagesPerConnection, OptionalLong messagesPerHour) {
            if (maxConnections < 1 || maxMessagesPerConnection < 1
                || messagesPerHour.isPresent() && messagesPerHour.getAsLong() < 1) {
                throw new IllegalArgumentException("limits must be at least 1, were " + maxConnections + ", "
                    + maxMessagesPerConnection + ", " + messagesPerHour);
            }
            this.maxConnections = maxConnections;
            this.maxMessagesPerConnection = maxMessagesPerConnection;
            this.messagesPerHour = Objects.requireNonNull(messagesPerHour, "messagesPerHour");
        }

        public int maxConnections() {
            return maxConnections;
        }

        public int maxMessagesPerConnection() {
            return maxMessagesPerConnection;
        }

        /** Empty when unlimited. */
        public OptionalLong messagesPerHour() {
            return messagesPerHour;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Limits)) {
                return false;
            }
            Limits that = (Limits) o;
            return maxConnections == that.maxConnections && maxMessagesPerConnection == that.maxMessagesPerConnection
                && messagesPerHour.equals(that.messagesPerHour);
        }

        @Override
        public int hashCode() {
            return Objects.hash(maxConnections, maxMessagesPerConnection, messagesPerHour);
        }

        @Override
        public String toString() {
            return maxConnections + " connections, " + maxMessagesPerConnection + " mails per connection, "
                + (messagesPerHour.isPresent() ? messagesPerHour.getAsLong() + " an hour" : "no rate");
        }
    }

    /** Builds a {@link SharedFlowState}. */
    public static final class Builder {
        private final String destination;
        private final FlowState.Kind kind;
        private FlowState.Origin origin = FlowState.Origin.AUTOMATIC;
        private Instant since = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        private Instant until;
        private FlowCause.Kind causeKind = FlowCause.Kind.OPERATOR;
        private String description = "";
        private String source;
        private String reply;
        private Limits limits;
        private String node = "";
        private long version;

        private Builder(String destination, FlowState.Kind kind) {
            this.destination = Objects.requireNonNull(destination, "destination");
            this.kind = Objects.requireNonNull(kind, "kind");
        }

        public Builder origin(FlowState.Origin origin) {
            this.origin = Objects.requireNonNull(origin, "origin");
            return this;
        }

        /** When the state began; kept to the millisecond, as the store keeps it. */
        public Builder since(Instant since) {
            this.since = Objects.requireNonNull(since, "since").truncatedTo(ChronoUnit.MILLIS);
            return this;
        }

        /** When the state ends; must be after {@link #since}; kept to the millisecond. */
        public Builder until(Instant until) {
            this.until = Objects.requireNonNull(until, "until").truncatedTo(ChronoUnit.MILLIS);
            return this;
        }

        public Builder cause(FlowCause.Kind causeKind, String description, String source, String reply) {
            this.causeKind = Objects.requireNonNull(causeKind, "causeKind");
            this.description = Objects.requireNonNull(description, "description");
            this.source = source;
            this.reply = reply;
            return this;
        }

        /** The limits of a backoff (only a BACKOFF carries them). */
        public Builder limits(Limits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** @throws IllegalArgumentException when the end is not after the start, or limits are given to a non-backoff */
        public SharedFlowState build() {
            if (until != null && !until.isAfter(since)) {
                throw new IllegalArgumentException("until (" + until + ") must be after since (" + since + ")");
            }
            if (limits != null && kind != FlowState.Kind.BACKOFF) {
                throw new IllegalArgumentException("only a BACKOFF has limits, not " + kind);
            }
            return new SharedFlowState(this);
        }
    }
}

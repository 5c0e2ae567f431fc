package io.github.mxgovernor.rules;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.tls.TlsMode;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/**
 * One entry of the rules file: which MX hosts (and optionally which recipient domains) it applies to, and the
 * limits and policies for delivering to them. Immutable; built with {@link #builder(String)}.
 *
 * <p>A builder starts from the built-in defaults (listed at {@link #builder(String)}), or from another rule's
 * limits with {@link Builder#inheritFrom(MxRule)}.
 */
public final class MxRule {
    /** The name of the rule that applies when no other rule matches; a {@code <rule>} may not take it. */
    public static final String DEFAULT_RULE_NAME = "default";
    /** What {@link #source()} says of a rule that was not read from a file. */
    public static final String BUILT_IN_SOURCE = "built-in";

    static final int MAX_CONNECTIONS_BOUND = 10_000;
    static final int MAX_MESSAGES_PER_CONNECTION_BOUND = 100_000;
    static final long MESSAGES_PER_HOUR_BOUND = 100_000_000L;
    static final Duration TIMEOUT_BOUND = Duration.ofDays(1);
    static final String TIMEOUT_REQUIREMENT = "must be more than 0 and at most 1 day";
    static final String NAME_REQUIREMENT = "must be made of letters, digits, '.', '_' and '-'";

    private final String name;
    private final List<HostMask> mxMasks;
    private final HostMask[] mxMaskArray;
    private final Optional<HostMask> recipientDomainMask;
    private final int maxConnections;
    private final int maxMessagesPerConnection;
    private final OptionalLong messagesPerHour;
    private final Duration connectTimeout;
    private final Duration commandTimeout;
    private final Duration dataTimeout;
    private final Duration transactionTimeout;
    private final Duration idleTimeout;
    private final LimitScope limitScope;
    private final ClusterScope clusterScope;
    private final TlsMode tlsMode;
    private final boolean dane;
    private final FlowControlPolicy flowControl;
    private final String source;

    private MxRule(Builder b) {
        this.name = b.name;
        this.mxMasks = b.mxMasks;
        this.mxMaskArray = b.mxMasks.toArray(new HostMask[0]);
        this.recipientDomainMask = b.recipientDomainMask;
        this.maxConnections = b.maxConnections;
        this.maxMessagesPerConnection = b.maxMessagesPerConnection;
        this.messagesPerHour = b.messagesPerHour;
        this.connectTimeout = b.connectTimeout;
        this.commandTimeout = b.commandTimeout;
        this.dataTimeout = b.dataTimeout;
        this.transactionTimeout = b.transactionTimeout;
        this.idleTimeout = b.idleTimeout;
        this.limitScope = b.limitScope;
        this.clusterScope = b.clusterScope;
        this.tlsMode = b.tlsMode;
        this.dane = b.dane;
        this.flowControl = b.flowControl;
        this.source = b.source;
    }

    /**
     * Starts a rule with the built-in defaults: 10 connections, 100 messages per connection, no message rate,
     * connect timeout 60 s, command timeout 5 min, data timeout 10 min, idle timeout 60 s, limits per MX host,
     * opportunistic TLS without DANE, the {@linkplain FlowControlPolicy#builtIn() built-in flow control}, source
     * {@value #BUILT_IN_SOURCE}, and no MX mask yet.
     *
     * @throws IllegalArgumentException if the name is empty or holds other characters than letters, digits,
     *         {@code .}, {@code _} and {@code -}
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** The built-in default rule: named {@value #DEFAULT_RULE_NAME}, matching every MX host, built-in values. */
    static MxRule builtInDefault() {
        return builder(DEFAULT_RULE_NAME).mxMasks(List.of(HostMask.parse("*"))).build();
    }

    static boolean isValidName(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
            if (!valid) {
                return false;
            }
        }
        return true;
    }

    static String integerRangeRequirement(long max) {
        return "must be an integer from 1 to " + max;
    }

    public String name() {
        return name;
    }

    /** The globs on MX host names; the rule applies to an MX host that matches any of them. Never empty. */
    public List<HostMask> mxMasks() {
        return mxMasks;
    }

    /** When present, the rule applies only to recipient domains matching this glob. */
    public Optional<HostMask> recipientDomainMask() {
        return recipientDomainMask;
    }

    /** Maximum concurrent SMTP connections to one destination (see {@link #limitScope()}). */
    public int maxConnections() {
        return maxConnections;
    }

    /** How many mails one connection carries before it is closed. */
    public int maxMessagesPerConnection() {
        return maxMessagesPerConnection;
    }

    /** Messages per hour to one destination; empty means unlimited. */
    public OptionalLong messagesPerHour() {
        return messagesPerHour;
    }

    /** Time allowed for the TCP connect. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Time allowed for each reply to a command. */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** Time allowed for the final reply after the message content. */
    public Duration dataTimeout() {
        return dataTimeout;
    }

    /**
     * Time allowed for one whole transaction (RSET, MAIL, RCPT, the content and its final reply) however the
     * server paces it: the bound on a server that reads or answers just fast enough to beat each other timeout.
     */
    public Duration transactionTimeout() {
        return transactionTimeout;
    }

    /** How long an unused open connection is kept for reuse before it is closed. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Whether the limits count per MX host or are shared by every MX host the rule matches. */
    public LimitScope limitScope() {
        return limitScope;
    }

    /**
     * Whether the limits and flow control of the rule's destinations are shared by every James node through the
     * cluster store ({@link ClusterScope#CLUSTER}, the default) or counted by each node on its own; without a store
     * every limit is a node's own.
     */
    public ClusterScope clusterScope() {
        return clusterScope;
    }

    public TlsMode tlsMode() {
        return tlsMode;
    }

    /**
     * Whether DANE (RFC 7672) applies to this rule's MX hosts: when a host has DNSSEC-signed TLSA records, TLS is
     * mandatory and the certificate must match them, whatever {@link #tlsMode()} says.
     */
    public boolean dane() {
        return dane;
    }

    /** Backoff limits, triggers, recovery and adaptive concurrency for this rule's destinations. */
    public FlowControlPolicy flowControl() {
        return flowControl;
    }

    /** Where the rule was defined: {@code file:line} (such as {@code mx-rules.xml:12}) or {@value #BUILT_IN_SOURCE}. */
    public String source() {
        return source;
    }

    /**
     * Whether the rule applies to delivering to this MX host for this recipient domain: the host matches one of
     * the MX masks and, when the rule has a recipient-domain mask, the domain matches it. Does not allocate.
     */
    public boolean matches(String mxHost, String recipientDomain) {
        return matchesMxHost(mxHost) && matchesRecipientDomain(recipientDomain);
    }

    /** Whether the host matches one of the MX masks. Does not allocate. */
    public boolean matchesMxHost(String mxHost) {
        for (HostMask mask : mxMaskArray) {
            if (mask.matches(mxHost)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the rule applies to this recipient domain: it has no recipient-domain mask, or the domain matches it. */
    public boolean matchesRecipientDomain(String recipientDomain) {
        return recipientDomainMask.isEmpty() || recipientDomainMask.get().matches(recipientDomain);
    }

    /**
     * Whether the two rules are equal in everything but where they are written ({@link #source()}): a rule that only
     * moved in its file keeps its destinations' rates and flow control on reload.
     */
    public boolean equalExceptSource(MxRule other) {
        return name.equals(other.name) && mxMasks.equals(other.mxMasks)
                && recipientDomainMask.equals(other.recipientDomainMask)
                && maxConnections == other.maxConnections
                && maxMessagesPerConnection == other.maxMessagesPerConnection
                && messagesPerHour.equals(other.messagesPerHour)
                && connectTimeout.equals(other.connectTimeout) && commandTimeout.equals(other.commandTimeout)
                && dataTimeout.equals(other.dataTimeout) && transactionTimeout.equals(other.transactionTimeout)
                && idleTimeout.equals(other.idleTimeout)
                && limitScope == other.limitScope && clusterScope == other.clusterScope && tlsMode == other.tlsMode
                && dane == other.dane
                && flowControl.equals(other.flowControl);
    }

    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof MxRule && equalExceptSource((MxRule) o) && source.equals(((MxRule) o).source);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, mxMasks, recipientDomainMask, maxConnections, maxMessagesPerConnection,
                messagesPerHour, connectTimeout, commandTimeout, dataTimeout, transactionTimeout, idleTimeout,
                limitScope, clusterScope, tlsMode, dane, flowControl, source);
    }

    @Override
    public String toString() {
        return "MxRule{" + name + " (" + source + "), mx=" + mxMasks
                + recipientDomainMask.map(mask -> ", domain=" + mask).orElse("")
                + ", maxConnections=" + maxConnections
                + ", maxMessagesPerConnection=" + maxMessagesPerConnection
                + ", messagesPerHour=" + (messagesPerHour.isPresent() ? messagesPerHour.getAsLong() : "unlimited")
                + ", connectTimeout=" + connectTimeout + ", commandTimeout=" + commandTimeout
                + ", dataTimeout=" + dataTimeout + ", transactionTimeout=" + transactionTimeout
                + ", idleTimeout=" + idleTimeout
                + ", scope=" + limitScope.configValue() + ", clusterScope=" + clusterScope.configValue()
                + ", tls=" + tlsMode + (dane ? ", dane" : "") + ", " + flowControl + "}";
    }

    /** Builds an {@link MxRule}; every setter checks its value and names it when it is wrong. */
    public static final class Builder {
        private final String name;
        private List<HostMask> mxMasks = List.of();
        private Optional<HostMask> recipientDomainMask = Optional.empty();
        private int maxConnections = 10;
        private int maxMessagesPerConnection = 100;
        private OptionalLong messagesPerHour = OptionalLong.empty();
        private Duration connectTimeout = Duration.ofSeconds(60);
        private Duration commandTimeout = Duration.ofMinutes(5);
        private Duration dataTimeout = Duration.ofMinutes(10);
        private Duration transactionTimeout = Duration.ofMinutes(30);
        private Duration idleTimeout = Duration.ofSeconds(60);
        private LimitScope limitScope = LimitScope.PER_MX_HOST;
        private ClusterScope clusterScope = ClusterScope.CLUSTER;
        private TlsMode tlsMode = TlsMode.OPPORTUNISTIC;
        private boolean dane;
        private FlowControlPolicy flowControl = FlowControlPolicy.builtIn();
        private String source = BUILT_IN_SOURCE;

        private Builder(String name) {
            Objects.requireNonNull(name, "name");
            if (!isValidName(name)) {
                throw new IllegalArgumentException("rule name " + NAME_REQUIREMENT + ", was '" + name + "'");
            }
            this.name = name;
        }

        /**
         * Copies the limits and policies of another rule (connections, messages per connection, rate, timeouts,
         * scope, cluster scope, TLS mode, DANE, flow control); its name, masks and source are not copied.
         */
        public Builder inheritFrom(MxRule parent) {
            Objects.requireNonNull(parent, "parent");
            maxConnections = parent.maxConnections;
            maxMessagesPerConnection = parent.maxMessagesPerConnection;
            messagesPerHour = parent.messagesPerHour;
            connectTimeout = parent.connectTimeout;
            commandTimeout = parent.commandTimeout;
            dataTimeout = parent.dataTimeout;
            transactionTimeout = parent.transactionTimeout;
            idleTimeout = parent.idleTimeout;
            limitScope = parent.limitScope;
            clusterScope = parent.clusterScope;
            tlsMode = parent.tlsMode;
            dane = parent.dane;
            flowControl = parent.flowControl;
            return this;
        }

        /** The globs on MX host names; at least one. */
        public Builder mxMasks(List<HostMask> masks) {
            Objects.requireNonNull(masks, "mxMasks");
            if (masks.isEmpty()) {
                throw new IllegalArgumentException("mxMasks must hold at least one host mask");
            }
            this.mxMasks = List.copyOf(masks);
            return this;
        }

        /**
         * The globs on MX host names, parsed with {@link HostMask#parse(String)}; at least one.
         *
         * @throws IllegalArgumentException if there is none or one is not a valid glob
         */
        public Builder mxMasks(String... globs) {
            return mxMasks(Arrays.stream(globs).map(HostMask::parse).collect(Collectors.toList()));
        }

        /** Restricts the rule to recipient domains matching this glob. */
        public Builder recipientDomainMask(HostMask mask) {
            this.recipientDomainMask = Optional.of(Objects.requireNonNull(mask, "recipientDomainMask"));
            return this;
        }

        public Builder maxConnections(int value) {
            this.maxConnections = (int) checkRange("maxConnections", value, MAX_CONNECTIONS_BOUND);
            return this;
        }

        public Builder maxMessagesPerConnection(int value) {
            this.maxMessagesPerConnection = (int) checkRange("maxMessagesPerConnection", value,
                    MAX_MESSAGES_PER_CONNECTION_BOUND);
            return this;
        }

        public Builder messagesPerHour(long value) {
            this.messagesPerHour = OptionalLong.of(checkRange("messagesPerHour", value, MESSAGES_PER_HOUR_BOUND));
            return this;
        }

        public Builder unlimitedMessagesPerHour() {
            this.messagesPerHour = OptionalLong.empty();
            return this;
        }

        public Builder connectTimeout(Duration value) {
            this.connectTimeout = checkTimeout("connectTimeout", value);
            return this;
        }

        public Builder commandTimeout(Duration value) {
            this.commandTimeout = checkTimeout("commandTimeout", value);
            return this;
        }

        public Builder dataTimeout(Duration value) {
            this.dataTimeout = checkTimeout("dataTimeout", value);
            return this;
        }

        public Builder transactionTimeout(Duration value) {
            this.transactionTimeout = checkTimeout("transactionTimeout", value);
            return this;
        }

        public Builder idleTimeout(Duration value) {
            this.idleTimeout = checkTimeout("idleTimeout", value);
            return this;
        }

        public Builder limitScope(LimitScope value) {
            this.limitScope = Objects.requireNonNull(value, "limitScope");
            return this;
        }

        /** Whether the limits are shared by the nodes of a cluster (see {@link MxRule#clusterScope()}). */
        public Builder clusterScope(ClusterScope value) {
            this.clusterScope = Objects.requireNonNull(value, "clusterScope");
            return this;
        }

        public Builder tlsMode(TlsMode value) {
            this.tlsMode = Objects.requireNonNull(value, "tlsMode");
            return this;
        }

        /** Whether DANE applies to the rule's MX hosts (see {@link MxRule#dane()}). */
        public Builder dane(boolean value) {
            this.dane = value;
            return this;
        }

        public Builder flowControl(FlowControlPolicy value) {
            this.flowControl = Objects.requireNonNull(value, "flowControl");
            return this;
        }

        /** Where the rule was defined, such as {@code mx-rules.xml:12}. */
        public Builder source(String value) {
            Objects.requireNonNull(value, "source");
            if (value.isBlank()) {
                throw new IllegalArgumentException("source must not be blank");
            }
            this.source = value;
            return this;
        }

        /** @throws IllegalStateException if no MX mask was given */
        public MxRule build() {
            if (mxMasks.isEmpty()) {
                throw new IllegalStateException("rule '" + name + "' needs at least one MX mask");
            }
            return new MxRule(this);
        }

        private static long checkRange(String field, long value, long max) {
            if (value < 1 || value > max) {
                throw new IllegalArgumentException(field + " " + integerRangeRequirement(max) + ", was " + value);
            }
            return value;
        }

        private static Duration checkTimeout(String field, Duration value) {
            Objects.requireNonNull(value, field);
            if (value.isNegative() || value.isZero() || value.compareTo(TIMEOUT_BOUND) > 0) {
                throw new IllegalArgumentException(field + " " + TIMEOUT_REQUIREMENT + ", was " + value);
            }
            return value;
        }
    }
}

package io.github.mxgovernor.cluster;

import io.lettuce.core.RedisURI;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import javax.net.ssl.TrustManagerFactory;

/**
 * Where the cluster store is and how this node uses it. Immutable; built by {@link #builder(String)}, whose setters
 * refuse a bad value with a message that names the parameter it comes from ({@link #STORE}, {@link #STORE_NODES},
 * ...).
 *
 * <p>The store is one Redis server, given as {@code host:port} or a URI: {@code redis://[user:password@]host[:port][/db]},
 * {@code rediss://...} (TLS, the server's certificate and host name verified), {@code redis-sentinel://[password@]host
 * [:port][,host2[:port2]]...#masterName} (or {@code rediss-sentinel://}) for a master found through Redis Sentinel;
 * with {@link Builder#cluster(boolean) cluster} the URI names one seed node of a Redis Cluster. Every key this node
 * writes starts with the {@link #keyPrefix() key prefix} (several James clusters may share one Redis) and carries the
 * destination as a hash tag, {@code <prefix>:{<destination>}:...}, so that each script touches one hash slot.
 */
public final class StoreSettings {
    /** The store: {@code host:port} or a URI (see the class comment). */
    public static final String STORE = "store";
    /** {@code true} when {@link #STORE} names a seed node of a Redis Cluster. */
    public static final String STORE_CLUSTER = "storeCluster";
    /** What every key starts with; default {@value #DEFAULT_KEY_PREFIX}. */
    public static final String STORE_KEY_PREFIX = "storeKeyPrefix";
    /** This node's name in leases and published states; default the host name. */
    public static final String STORE_NODE_NAME = "storeNodeName";
    /** How many James nodes share the store: each takes 1/N of a cluster-wide cap or rate while the store is away. */
    public static final String STORE_NODES = "storeNodes";
    /** How long one store call may take before the node answers from its own share instead. */
    public static final String STORE_TIMEOUT = "storeTimeout";
    /** How long a connection lease lives without renewal: a node that dies frees its connections within it. */
    public static final String STORE_LEASE_TIME = "storeLeaseTime";
    /** How much of a shared rate one node takes at a time: tokens for this long at the full rate. */
    public static final String STORE_RATE_HORIZON = "storeRateHorizon";

    public static final String DEFAULT_KEY_PREFIX = "mxgovernor";
    static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(200);
    static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(60);
    static final Duration DEFAULT_RATE_HORIZON = Duration.ofSeconds(5);

    private static final Set<String> SCHEMES = Set.of("redis", "rediss", "redis-sentinel", "rediss-sentinel");
    private static final Pattern NAME = Pattern.compile("[\\x21-\\x7e&&[^{}|]]{1,100}");
    private static final Pattern USER_INFO = Pattern.compile("//[^@/]*@");

    private final String uri;
    private final String display;
    private final boolean cluster;
    private final String keyPrefix;
    private final String nodeName;
    private final int nodes;
    private final Duration timeout;
    private final Duration connectTimeout;
    private final Duration leaseTime;
    private final Duration rateHorizon;
    private final Duration probeInterval;
    private final Duration flowPollInterval;
    private final Duration countsFlushInterval;
    private final TrustManagerFactory trustManagers;

    private StoreSettings(Builder builder) {
        this.uri = builder.uri;
        this.display = builder.display;
        this.cluster = builder.cluster;
        this.keyPrefix = builder.keyPrefix;
        this.nodeName = builder.nodeName != null ? builder.nodeName : defaultNodeName();
        this.nodes = builder.nodes;
        this.timeout = builder.timeout;
        this.connectTimeout = builder.connectTimeout;
        this.leaseTime = builder.leaseTime;
        this.rateHorizon = builder.rateHorizon;
        this.probeInterval = builder.probeInterval;
        this.flowPollInterval = builder.flowPollInterval;
        this.countsFlushInterval = builder.countsFlushInterval;
        this.trustManagers = builder.trustManagers;
    }

    /**
     * Settings for the store at {@code address} ({@link #STORE}).
     *
     * @throws IllegalArgumentException naming {@link #STORE} when the address is empty, malformed or of an unknown
     *                                  scheme
     */
    public static Builder builder(String address) {
        return new Builder(address);
    }

    /** The URI the client connects to, credentials included: never log it, log {@link #toString()}. */
    String uri() {
        return uri;
    }

    /** The store's address without credentials, for logs and JMX. */
    public String address() {
        return display;
    }

    public boolean cluster() {
        return cluster;
    }

    public String keyPrefix() {
        return keyPrefix;
    }

    public String nodeName() {
        return nodeName;
    }

    /** N: while the store is away, each node takes 1/N of a cluster-wide cap (at least 1) or rate. */
    public int nodes() {
        return nodes;
    }

    /** The deadline of one store call. */
    public Duration timeout() {
        return timeout;
    }

    Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration leaseTime() {
        return leaseTime;
    }

    public Duration rateHorizon() {
        return rateHorizon;
    }

    /** How often an unreachable store is tried again, and a lost connection noticed. */
    Duration probeInterval() {
        return probeInterval;
    }

    /** How often flow states are read again, in case an announcement was missed. */
    Duration flowPollInterval() {
        return flowPollInterval;
    }

    /** How often shared counts are sent and read. */
    Duration countsFlushInterval() {
        return countsFlushInterval;
    }

    Optional<TrustManagerFactory> trustManagers() {
        return Optional.ofNullable(trustManagers);
    }

    /** The share of a cluster-wide connection cap this node takes while the store is away: cap/N, at least 1. */
    public int connectionShare(int cap) {
        return Math.max(1, cap / nodes);
    }

    /** The share of a cluster-wide rate this node takes while the store is away: rate/N, at least 1 an hour. */
    public long rateShare(long messagesPerHour) {
        return Math.max(1, messagesPerHour / nodes);
    }

    /**
     * Whether {@code other} describes the same store used the same way (address and credentials, key prefix, node,
     * N, deadlines, lease time, rate horizon): two mailets of one JVM share one store only then.
     */
    public boolean sameAs(StoreSettings other) {
        return uri.equals(other.uri) && cluster == other.cluster && keyPrefix.equals(other.keyPrefix)
            && nodeName.equals(other.nodeName) && nodes == other.nodes && timeout.equals(other.timeout)
            && leaseTime.equals(other.leaseTime) && rateHorizon.equals(other.rateHorizon);
    }

    @Override
    public String toString() {
        return display + (cluster ? " (cluster)" : "") + ", prefix " + keyPrefix + ", node " + nodeName + ", 1/"
            + nodes + " each when unreachable";
    }

    private static String defaultNodeName() {
        try {
            String host = InetAddress.getLocalHost().getHostName();
            if (host != null && NAME.matcher(host).matches()) {
                return host;
            }
        } catch (UnknownHostException e) {
            // Fall back to the environment, then to a fixed name; leases stay apart by their random incarnation.
        }
        String env = System.getenv("HOSTNAME");
        return env != null && NAME.matcher(env).matches() ? env : "james";
    }

    /** Builds {@link StoreSettings}; every setter checks its value and names the parameter when it is wrong. */
    public static final class Builder {
        private final String uri;
        private final String display;
        private final boolean sentinel;
        private boolean cluster;
        private String keyPrefix = DEFAULT_KEY_PREFIX;
        private String nodeName;
        private int nodes;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration connectTimeout = Duration.ofSeconds(2);
        private Duration leaseTime = DEFAULT_LEASE_TIME;
        private Duration rateHorizon = DEFAULT_RATE_HORIZON;
        private Duration probeInterval = Duration.ofSeconds(1);
        private Duration flowPollInterval = Duration.ofSeconds(5);
        private Duration countsFlushInterval = Duration.ofSeconds(1);
        private TrustManagerFactory trustManagers;

        private Builder(String address) {
            if (address == null || address.isBlank()) {
                throw new IllegalArgumentException(STORE + " must not be empty: give host:port or a redis:// URI");
            }
            String value = address.trim();
            int schemeEnd = value.indexOf("://");
            if (schemeEnd < 0) {
                value = "redis://" + hostAndPort(value);
                schemeEnd = "redis".length();
            }
            String scheme = value.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
            this.display = redacted(value);
            if (!SCHEMES.contains(scheme)) {
                throw new IllegalArgumentException(STORE + ": unknown scheme '" + value.substring(0, schemeEnd)
                    + "' in '" + display + "'; use host:port, redis://, rediss://, redis-sentinel:// or"
                    + " rediss-sentinel://");
            }
            this.sentinel = scheme.endsWith("-sentinel");
            if (!sentinel) {
                try {
                    URI parsed = new URI(value);
                    if (parsed.getHost() == null) {
                        throw new IllegalArgumentException(STORE + ": malformed URI '" + display + "': no host");
                    }
                } catch (URISyntaxException e) {
                    throw new IllegalArgumentException(STORE + ": malformed URI '" + display + "': "
                        + e.getReason().replace(value, display), e);
                }
            }
            try {
                RedisURI.create(value);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(STORE + ": malformed URI '" + display + "': " + e.getMessage(), e);
            }
            this.uri = value;
        }

        private static String hostAndPort(String value) {
            int colon = value.lastIndexOf(':');
            String host = colon < 0 ? value : value.substring(0, colon);
            String port = colon < 0 ? "6379" : value.substring(colon + 1);
            if (host.isEmpty() || host.contains("/") || host.contains("@")) {
                throw new IllegalArgumentException(STORE + " must be host:port or a redis:// URI, was '" + value + "'");
            }
            int number;
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 1 || number > 65535) {
                throw new IllegalArgumentException(STORE + ": the port must be a number from 1 to 65535, was '" + value
                    + "'");
            }
            return host + ":" + number;
        }

        private static String redacted(String value) {
            return USER_INFO.matcher(value).replaceFirst("//***@");
        }

        /** The URI names a seed node of a Redis Cluster ({@link #STORE_CLUSTER}); not with a sentinel URI. */
        public Builder cluster(boolean cluster) {
            if (cluster && sentinel) {
                throw new IllegalArgumentException(STORE_CLUSTER + "=true cannot be used with a sentinel URI in "
                    + STORE + " ('" + display + "')");
            }
            this.cluster = cluster;
            return this;
        }

        /** ({@link #STORE_KEY_PREFIX}) 1 to 100 printable characters, no space, no braces (hash tags), no '|'. */
        public Builder keyPrefix(String keyPrefix) {
            this.keyPrefix = name(STORE_KEY_PREFIX, keyPrefix);
            return this;
        }

        /** ({@link #STORE_NODE_NAME}) 1 to 100 printable characters, no space, no braces, no '|'. */
        public Builder nodeName(String nodeName) {
            this.nodeName = name(STORE_NODE_NAME, nodeName);
            return this;
        }

        /** ({@link #STORE_NODES}) 1 to 1000; required. */
        public Builder nodes(int nodes) {
            if (nodes < 1 || nodes > 1000) {
                throw new IllegalArgumentException(STORE_NODES + " must be from 1 to 1000, was " + nodes);
            }
            this.nodes = nodes;
            return this;
        }

        /** ({@link #STORE_TIMEOUT}) 10 ms to 5 s; default 200 ms. */
        public Builder timeout(Duration timeout) {
            this.timeout = within(STORE_TIMEOUT, timeout, Duration.ofMillis(10), Duration.ofSeconds(5));
            return this;
        }

        /** How long a connection attempt may take; 100 ms to 1 min, default 2 s. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = within("connectTimeout", connectTimeout, Duration.ofMillis(100),
                Duration.ofMinutes(1));
            return this;
        }

        /** ({@link #STORE_LEASE_TIME}) 1 s to 1 h; default 60 s. Leases are renewed every third of it. */
        public Builder leaseTime(Duration leaseTime) {
            this.leaseTime = within(STORE_LEASE_TIME, leaseTime, Duration.ofSeconds(1), Duration.ofHours(1));
            return this;
        }

        /** ({@link #STORE_RATE_HORIZON}) 100 ms to 1 min; default 5 s. */
        public Builder rateHorizon(Duration rateHorizon) {
            this.rateHorizon = within(STORE_RATE_HORIZON, rateHorizon, Duration.ofMillis(100), Duration.ofMinutes(1));
            return this;
        }

        /** 10 ms to 1 min; default 1 s. */
        public Builder probeInterval(Duration probeInterval) {
            this.probeInterval = within("probeInterval", probeInterval, Duration.ofMillis(10), Duration.ofMinutes(1));
            return this;
        }

        /** 100 ms to 1 h; default 5 s. */
        public Builder flowPollInterval(Duration flowPollInterval) {
            this.flowPollInterval = within("flowPollInterval", flowPollInterval, Duration.ofMillis(100),
                Duration.ofHours(1));
            return this;
        }

        /** 10 ms to 1 min; default 1 s. */
        public Builder countsFlushInterval(Duration countsFlushInterval) {
            this.countsFlushInterval = within("countsFlushInterval", countsFlushInterval, Duration.ofMillis(10),
                Duration.ofMinutes(1));
            return this;
        }

        /** Whom to trust for {@code rediss://}; the JDK's default trust store when not set. */
        public Builder trustManagers(TrustManagerFactory trustManagers) {
            this.trustManagers = Objects.requireNonNull(trustManagers, "trustManagers");
            return this;
        }

        /** @throws IllegalArgumentException naming {@link #STORE_NODES} when it was not given */
        public StoreSettings build() {
            if (nodes == 0) {
                throw new IllegalArgumentException(STORE_NODES + " is required with " + STORE + ": how many James"
                    + " nodes share it (each takes 1/N of a cluster-wide cap or rate while the store is unreachable)");
            }
            return new StoreSettings(this);
        }

        private static String name(String parameter, String value) {
            if (value == null || !NAME.matcher(value).matches()) {
                throw new IllegalArgumentException(parameter + " must be 1 to 100 printable characters without spaces,"
                    + " braces or '|', was '" + value + "'");
            }
            return value;
        }

        private static Duration within(String parameter, Duration value, Duration min, Duration max) {
            Objects.requireNonNull(value, parameter);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException(parameter + " must be from " + min + " to " + max + ", was "
                    + value);
            }
            return value;
        }
    }
}

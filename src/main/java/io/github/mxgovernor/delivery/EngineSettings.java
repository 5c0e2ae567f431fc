package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpCredentials;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The engine's own settings (the per-destination limits live in the MX rules). Immutable; built by {@link #builder()}. */
public final class EngineSettings {
    /**
     * Lookups at once by default: a new domain costs two (MX, and the MTA-STS TXT record beside it), so 128 threads
     * look up some 2,000 new domains a second when each answer takes 30 ms, and 600 at 100 ms.
     */
    public static final int DEFAULT_LOOKUP_THREADS = 128;

    private final String heloName;
    private final Optional<InetAddress> bindAddress;
    private final Duration maxLaneWait;
    private final int laneCapacity;
    private final int deliveryThreads;
    private final int lookupThreads;
    private final Duration lookupTimeout;
    private final Duration localDeferralDelay;
    private final Optional<SmtpCredentials> gatewayCredentials;
    private final RetrySchedule retrySchedule;
    private final Duration maxAge;

    private EngineSettings(Builder builder) {
        this.heloName = builder.heloName;
        this.bindAddress = builder.bindAddress;
        this.maxLaneWait = builder.maxLaneWait;
        this.laneCapacity = builder.laneCapacity;
        this.deliveryThreads = builder.deliveryThreads;
        this.lookupThreads = builder.lookupThreads;
        this.lookupTimeout = builder.lookupTimeout;
        this.localDeferralDelay = builder.localDeferralDelay;
        this.gatewayCredentials = builder.gatewayCredentials;
        this.retrySchedule = builder.retrySchedule;
        this.maxAge = builder.maxAge;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String heloName() {
        return heloName;
    }

    public Optional<InetAddress> bindAddress() {
        return bindAddress;
    }

    /** How long a part may wait in its destination's lane for a connection or a token before it is deferred. */
    public Duration maxLaneWait() {
        return maxLaneWait;
    }

    /** How many parts one destination's lane holds; a part arriving at a full lane is deferred at once. */
    public int laneCapacity() {
        return laneCapacity;
    }

    /**
     * What RemoteDelivery's {@code deliveryThreads} was set to. The engine does not use it: sessions hold no thread
     * (their futures drive the lanes), so no number of threads limits delivery below the destinations' caps.
     */
    public int deliveryThreads() {
        return deliveryThreads;
    }

    /**
     * The most threads for name lookups (MX and address, TLSA, MTA-STS TXT) at once: a lookup blocks one while it
     * waits for its answer, so this bounds lookups in flight, and with them how many new domains a second can be
     * looked up (threads / answer time). Threads are made as lookups need them and end after a minute without work.
     */
    public int lookupThreads() {
        return lookupThreads;
    }

    /**
     * How long a part waits for its domain's MX and address lookup, and a session for its host's TLSA lookup, before
     * the lookup counts as a temporary DNS failure.
     */
    public Duration lookupTimeout() {
        return lookupTimeout;
    }

    /** The base delay before a mail deferred by a connection quota is tried again (jittered by ±50%). */
    public Duration localDeferralDelay() {
        return localDeferralDelay;
    }

    /** SMTP AUTH credentials every session presents (delivery through gateways); empty for MX delivery. */
    public Optional<SmtpCredentials> gatewayCredentials() {
        return gatewayCredentials;
    }

    /** How long a mail waits after each failed attempt, and how many it may have (RemoteDelivery's). */
    public RetrySchedule retrySchedule() {
        return retrySchedule;
    }

    /** How long a mail may keep being deferred, from its first deferral, before it bounces. */
    public Duration maxAge() {
        return maxAge;
    }

    /** Validating builder; every setter says which value was wrong. */
    public static final class Builder {
        private String heloName = "localhost";
        private Optional<InetAddress> bindAddress = Optional.empty();
        private Duration maxLaneWait = Duration.ofSeconds(30);
        private int laneCapacity = 10_000;
        private int deliveryThreads = 64;
        private int lookupThreads = DEFAULT_LOOKUP_THREADS;
        private Duration lookupTimeout = Duration.ofSeconds(30);
        private Duration localDeferralDelay = Duration.ofSeconds(10);
        private Optional<SmtpCredentials> gatewayCredentials = Optional.empty();
        private RetrySchedule retrySchedule = RetrySchedule.parse(Optional.empty(), Optional.empty());
        private Duration maxAge = Duration.ofDays(5);

        private Builder() {
        }

        public Builder heloName(String heloName) {
            Objects.requireNonNull(heloName, "heloName");
            if (heloName.isBlank() || heloName.chars().anyMatch(c -> c <= ' ' || c > '~')) {
                throw new IllegalArgumentException("heloName must be a host name without spaces, was '" + heloName + "'");
            }
            this.heloName = heloName;
            return this;
        }

        public Builder bindAddress(Optional<InetAddress> bindAddress) {
            this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
            return this;
        }

        public Builder maxLaneWait(Duration maxLaneWait) {
            this.maxLaneWait = positive(maxLaneWait, "maxLaneWait");
            return this;
        }

        public Builder laneCapacity(int laneCapacity) {
            if (laneCapacity < 1) {
                throw new IllegalArgumentException("laneCapacity must be at least 1, was " + laneCapacity);
            }
            this.laneCapacity = laneCapacity;
            return this;
        }

        /** Accepted, checked and kept for RemoteDelivery's sake; see {@link EngineSettings#deliveryThreads()}. */
        public Builder deliveryThreads(int deliveryThreads) {
            if (deliveryThreads < 1 || deliveryThreads > 10_000) {
                throw new IllegalArgumentException("deliveryThreads must be from 1 to 10000, was " + deliveryThreads);
            }
            this.deliveryThreads = deliveryThreads;
            return this;
        }

        public Builder lookupThreads(int lookupThreads) {
            if (lookupThreads < 1 || lookupThreads > 1000) {
                throw new IllegalArgumentException("lookupThreads must be from 1 to 1000, was " + lookupThreads);
            }
            this.lookupThreads = lookupThreads;
            return this;
        }

        public Builder lookupTimeout(Duration lookupTimeout) {
            this.lookupTimeout = positive(lookupTimeout, "lookupTimeout");
            return this;
        }

        public Builder localDeferralDelay(Duration localDeferralDelay) {
            this.localDeferralDelay = positive(localDeferralDelay, "localDeferralDelay");
            return this;
        }

        public Builder gatewayCredentials(Optional<SmtpCredentials> gatewayCredentials) {
            this.gatewayCredentials = Objects.requireNonNull(gatewayCredentials, "gatewayCredentials");
            return this;
        }

        public Builder retrySchedule(RetrySchedule retrySchedule) {
            this.retrySchedule = Objects.requireNonNull(retrySchedule, "retrySchedule");
            return this;
        }

        public Builder maxAge(Duration maxAge) {
            this.maxAge = positive(maxAge, "maxAge");
            return this;
        }

        public EngineSettings build() {
            return new EngineSettings(this);
        }

        private static Duration positive(Duration value, String name) {
            Objects.requireNonNull(value, name);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + value);
            }
            return value;
        }
    }
}

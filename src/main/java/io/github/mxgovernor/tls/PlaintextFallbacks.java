package io.github.mxgovernor.tls;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The servers whose TLS handshake failed under an opportunistic policy, remembered for a while: sessions to them
 * go straight to plaintext instead of failing the handshake again. Only ever consulted for opportunistic
 * requirements; a server is known by its endpoint text ({@code host[address]:port}). Thread-safe.
 */
public final class PlaintextFallbacks {
    private static final int MAX_SERVERS = 100_000;

    private final Clock clock;
    private final Duration memory;
    private final Cache<String, Instant> servers;

    /** @param memory how long a failed handshake is remembered */
    public PlaintextFallbacks(Duration memory, Clock clock) {
        this.memory = Objects.requireNonNull(memory, "memory");
        if (memory.isNegative() || memory.isZero()) {
            throw new IllegalArgumentException("the plaintext fallback memory must be positive, was " + memory);
        }
        this.clock = Objects.requireNonNull(clock, "clock");
        this.servers = Caffeine.newBuilder()
            .maximumSize(MAX_SERVERS)
            .expireAfterWrite(memory)
            .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
            .executor(Runnable::run)
            .build();
    }

    /** Remembers that the TLS handshake with this server failed now; returns until when it is remembered. */
    public Instant remember(String server) {
        Instant until = clock.instant().plus(memory);
        servers.put(server, until);
        return until;
    }

    /** Until when the server is known to fail TLS handshakes, if it is. */
    public Optional<Instant> remembered(String server) {
        return Optional.ofNullable(servers.getIfPresent(server));
    }

    public Duration memory() {
        return memory;
    }
}

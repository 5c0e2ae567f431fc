package io.github.mxgovernor.james;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;

/**
 * Warnings about a failure that may repeat thousands of times (a queue that refuses every enqueue): the first of
 * each kind is logged, then at most one per interval, saying how many were left out meanwhile.
 */
final class RateLimitedLog {
    private final Logger logger;
    private final Clock clock;
    private final long intervalMillis;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    RateLimitedLog(Logger logger, Clock clock, Duration interval) {
        this.logger = logger;
        this.clock = clock;
        this.intervalMillis = interval.toMillis();
    }

    /** Logs at WARN unless a warning of this kind was logged less than an interval ago. */
    void warn(String kind, String message, Throwable cause) {
        long now = clock.millis();
        Window window = windows.computeIfAbsent(kind, key -> new Window());
        long skipped;
        synchronized (window) {
            if (window.loggedAt != Long.MIN_VALUE && now - window.loggedAt < intervalMillis) {
                window.skipped++;
                return;
            }
            skipped = window.skipped;
            window.skipped = 0;
            window.loggedAt = now;
        }
        if (skipped > 0) {
            logger.warn("{} ({} more like it in the last {} s were not logged)", message, skipped,
                intervalMillis / 1000, cause);
        } else {
            logger.warn(message, cause);
        }
    }

    private static final class Window {
        long loggedAt = Long.MIN_VALUE;
        long skipped;
    }
}

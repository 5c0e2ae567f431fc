package io.github.mxgovernor.delivery;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a mail waits after each failed attempt, and how many failed attempts it may have before it bounces:
 * RemoteDelivery's {@value #DELAY_TIME} and {@value #MAX_RETRIES} parameters, with their meaning, except that an
 * invalid value is an error rather than a silent fallback to the defaults.
 *
 * <p>{@value #DELAY_TIME} is a comma-separated list of entries {@code [attempts*]amount[ unit]}, for example
 * {@code 5000, 4*15 minutes, 2*4 hours}. {@code attempts} (default 1) says how many retries in a row wait that
 * long. A bare amount is in milliseconds; the units are those of James: {@code ms msec msecs}, {@code s sec secs
 * second seconds}, {@code m min mins minute minutes}, {@code h hour hours}, {@code d day days}, {@code w week
 * weeks}, {@code month months}, {@code y year years} (any case). Default: one entry of 6 hours.
 *
 * <p>{@value #MAX_RETRIES} (default {@value #DEFAULT_MAX_RETRIES}) is how many times a mail is retried after
 * its first failed attempt. As in RemoteDelivery, it is reconciled with the delays: when the entries add up to
 * more retries, {@link #maxRetries()} is raised to their total; when they add up to fewer, the last delay is
 * repeated until there are {@value #MAX_RETRIES} of them.
 */
public final class RetrySchedule {
    public static final String DELAY_TIME = "delayTime";
    public static final String MAX_RETRIES = "maxRetries";
    public static final int DEFAULT_MAX_RETRIES = 5;
    public static final Duration DEFAULT_DELAY = Duration.ofHours(6);

    private static final Pattern ENTRY = Pattern.compile("(?:(\\d+)\\s*\\*\\s*)?(\\d+)\\s*([A-Za-z]*)");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("\\d+");
    private static final Map<String, Duration> UNITS = units();

    private final int maxRetries;
    private final List<Duration> delays;

    private RetrySchedule(int maxRetries, List<Duration> delays) {
        this.maxRetries = maxRetries;
        this.delays = delays;
    }

    /**
     * Reads the two parameters; an absent one takes its default.
     *
     * @throws IllegalArgumentException naming the parameter and the text when a value is invalid
     */
    public static RetrySchedule parse(Optional<String> delayTime, Optional<String> maxRetries) {
        int intendedMaxRetries = maxRetries.map(RetrySchedule::parseMaxRetries).orElse(DEFAULT_MAX_RETRIES);
        List<Entry> entries = delayTime.map(RetrySchedule::parseDelayTime).orElse(List.of(new Entry(1, DEFAULT_DELAY)));
        int total = 0;
        for (Entry entry : entries) {
            total = addExact(total, entry.attempts, delayTime.orElse(""));
        }
        int[] attempts = entries.stream().mapToInt(entry -> entry.attempts).toArray();
        if (total < intendedMaxRetries) {
            attempts[attempts.length - 1] += intendedMaxRetries - total;
        }
        Duration[] durations = entries.stream().map(entry -> entry.delay).toArray(Duration[]::new);
        int effectiveMaxRetries = Math.max(total, intendedMaxRetries);
        return new RetrySchedule(effectiveMaxRetries, new ExpandedDelays(attempts, durations, effectiveMaxRetries));
    }

    /** How many retries a mail gets after its first failed attempt, once reconciled with the delays. */
    public int maxRetries() {
        return maxRetries;
    }

    /** The wait before each retry, in order: {@link #maxRetries()} of them. */
    public List<Duration> delays() {
        return delays;
    }

    /**
     * How long to wait before the next attempt of a mail that has failed {@code failedAttemptsSoFar} times
     * (counting the attempt that just failed), or empty when its retries are spent and it must bounce.
     *
     * @throws IllegalArgumentException when {@code failedAttemptsSoFar} is less than 1
     */
    public Optional<Duration> delayBeforeRetry(int failedAttemptsSoFar) {
        if (failedAttemptsSoFar < 1) {
            throw new IllegalArgumentException("failedAttemptsSoFar must be at least 1, was " + failedAttemptsSoFar);
        }
        if (failedAttemptsSoFar > maxRetries) {
            return Optional.empty();
        }
        return Optional.of(delays.get(failedAttemptsSoFar - 1));
    }

    @Override
    public String toString() {
        return "RetrySchedule{maxRetries=" + maxRetries + ", delays=" + delays() + "}";
    }

    private static int parseMaxRetries(String text) {
        String trimmed = text.trim();
        if (!WHOLE_NUMBER.matcher(trimmed).matches()) {
            throw new IllegalArgumentException(MAX_RETRIES + " must be a whole number, 0 or more, was '" + text + "'");
        }
        try {
            return Integer.parseInt(trimmed);
        } catch (NumberFormatException tooLarge) {
            throw new IllegalArgumentException(MAX_RETRIES + " is too large: '" + text + "'", tooLarge);
        }
    }

    private static List<Entry> parseDelayTime(String delayTime) {
        List<Entry> entries = new ArrayList<>();
        for (String entry : delayTime.split(",", -1)) {
            entries.add(parseEntry(entry.trim(), delayTime));
        }
        return entries;
    }

    private static Entry parseEntry(String entry, String delayTime) {
        if (entry.isEmpty()) {
            throw new IllegalArgumentException(DELAY_TIME + " has an empty entry in '" + delayTime + "'");
        }
        Matcher matcher = ENTRY.matcher(entry);
        if (!matcher.matches()) {
            throw new IllegalArgumentException(DELAY_TIME + " entry '" + entry + "' in '" + delayTime
                + "' is not [attempts*]amount[ unit], for example 4*15 minutes");
        }
        int attempts = matcher.group(1) == null ? 1 : number(matcher.group(1), entry, delayTime);
        if (attempts < 1) {
            throw new IllegalArgumentException(DELAY_TIME + " entry '" + entry + "' in '" + delayTime
                + "' must have at least 1 attempt");
        }
        Duration unit = unit(matcher.group(3), entry, delayTime);
        // An int amount of the longest unit (a year) fits in a Duration, so this cannot overflow.
        return new Entry(attempts, unit.multipliedBy(number(matcher.group(2), entry, delayTime)));
    }

    private static int number(String digits, String entry, String delayTime) {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException tooLarge) {
            throw new IllegalArgumentException(DELAY_TIME + " entry '" + entry + "' in '" + delayTime
                + "' has a number too large: " + digits, tooLarge);
        }
    }

    private static Duration unit(String name, String entry, String delayTime) {
        if (name.isEmpty()) {
            return ChronoUnit.MILLIS.getDuration();
        }
        Duration unit = UNITS.get(name.toLowerCase(Locale.ROOT));
        if (unit == null) {
            throw new IllegalArgumentException(DELAY_TIME + " entry '" + entry + "' in '" + delayTime
                + "' has an unknown unit '" + name + "' (use ms, s, minutes, hours, days, weeks, months or years)");
        }
        return unit;
    }

    private static int addExact(int total, int count, String delayTime) {
        try {
            return Math.addExact(total, count);
        } catch (ArithmeticException tooMany) {
            throw new IllegalArgumentException(DELAY_TIME + " has too many attempts in total: '" + delayTime + "'",
                tooMany);
        }
    }

    private static Map<String, Duration> units() {
        Map<String, Duration> units = new HashMap<>();
        alias(units, ChronoUnit.MILLIS, "ms", "msec", "msecs");
        alias(units, ChronoUnit.SECONDS, "s", "sec", "secs", "second", "seconds");
        alias(units, ChronoUnit.MINUTES, "m", "min", "mins", "minute", "minutes");
        alias(units, ChronoUnit.HOURS, "h", "hour", "hours");
        alias(units, ChronoUnit.DAYS, "d", "day", "days");
        alias(units, ChronoUnit.WEEKS, "w", "week", "weeks");
        alias(units, ChronoUnit.MONTHS, "month", "months");
        alias(units, ChronoUnit.YEARS, "y", "year", "years");
        return Map.copyOf(units);
    }

    private static void alias(Map<String, Duration> units, ChronoUnit unit, String... names) {
        for (String name : names) {
            units.put(name, unit.getDuration());
        }
    }

    /** One {@code [attempts*]amount[ unit]} entry. */
    private static final class Entry {
        private final int attempts;
        private final Duration delay;

        private Entry(int attempts, Duration delay) {
            this.attempts = attempts;
            this.delay = delay;
        }
    }

    /** The delays one per retry, without storing a copy per retry (maxRetries may be large). */
    private static final class ExpandedDelays extends AbstractList<Duration> {
        private final int[] attempts;
        private final Duration[] durations;
        private final int size;

        private ExpandedDelays(int[] attempts, Duration[] durations, int size) {
            this.attempts = attempts;
            this.durations = durations;
            this.size = size;
        }

        @Override
        public Duration get(int index) {
            if (index < 0 || index >= size) {
                throw new IndexOutOfBoundsException("index " + index + " of " + size + " delays");
            }
            int end = 0;
            int entry = 0;
            while (index >= end + attempts[entry]) {
                end += attempts[entry];
                entry++;
            }
            return durations[entry];
        }

        @Override
        public int size() {
            return size;
        }
    }
}

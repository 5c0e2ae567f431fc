package io.github.mxgovernor.james;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.mail.MessagingException;

import org.apache.mailet.MailetConfig;

/**
 * A mailet's init parameters read strictly: an unknown name or a value that does not parse is a
 * {@link MessagingException} naming the parameter, the value and what was expected. Never a silent default.
 */
final class MailetParameters {
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private final MailetConfig config;
    private final String javaxPrefix;

    MailetParameters(MailetConfig config, Set<String> known, String javaxPrefix) throws MessagingException {
        this.config = config;
        this.javaxPrefix = javaxPrefix;
        Set<String> unknown = new TreeSet<>();
        for (Iterator<String> names = config.getInitParameterNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name) && !name.startsWith(javaxPrefix)) {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            throw new MessagingException("Unknown mailet parameter" + (unknown.size() > 1 ? "s " : " ")
                + String.join(", ", unknown) + " for " + config.getMailetName() + "; known parameters: "
                + String.join(", ", new TreeSet<>(known)) + " and " + javaxPrefix + "*");
        }
    }

    /** Parameters named {@code mail.*}, which RemoteDelivery passed to javax.mail. */
    List<String> javaxProperties() {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = config.getInitParameterNames(); it.hasNext(); ) {
            String name = it.next();
            if (name.startsWith(javaxPrefix)) {
                names.add(name);
            }
        }
        return names;
    }

    Optional<String> optionalString(String name) {
        return Optional.ofNullable(config.getInitParameter(name)).map(String::trim).filter(value -> !value.isEmpty());
    }

    Optional<Boolean> optionalBoolean(String name) throws MessagingException {
        Optional<String> value = optionalString(name);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        switch (value.get().toLowerCase(Locale.ROOT)) {
            case "true":
            case "yes":
                return Optional.of(true);
            case "false":
            case "no":
                return Optional.of(false);
            default:
                throw invalid(name, value.get(), "true or false");
        }
    }

    Optional<Integer> optionalInt(String name, int min, int max) throws MessagingException {
        Optional<String> value = optionalString(name);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        try {
            int parsed = Integer.parseInt(value.get());
            if (parsed >= min && parsed <= max) {
                return Optional.of(parsed);
            }
        } catch (NumberFormatException e) {
            // reported below with the expected range
        }
        throw invalid(name, value.get(), "an integer from " + min + " to " + max);
    }

    /** A duration in milliseconds, as RemoteDelivery's {@code timeout} and {@code connectiontimeout} are. */
    Optional<Duration> optionalMillis(String name) throws MessagingException {
        return optionalInt(name, 1, Integer.MAX_VALUE).map(Duration::ofMillis);
    }

    /** A duration written {@code 30s}, {@code 5m}, {@code 2h}, {@code 5d}, {@code 500ms} or ISO-8601. */
    Optional<Duration> optionalDuration(String name) throws MessagingException {
        Optional<String> value = optionalString(name);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        Duration parsed = parseDuration(value.get());
        if (parsed == null || parsed.isZero() || parsed.isNegative()) {
            throw invalid(name, value.get(), "a positive duration such as 500ms, 30s, 5m, 2h or 5d");
        }
        return Optional.of(parsed);
    }

    void refuseTrue(String name, String why) throws MessagingException {
        if (optionalBoolean(name).orElse(false)) {
            throw new MessagingException("Unsupported mailet parameter " + name + "=true: " + why);
        }
    }

    /** Runs a parse that reports bad values with {@link IllegalArgumentException}, as a mailet error. */
    <T> T parse(String name, Supplier<T> parse) throws MessagingException {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new MessagingException("Invalid mailet parameter " + name + ": " + e.getMessage(), e);
        }
    }

    private static Duration parseDuration(String text) {
        Matcher matcher = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (matcher.matches()) {
            long amount = Long.parseLong(matcher.group(1));
            switch (matcher.group(2)) {
                case "ms":
                    return Duration.ofMillis(amount);
                case "s":
                    return Duration.ofSeconds(amount);
                case "m":
                    return Duration.ofMinutes(amount);
                case "h":
                    return Duration.ofHours(amount);
                default:
                    return Duration.ofDays(amount);
            }
        }
        try {
            return Duration.parse(text.trim());
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static MessagingException invalid(String name, String value, String expected) {
        return new MessagingException("Invalid mailet parameter " + name + ": expected " + expected + ", was '"
            + value + "'");
    }
}

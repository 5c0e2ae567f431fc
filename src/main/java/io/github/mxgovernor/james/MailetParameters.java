package io.github.mxgovernor.james;

import io.github.mxgovernor.rules.DurationText;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

import javax.mail.MessagingException;

import org.apache.mailet.MailetConfig;

/**
 * A mailet's init parameters read strictly: an unknown name or a value that does not parse is a
 * {@link MessagingException} naming the parameter, the value and what was expected. Never a silent default.
 */
final class MailetParameters {
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

    /** A positive duration in the rules file's syntax ({@link DurationText}): {@code 500ms}, {@code 30s}, {@code PT5M}. */
    Optional<Duration> optionalDuration(String name) throws MessagingException {
        Optional<String> value = optionalString(name);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        String expected = "a positive duration such as 500ms, 30s, 5m, 2h or 5d";
        Duration parsed;
        try {
            parsed = DurationText.parse(value.get(), expected);
        } catch (IllegalArgumentException e) {
            throw new MessagingException("Invalid mailet parameter " + name + ": " + e.getMessage());
        }
        if (parsed.isZero() || parsed.isNegative()) {
            throw invalid(name, value.get(), expected);
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

    private static MessagingException invalid(String name, String value, String expected) {
        return new MessagingException("Invalid mailet parameter " + name + ": expected " + expected + ", was '"
            + value + "'");
    }
}

package io.github.mxgovernor.rules;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.tls.TlsMode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The attributes of {@code <default>} ({@link #DEFAULT}) and {@code <rule>} ({@link #RULE}) in a rules file, and how
 * each value is read onto a rule's builder: the one place that knows their names, syntax and ranges. The value readers
 * ({@link #integer}, {@link #duration}, {@link #oneOf}) serve the flow-control elements too. Immutable.
 */
final class RuleAttributes {
    static final String NAME = "name";
    static final String MX = "mx";
    static final String DOMAIN = "domain";

    /** The attributes {@code <default>} and {@code <rule>} share, in the order the reference lists them. */
    private static final Map<String, Setter> LIMITS = limits();

    /** What {@code <default>} takes: the limits. */
    static final RuleAttributes DEFAULT = new RuleAttributes(MxRulesParser.DEFAULT_ELEMENT, LIMITS);
    /** What {@code <rule>} takes: its name, MX masks, recipient-domain mask, and the limits. */
    static final RuleAttributes RULE = new RuleAttributes(MxRulesParser.RULE_ELEMENT, ruleAttributes());

    private final String element;
    private final Map<String, Setter> setters;

    private RuleAttributes(String element, Map<String, Setter> setters) {
        this.element = element;
        this.setters = setters;
    }

    /** Sets one attribute's value on a rule being built, or says why the value (or the attribute) is wrong. */
    @FunctionalInterface
    private interface Setter {
        void apply(MxRule.Builder rule, String value) throws InvalidValue;
    }

    /** A bad attribute value; the message says what was expected and what was found. */
    static final class InvalidValue extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidValue(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Sets attribute {@code field} on {@code rule}.
     *
     * @throws InvalidValue when the value is wrong, or the element takes no such attribute (with the near miss when
     *         only its case is wrong)
     */
    void apply(MxRule.Builder rule, String field, String value) throws InvalidValue {
        Setter setter = setters.get(field);
        if (setter == null) {
            Optional<String> nearMiss = setters.keySet().stream().filter(name -> name.equalsIgnoreCase(field))
                .findFirst();
            throw new InvalidValue("unknown attribute; " + nearMiss.map(name -> "did you mean '" + name + "'?")
                .orElse("<" + element + "> takes " + String.join(", ", setters.keySet())));
        }
        setter.apply(rule, value);
    }

    private static Map<String, Setter> limits() {
        Map<String, Setter> setters = new LinkedHashMap<>();
        setters.put("maxConnections",
            (rule, v) -> rule.maxConnections((int) integer(v, MxRule.MAX_CONNECTIONS_BOUND)));
        setters.put("maxMessagesPerConnection",
            (rule, v) -> rule.maxMessagesPerConnection((int) integer(v, MxRule.MAX_MESSAGES_PER_CONNECTION_BOUND)));
        setters.put("messagesPerHour", RuleAttributes::messagesPerHour);
        setters.put("connectTimeout", (rule, v) -> rule.connectTimeout(timeout(v)));
        setters.put("commandTimeout", (rule, v) -> rule.commandTimeout(timeout(v)));
        setters.put("dataTimeout", (rule, v) -> rule.dataTimeout(timeout(v)));
        setters.put("transactionTimeout", (rule, v) -> rule.transactionTimeout(timeout(v)));
        setters.put("idleTimeout", (rule, v) -> rule.idleTimeout(timeout(v)));
        setters.put("scope", (rule, v) -> rule.limitScope(oneOf(v, LimitScope.values(), LimitScope::configValue)));
        setters.put(ClusterScope.ATTRIBUTE, (rule, v) -> rule.clusterScope(oneOf(v, ClusterScope.values(),
            ClusterScope::configValue)));
        setters.put("tls", (rule, v) -> rule.tlsMode(oneOf(v, TlsMode.values(),
            mode -> mode.name().toLowerCase(Locale.ROOT))));
        setters.put("dane", (rule, v) -> rule.dane(oneOf(v, new Boolean[] {true, false}, String::valueOf)));
        return Collections.unmodifiableMap(setters);
    }

    private static Map<String, Setter> ruleAttributes() {
        Map<String, Setter> setters = new LinkedHashMap<>();
        // the name is the element's identity, read before the others
        setters.put(NAME, (rule, v) -> { });
        setters.put(MX, (rule, v) -> rule.mxMasks(hostMasks(v)));
        setters.put(DOMAIN, (rule, v) -> rule.recipientDomainMask(hostMask(v.trim())));
        setters.putAll(LIMITS);
        return Collections.unmodifiableMap(setters);
    }

    /** A whole number from 1 to {@code max}: digits only, no sign, no separators. */
    static long integer(String raw, long max) throws InvalidValue {
        String value = raw.trim();
        // more than 18 digits cannot be in range and would overflow
        boolean digits = !value.isEmpty() && value.length() <= 18 && value.chars().allMatch(c -> c >= '0' && c <= '9');
        long number = digits ? Long.parseLong(value) : -1;
        if (number < 1 || number > max) {
            throw new InvalidValue(MxRule.integerRangeRequirement(max) + ", was '" + raw + "'");
        }
        return number;
    }

    private static void messagesPerHour(MxRule.Builder rule, String raw) throws InvalidValue {
        if (raw.trim().equalsIgnoreCase("unlimited")) {
            rule.unlimitedMessagesPerHour();
            return;
        }
        try {
            rule.messagesPerHour(integer(raw, MxRule.MESSAGES_PER_HOUR_BOUND));
        } catch (InvalidValue e) {
            throw new InvalidValue(MxRule.integerRangeRequirement(MxRule.MESSAGES_PER_HOUR_BOUND)
                + " or 'unlimited', was '" + raw + "'");
        }
    }

    /** A timeout: a positive integer with a unit ({@code ms s m h d}) or ISO-8601, more than 0 and at most a day. */
    private static Duration timeout(String raw) throws InvalidValue {
        Duration duration = duration(raw, MxRule.TIMEOUT_REQUIREMENT);
        if (duration.isNegative() || duration.isZero() || duration.compareTo(MxRule.TIMEOUT_BOUND) > 0) {
            throw new InvalidValue(MxRule.TIMEOUT_REQUIREMENT + ", was '" + raw + "'");
        }
        return duration;
    }

    /** A duration in {@link DurationText}'s syntax; the caller checks its range. */
    static Duration duration(String raw, String requirement) throws InvalidValue {
        try {
            return DurationText.parse(raw, requirement);
        } catch (IllegalArgumentException e) {
            throw new InvalidValue(e.getMessage());
        }
    }

    /** The value whose configuration name is {@code raw}, in any case. */
    static <E> E oneOf(String raw, E[] values, Function<E, String> configValue) throws InvalidValue {
        String value = raw.trim();
        for (E candidate : values) {
            if (configValue.apply(candidate).equalsIgnoreCase(value)) {
                return candidate;
            }
        }
        String allowed = Arrays.stream(values).map(configValue).collect(Collectors.joining(", "));
        throw new InvalidValue("must be one of " + allowed + ", was '" + raw + "'");
    }

    private static List<HostMask> hostMasks(String raw) throws InvalidValue {
        List<HostMask> masks = new ArrayList<>();
        for (String glob : raw.split(",", -1)) {
            if (glob.isBlank()) {
                throw new InvalidValue("needs one or more host masks separated by commas, without empty ones,"
                    + " was '" + raw + "'");
            }
            masks.add(hostMask(glob.trim()));
        }
        return masks;
    }

    private static HostMask hostMask(String glob) throws InvalidValue {
        try {
            return HostMask.parse(glob);
        } catch (IllegalArgumentException e) {
            throw new InvalidValue(e.getMessage());
        }
    }
}

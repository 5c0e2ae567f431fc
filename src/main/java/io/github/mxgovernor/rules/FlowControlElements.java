package io.github.mxgovernor.rules;

import io.github.mxgovernor.flowcontrol.AdaptiveConcurrency;
import io.github.mxgovernor.flowcontrol.BackoffLimits;
import io.github.mxgovernor.flowcontrol.ErrorRateTrigger;
import io.github.mxgovernor.flowcontrol.FlowAction;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.Recovery;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.rules.RuleAttributes.InvalidValue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Reads the flow-control child elements of one {@code <rule>} or {@code <default>} on top of the policy it
 * inherits, and checks at the end that the result can always return to normal. Field names in errors are
 * {@code element.attribute}, such as {@code response.match}. One instance per rule element.
 */
final class FlowControlElements {
    static final String BACKOFF = "backoff";
    static final String ERROR_RATE = "errorRate";
    static final String RESPONSE = "response";
    static final String RECOVERY = "recovery";
    static final String ADAPTIVE = "adaptiveConcurrency";
    static final List<String> ELEMENTS = List.of(BACKOFF, ERROR_RATE, RESPONSE, RECOVERY, ADAPTIVE);

    private static final String ACTION = "action";
    private static final String DURATION = "duration";
    private static final String MAX_CONNECTIONS = "maxConnections";
    private static final String MAX_MESSAGES_PER_CONNECTION = "maxMessagesPerConnection";
    private static final String MESSAGES_PER_HOUR = "messagesPerHour";
    private static final List<String> REACTION_ATTRIBUTES = List.of(ACTION, DURATION, MAX_CONNECTIONS,
        MAX_MESSAGES_PER_CONNECTION);
    private static final Map<String, List<String>> ATTRIBUTES = Map.of(
        BACKOFF, List.of(MAX_CONNECTIONS, MAX_MESSAGES_PER_CONNECTION, MESSAGES_PER_HOUR),
        ERROR_RATE, concat(List.of("enabled", "minAttempts", "ratio", "window"), REACTION_ATTRIBUTES),
        RESPONSE, concat(List.of("match", "threshold", "window", "deferMail"), REACTION_ATTRIBUTES),
        RECOVERY, List.of("probes", "halfOpen"),
        ADAPTIVE, List.of("enabled", "decrease"));

    private final String sourceName;
    private final FlowControlPolicy inherited;
    private final FlowControlPolicy.Builder policy;
    private final Map<String, Integer> lines = new HashMap<>();
    private final List<Integer> responseLines = new ArrayList<>();
    private Optional<ErrorRateTrigger> errorRate;
    private final List<ResponseRule> responses;
    private Recovery recovery;

    FlowControlElements(String sourceName, FlowControlPolicy inherited) {
        this.sourceName = sourceName;
        this.inherited = inherited;
        this.policy = inherited.toBuilder();
        this.errorRate = inherited.errorRate();
        this.responses = new ArrayList<>(inherited.responseRules());
        this.recovery = inherited.recovery();
    }

    /** A problem with one attribute of one child element. */
    static final class InvalidAttribute extends Exception {
        private static final long serialVersionUID = 1L;
        final int line;
        final String field;

        InvalidAttribute(int line, String element, String attribute, String message) {
            super(message, null, false, false);
            this.line = line;
            this.field = attribute == null ? null : element + "." + attribute;
        }
    }

    /** Reads one child element; {@code element} is one of {@link #ELEMENTS}. */
    void read(String element, int line, Map<String, String> attributes) throws InvalidAttribute {
        List<String> known = ATTRIBUTES.get(element);
        for (String attribute : attributes.keySet()) {
            if (!known.contains(attribute)) {
                Optional<String> nearMiss = known.stream().filter(name -> name.equalsIgnoreCase(attribute)).findFirst();
                throw new InvalidAttribute(line, element, attribute, "unknown attribute; " + nearMiss
                    .map(name -> "did you mean '" + name + "'?")
                    .orElse("<" + element + "> takes " + String.join(", ", known)));
            }
        }
        if (!element.equals(RESPONSE)) {
            Integer first = lines.putIfAbsent(element, line);
            if (first != null) {
                throw new InvalidAttribute(line, element, null, "a second <" + element + "> in this rule; the first"
                    + " is at line " + first);
            }
        }
        Attributes values = new Attributes(element, line, attributes);
        switch (element) {
            case BACKOFF:
                readBackoff(values);
                break;
            case ERROR_RATE:
                readErrorRate(values);
                break;
            case RESPONSE:
                readResponse(values);
                break;
            case RECOVERY:
                Recovery base = inherited.recovery();
                int probes = (int) values.integer("probes", 0, 10_000).orElse(base.probes());
                Duration halfOpen = values.duration("halfOpen", Duration.ZERO, Duration.ofDays(1), "must be from 0s to 1d")
                    .orElse(base.halfOpen());
                recovery = new Recovery(probes, halfOpen);
                policy.recovery(recovery);
                break;
            default:
                AdaptiveConcurrency adaptive = inherited.adaptive();
                policy.adaptive(new AdaptiveConcurrency(values.bool("enabled").orElse(adaptive.enabled()),
                    values.fraction("decrease", false, "must be a number above 0 and below 1")
                        .orElse(adaptive.decrease())));
                break;
        }
    }

    private void readBackoff(Attributes values) throws InvalidAttribute {
        BackoffLimits backoff = inherited.backoff();
        OptionalLong maxConnections = values.integer(MAX_CONNECTIONS, 1, MxRule.MAX_CONNECTIONS_BOUND);
        OptionalLong perConnection = values.integer(MAX_MESSAGES_PER_CONNECTION, 1,
            MxRule.MAX_MESSAGES_PER_CONNECTION_BOUND);
        OptionalLong perHour = values.integer(MESSAGES_PER_HOUR, 1, MxRule.MESSAGES_PER_HOUR_BOUND);
        policy.backoff(new BackoffLimits(
            maxConnections.isPresent() ? OptionalInt.of((int) maxConnections.getAsLong()) : backoff.maxConnections(),
            perConnection.isPresent() ? OptionalInt.of((int) perConnection.getAsLong())
                : backoff.maxMessagesPerConnection(),
            perHour.isPresent() ? perHour : backoff.messagesPerHour()));
    }

    private void readErrorRate(Attributes values) throws InvalidAttribute {
        Optional<Boolean> enabled = values.bool("enabled");
        if (enabled.isPresent() && !enabled.get()) {
            if (values.size() > 1) {
                throw values.invalid("enabled", "turns the trigger off; remove the other attributes or enabled");
            }
            errorRate = Optional.empty();
            policy.errorRate(errorRate);
            return;
        }
        ErrorRateTrigger base = inherited.errorRate().orElse(ErrorRateTrigger.builtIn());
        int minAttempts = (int) values.integer("minAttempts", 1, 100_000).orElse(base.minAttempts());
        double ratio = values.fraction("ratio", true, "must be a number from 0 up to, but not including, 1")
            .orElse(base.ratio());
        Duration window = values.duration("window", ErrorRateTrigger.MIN_WINDOW, ErrorRateTrigger.MAX_WINDOW,
            "must be from 1s to 1d").orElse(base.window());
        Reaction reaction = values.reaction(Optional.of(base.reaction()));
        if (reaction.action() == FlowAction.RECONNECT) {
            throw values.invalid(ACTION, "reconnect acts on one connection and cannot answer an error rate; use"
                + " backoff, suspend, limitConnections or limitMessagesPerConnection");
        }
        errorRate = Optional.of(new ErrorRateTrigger(minAttempts, ratio, window, reaction));
        policy.errorRate(errorRate);
    }

    private void readResponse(Attributes values) throws InvalidAttribute {
        if (responseLines.isEmpty()) {
            // A rule's own response rules replace the inherited ones as a whole.
            responses.clear();
        }
        String match = values.required("match", "a regular expression on the reply");
        int threshold;
        String rawThreshold = values.raw("threshold");
        if (rawThreshold == null || rawThreshold.trim().equalsIgnoreCase("immediate")) {
            threshold = 1;
        } else {
            threshold = (int) values.integer("threshold", 1, 10_000).getAsLong();
        }
        Optional<Duration> window = values.duration("window", ErrorRateTrigger.MIN_WINDOW,
            ErrorRateTrigger.MAX_WINDOW, "must be from 1s to 1d");
        if (threshold > 1 && window.isEmpty()) {
            throw values.invalid("window", "missing; with threshold " + threshold + " it says within how long "
                + threshold + " matching replies fire the rule");
        }
        if (threshold == 1 && window.isPresent()) {
            throw values.invalid("window", "has no meaning with threshold 1 (the rule fires at once); remove it or"
                + " raise the threshold");
        }
        if (values.raw(ACTION) == null) {
            throw values.invalid(ACTION, "missing; one of " + actions());
        }
        Reaction reaction = values.reaction(Optional.empty());
        boolean defersMail = values.bool("deferMail").orElse(false);
        try {
            responses.add(new ResponseRule(match, threshold, window, reaction, sourceName + ":" + values.line,
                defersMail));
        } catch (IllegalArgumentException e) {
            throw values.invalid("match", e.getMessage().replaceFirst("^match ", ""));
        }
        policy.responseRules(responses);
        responseLines.add(values.line);
    }

    /**
     * The policy read, checked: every trigger must be able to end, or a destination could stay in backoff for ever.
     * The error names the element to change: the trigger when it is the rule's own, else the rule's recovery.
     */
    FlowControlPolicy build() throws InvalidAttribute {
        if (errorRate.isPresent() && !FlowControlPolicy.canEnd(errorRate.get().reaction(), recovery)) {
            throw neverReturns(lines.get(ERROR_RATE), ERROR_RATE, errorRate.get().reaction());
        }
        for (int i = 0; i < responses.size(); i++) {
            if (!FlowControlPolicy.canEnd(responses.get(i).reaction(), recovery)) {
                throw neverReturns(responseLines.isEmpty() ? null : responseLines.get(i), RESPONSE,
                    responses.get(i).reaction());
            }
        }
        return policy.build();
    }

    private InvalidAttribute neverReturns(Integer ownLine, String element, Reaction reaction) {
        String problem = "a destination could never return to normal: action " + reaction.action().configValue()
            + " without a duration ends only by recovery probes, and <" + RECOVERY + "> has 0 probes";
        if (ownLine != null) {
            return new InvalidAttribute(ownLine, element, DURATION, "missing; " + problem);
        }
        Integer recoveryLine = lines.get(RECOVERY);
        return new InvalidAttribute(recoveryLine == null ? 0 : recoveryLine, RECOVERY, "probes",
            "0 leaves the inherited <" + element + "> without an end; " + problem);
    }

    private static String actions() {
        StringBuilder names = new StringBuilder();
        for (FlowAction action : FlowAction.values()) {
            names.append(names.length() == 0 ? "" : ", ").append(action.configValue());
        }
        return names.toString();
    }

    private static List<String> concat(List<String> first, List<String> second) {
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        return List.copyOf(all);
    }

    /** The attributes of one element, each read with the element and line its errors name. */
    private static final class Attributes {
        final String element;
        final int line;
        private final Map<String, String> values;

        Attributes(String element, int line, Map<String, String> values) {
            this.element = element;
            this.line = line;
            this.values = values;
        }

        int size() {
            return values.size();
        }

        String raw(String name) {
            return values.get(name);
        }

        InvalidAttribute invalid(String attribute, String message) {
            return new InvalidAttribute(line, element, attribute, message);
        }

        String required(String name, String what) throws InvalidAttribute {
            String value = values.get(name);
            if (value == null) {
                throw invalid(name, "missing; <" + element + "> needs " + what);
            }
            return value;
        }

        OptionalLong integer(String name, long min, long max) throws InvalidAttribute {
            String raw = values.get(name);
            if (raw == null) {
                return OptionalLong.empty();
            }
            String value = raw.trim();
            boolean digits = !value.isEmpty() && value.length() <= 18
                && value.chars().allMatch(c -> c >= '0' && c <= '9');
            long number = digits ? Long.parseLong(value) : -1;
            if (number < min || number > max) {
                throw invalid(name, "must be an integer from " + min + " to " + max + ", was '" + raw + "'");
            }
            return OptionalLong.of(number);
        }

        Optional<Duration> duration(String name, Duration min, Duration max, String requirement)
                throws InvalidAttribute {
            String raw = values.get(name);
            if (raw == null) {
                return Optional.empty();
            }
            Duration duration;
            try {
                duration = RuleAttributes.duration(raw, requirement);
            } catch (InvalidValue e) {
                throw invalid(name, e.getMessage());
            }
            if (duration.compareTo(min) < 0 || duration.compareTo(max) > 0) {
                throw invalid(name, requirement + ", was '" + raw + "'");
            }
            return Optional.of(duration);
        }

        Optional<Boolean> bool(String name) throws InvalidAttribute {
            String raw = values.get(name);
            if (raw == null) {
                return Optional.empty();
            }
            String value = raw.trim().toLowerCase(Locale.ROOT);
            if (!value.equals("true") && !value.equals("false")) {
                throw invalid(name, "must be true or false, was '" + raw + "'");
            }
            return Optional.of(value.equals("true"));
        }

        /** A decimal number in [0, 1) when {@code zeroAllowed}, else in (0, 1). */
        Optional<Double> fraction(String name, boolean zeroAllowed, String requirement) throws InvalidAttribute {
            String raw = values.get(name);
            if (raw == null) {
                return Optional.empty();
            }
            String value = raw.trim();
            boolean decimal = value.matches("[0-9]{1,6}(\\.[0-9]{1,9})?|\\.[0-9]{1,9}");
            double number = decimal ? Double.parseDouble(value) : -1;
            if (number < 0 || number >= 1 || (!zeroAllowed && number == 0)) {
                throw invalid(name, requirement + ", was '" + raw + "'");
            }
            return Optional.of(number);
        }

        /**
         * The reaction the element's action, duration and limit attributes describe. Without an action the
         * inherited reaction is kept, its duration replaced when the element sets one.
         */
        Reaction reaction(Optional<Reaction> inheritedReaction) throws InvalidAttribute {
            String rawAction = values.get(ACTION);
            Optional<Duration> duration = duration(DURATION, Reaction.MIN_DURATION, Reaction.MAX_DURATION,
                "must be from 1s to 7d");
            FlowAction action;
            int limit;
            if (rawAction == null) {
                Reaction base = inheritedReaction.orElseThrow();
                action = base.action();
                limit = base.limit();
                if (duration.isEmpty()) {
                    duration = base.duration();
                }
                if (values.containsKey(MAX_CONNECTIONS) || values.containsKey(MAX_MESSAGES_PER_CONNECTION)) {
                    throw invalid(ACTION, "missing; a limit needs its action (limitConnections or"
                        + " limitMessagesPerConnection)");
                }
            } else {
                try {
                    action = RuleAttributes.oneOf(rawAction, FlowAction.values(), FlowAction::configValue);
                } catch (InvalidValue e) {
                    throw invalid(ACTION, e.getMessage());
                }
                limit = limitFor(action);
            }
            switch (action) {
                case SUSPEND:
                    if (duration.isEmpty()) {
                        throw invalid(DURATION, "missing; a suspended destination makes no attempt, so only time can"
                            + " end a suspension");
                    }
                    return Reaction.suspend(duration.get());
                case RECONNECT:
                    if (values.containsKey(DURATION)) {
                        throw invalid(DURATION, "has no meaning for reconnect, which acts on one connection at once");
                    }
                    return Reaction.reconnect();
                case LIMIT_CONNECTIONS:
                    return Reaction.limitConnections(limit, duration);
                case LIMIT_MESSAGES_PER_CONNECTION:
                    return Reaction.limitMessagesPerConnection(limit, duration);
                default:
                    return Reaction.backoff(duration);
            }
        }

        private int limitFor(FlowAction action) throws InvalidAttribute {
            String needed = action == FlowAction.LIMIT_CONNECTIONS ? MAX_CONNECTIONS
                : action == FlowAction.LIMIT_MESSAGES_PER_CONNECTION ? MAX_MESSAGES_PER_CONNECTION : null;
            for (String limitAttribute : List.of(MAX_CONNECTIONS, MAX_MESSAGES_PER_CONNECTION)) {
                if (!limitAttribute.equals(needed) && values.containsKey(limitAttribute)) {
                    throw invalid(limitAttribute, "has no meaning for action " + action.configValue()
                        + (needed == null ? "" : "; it takes " + needed));
                }
            }
            if (needed == null) {
                return 0;
            }
            long max = needed.equals(MAX_CONNECTIONS) ? MxRule.MAX_CONNECTIONS_BOUND
                : MxRule.MAX_MESSAGES_PER_CONNECTION_BOUND;
            OptionalLong limit = integer(needed, 1, max);
            if (limit.isEmpty()) {
                throw invalid(needed, "missing; action " + action.configValue() + " needs it");
            }
            return (int) limit.getAsLong();
        }
    }
}

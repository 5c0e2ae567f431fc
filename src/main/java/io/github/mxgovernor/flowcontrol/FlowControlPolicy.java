package io.github.mxgovernor.flowcontrol;

import io.github.mxgovernor.smtp.SmtpReply;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything an MX rule says about flow control: the backoff limits, the error-rate trigger, the response rules
 * (tried in order, the first that matches a reply counts it), the recovery and adaptive concurrency. Immutable;
 * built with {@link #builder()} or from another policy with {@link #toBuilder()}.
 *
 * <p>{@link Builder#build()} refuses a policy that could leave a destination in backoff for ever: a trigger that
 * backs off without a duration needs recovery probes to end it.
 */
public final class FlowControlPolicy {
    private static final FlowControlPolicy BUILT_IN = builder().build();

    private final BackoffLimits backoff;
    private final Optional<ErrorRateTrigger> errorRate;
    private final List<ResponseRule> responseRules;
    private final ResponseRule[] responseRuleArray;
    private final Recovery recovery;
    private final AdaptiveConcurrency adaptive;

    private FlowControlPolicy(Builder builder) {
        this.backoff = builder.backoff;
        this.errorRate = builder.errorRate;
        this.responseRules = List.copyOf(builder.responseRules);
        this.responseRuleArray = responseRules.toArray(new ResponseRule[0]);
        this.recovery = builder.recovery;
        this.adaptive = builder.adaptive;
    }

    /**
     * The built-in policy: {@link BackoffLimits#builtIn()}, {@link ErrorRateTrigger#builtIn()}, no response rules,
     * {@link Recovery#builtIn()}, {@link AdaptiveConcurrency#builtIn()}.
     */
    public static FlowControlPolicy builtIn() {
        return BUILT_IN;
    }

    /** A builder that starts from the built-in values. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this policy's values. */
    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.backoff = backoff;
        builder.errorRate = errorRate;
        builder.responseRules.addAll(responseRules);
        builder.recovery = recovery;
        builder.adaptive = adaptive;
        return builder;
    }

    /**
     * Whether a reaction can end under this recovery: it has a duration, acts on one connection only, or backs off
     * until probes succeed and there are probes to count.
     */
    public static boolean canEnd(Reaction reaction, Recovery recovery) {
        return reaction.duration().isPresent() || reaction.action() == FlowAction.RECONNECT || recovery.probes() > 0;
    }

    public BackoffLimits backoff() {
        return backoff;
    }

    /** Empty when the rule has no error-rate trigger. */
    public Optional<ErrorRateTrigger> errorRate() {
        return errorRate;
    }

    public List<ResponseRule> responseRules() {
        return responseRules;
    }

    /**
     * The first response rule that matches a server's reply, tried on {@code code text} of replies whose code is not
     * 2xx; empty when none does (always for a 2xx reply). The caller must never pass a text of its own making.
     */
    public Optional<ResponseRule> match(SmtpReply reply) {
        if (responseRuleArray.length == 0 || reply.isPositiveCompletion()) {
            return Optional.empty();
        }
        String text = reply.toString();
        for (ResponseRule rule : responseRuleArray) {
            if (rule.matches(text)) {
                return Optional.of(rule);
            }
        }
        return Optional.empty();
    }

    ResponseRule[] responseRuleArray() {
        return responseRuleArray;
    }

    public Recovery recovery() {
        return recovery;
    }

    public AdaptiveConcurrency adaptive() {
        return adaptive;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FlowControlPolicy)) {
            return false;
        }
        FlowControlPolicy that = (FlowControlPolicy) o;
        return backoff.equals(that.backoff) && errorRate.equals(that.errorRate)
            && responseRules.equals(that.responseRules) && recovery.equals(that.recovery)
            && adaptive.equals(that.adaptive);
    }

    @Override
    public int hashCode() {
        return Objects.hash(backoff, errorRate, responseRules, recovery, adaptive);
    }

    @Override
    public String toString() {
        return "flowControl{" + backoff + ", " + errorRate.map(Object::toString).orElse("no errorRate") + ", "
            + responseRules.size() + " response rules, " + recovery + ", " + adaptive + "}";
    }

    /** Builds a {@link FlowControlPolicy}. */
    public static final class Builder {
        private BackoffLimits backoff = BackoffLimits.builtIn();
        private Optional<ErrorRateTrigger> errorRate = Optional.of(ErrorRateTrigger.builtIn());
        private final List<ResponseRule> responseRules = new ArrayList<>();
        private Recovery recovery = Recovery.builtIn();
        private AdaptiveConcurrency adaptive = AdaptiveConcurrency.builtIn();

        private Builder() {
        }

        public Builder backoff(BackoffLimits value) {
            this.backoff = Objects.requireNonNull(value, "backoff");
            return this;
        }

        /** The error-rate trigger; empty for none. */
        public Builder errorRate(Optional<ErrorRateTrigger> value) {
            this.errorRate = Objects.requireNonNull(value, "errorRate");
            return this;
        }

        /** Replaces the response rules. */
        public Builder responseRules(List<ResponseRule> rules) {
            Objects.requireNonNull(rules, "responseRules");
            responseRules.clear();
            responseRules.addAll(rules);
            return this;
        }

        public Builder addResponseRule(ResponseRule rule) {
            responseRules.add(Objects.requireNonNull(rule, "rule"));
            return this;
        }

        public Builder recovery(Recovery value) {
            this.recovery = Objects.requireNonNull(value, "recovery");
            return this;
        }

        public Builder adaptive(AdaptiveConcurrency value) {
            this.adaptive = Objects.requireNonNull(value, "adaptive");
            return this;
        }

        /**
         * @throws IllegalArgumentException if a trigger backs off without a duration while recovery has no probes:
         *         such a destination could never return to normal
         */
        public FlowControlPolicy build() {
            if (errorRate.isPresent() && !canEnd(errorRate.get().reaction(), recovery)) {
                throw neverEnds(errorRate.get().toString());
            }
            for (ResponseRule rule : responseRules) {
                if (!canEnd(rule.reaction(), recovery)) {
                    throw neverEnds(rule.toString());
                }
            }
            return new FlowControlPolicy(this);
        }

        private static IllegalArgumentException neverEnds(String trigger) {
            return new IllegalArgumentException("a destination could never return to normal: " + trigger
                + " backs off without a duration and recovery has 0 probes");
        }
    }
}

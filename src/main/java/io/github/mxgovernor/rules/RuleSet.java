package io.github.mxgovernor.rules;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The MX rules in force: the rules in file order and the default rule that applies when none matches.
 * Immutable and safe to share between threads.
 *
 * <p>A set of {@value #REMEMBERING_FROM} rules or more remembers, for each of the last {@value #REMEMBERED_HOSTS} MX
 * hosts it was asked about, which rules' MX masks match that host: a host is compared with every mask once, and then
 * only its own rules are tried, however long the rules file.
 */
public final class RuleSet {
    /** From how many rules a set remembers the rules of each MX host; below, trying every rule is as fast. */
    static final int REMEMBERING_FROM = 32;
    /** How many MX hosts' rules a set remembers, the least used forgotten first. */
    static final int REMEMBERED_HOSTS = 100_000;
    private static final MxRule[] NO_RULES = new MxRule[0];

    private final MxRule defaultRule;
    private final List<MxRule> rules;
    private final MxRule[] ruleArray;
    private final Optional<String> source;
    /** The rules whose MX masks match a host, in file order; null for a set too small to need it. */
    private final Cache<String, MxRule[]> rulesByMxHost;
    private final Function<String, MxRule[]> mxHostRules = this::rulesMatchingMxHost;

    RuleSet(MxRule defaultRule, List<MxRule> rules, Optional<String> source) {
        this.defaultRule = Objects.requireNonNull(defaultRule, "defaultRule");
        this.rules = List.copyOf(rules);
        this.ruleArray = this.rules.toArray(new MxRule[0]);
        this.source = Objects.requireNonNull(source, "source");
        this.rulesByMxHost = ruleArray.length < REMEMBERING_FROM ? null
            : Caffeine.newBuilder().maximumSize(REMEMBERED_HOSTS).build();
        Set<String> names = new HashSet<>();
        names.add(defaultRule.name());
        for (MxRule rule : this.rules) {
            if (!names.add(rule.name())) {
                throw new IllegalArgumentException("rule name '" + rule.name() + "' is used twice"
                        + " (the default rule is named '" + defaultRule.name() + "')");
            }
        }
    }

    /** A rule set that holds only the built-in default rule (see {@link MxRule#builder(String)} for its values). */
    public static RuleSet builtInDefaults() {
        return new RuleSet(MxRule.builtInDefault(), List.of(), Optional.empty());
    }

    /**
     * A rule set built in code rather than read from a file.
     *
     * @param defaultRule the rule for MX hosts no other rule matches; its masks are not consulted
     * @param rules       the rules, tried in this order
     * @throws IllegalArgumentException if two rules, or a rule and the default rule, share a name
     */
    public static RuleSet of(MxRule defaultRule, List<MxRule> rules) {
        return new RuleSet(defaultRule, rules, Optional.empty());
    }

    /**
     * The rule for delivering to this MX host for this recipient domain: the first rule, in file order, that
     * {@linkplain MxRule#matches(String, String) matches}, else the default rule. Never null; does not allocate.
     */
    public MxRule match(String mxHost, String recipientDomain) {
        if (rulesByMxHost == null) {
            for (MxRule rule : ruleArray) {
                if (rule.matches(mxHost, recipientDomain)) {
                    return rule;
                }
            }
            return defaultRule;
        }
        for (MxRule rule : rulesByMxHost.get(mxHost, mxHostRules)) {
            if (rule.matchesRecipientDomain(recipientDomain)) {
                return rule;
            }
        }
        return defaultRule;
    }

    private MxRule[] rulesMatchingMxHost(String mxHost) {
        MxRule[] matching = NO_RULES;
        int count = 0;
        for (MxRule rule : ruleArray) {
            if (rule.matchesMxHost(mxHost)) {
                if (count == matching.length) {
                    matching = Arrays.copyOf(matching, Math.max(4, count * 2));
                }
                matching[count++] = rule;
            }
        }
        return count == matching.length ? matching : Arrays.copyOf(matching, count);
    }

    /** The rules in the order they are tried, without the default rule. */
    public List<MxRule> rules() {
        return rules;
    }

    public MxRule defaultRule() {
        return defaultRule;
    }

    /** The file the rules were read from, as it was named to the parser; empty for built-in or coded rules. */
    public Optional<String> source() {
        return source;
    }

    @Override
    public String toString() {
        return "RuleSet{" + source.orElse(MxRule.BUILT_IN_SOURCE) + ", " + rules.size() + " rules + default}";
    }
}

package io.github.mxgovernor.flowcontrol;

/**
 * The counts of a policy's response rules that have a threshold above one, made on first use (most destinations never
 * get a reply a rule matches): this node's own, or the cluster's, as {@link FlowSharing} gives them. Thread-safe.
 */
final class ResponseCounts {
    private final ResponseRule[] rules;
    private final FlowSharing sharing;
    private volatile AttemptCounts[] counts;

    ResponseCounts(ResponseRule[] rules, FlowSharing sharing) {
        this.rules = rules;
        this.sharing = sharing;
    }

    /** The counts of the rule at {@code index} in the policy; null for a rule that fires at once. */
    AttemptCounts of(int index) {
        AttemptCounts[] made = counts;
        if (made == null) {
            synchronized (this) {
                made = counts;
                if (made == null) {
                    made = new AttemptCounts[rules.length];
                    for (int i = 0; i < rules.length; i++) {
                        if (rules[i].threshold() > 1) {
                            made[i] = sharing.counts(name(i, rules[i]), rules[i].window().orElseThrow());
                        }
                    }
                    counts = made;
                }
            }
        }
        return made[index];
    }

    /** Forgets every count made so far. */
    void clear() {
        AttemptCounts[] made = counts;
        if (made != null) {
            for (AttemptCounts count : made) {
                if (count != null) {
                    count.clear();
                }
            }
        }
    }

    /** The shared name of a rule's counts: its place in the policy and where it is written. */
    private static String name(int index, ResponseRule rule) {
        return "response-" + index + "-" + rule.source().replaceAll("[^A-Za-z0-9:._-]", "_");
    }
}

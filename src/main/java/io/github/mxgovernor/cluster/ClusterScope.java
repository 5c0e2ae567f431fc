package io.github.mxgovernor.cluster;

import java.util.Locale;

/**
 * Whether a rule's limits are counted across every James node sharing the cluster store, or by each node on its own.
 * Written {@code clusterScope="cluster"} or {@code clusterScope="node"} on a rule; without a store every limit is a
 * node's own whatever the rule says.
 */
public enum ClusterScope {
    /** One cap, one rate and one flow-control state for all nodes (the default once a store is configured). */
    CLUSTER("cluster"),
    /** Each node counts on its own, as without a store (as KumoMTA's {@code local:} limits). */
    NODE("node");

    /** The rule attribute. */
    public static final String ATTRIBUTE = "clusterScope";

    private final String configValue;

    ClusterScope(String configValue) {
        this.configValue = configValue;
    }

    public String configValue() {
        return configValue;
    }

    /**
     * The scope written {@code value}, in any case.
     *
     * @param where where the value is written, for the message ({@code mx-rules.xml:40, rule google})
     * @throws IllegalArgumentException naming {@code where}, the attribute and the value when it is neither scope
     */
    public static ClusterScope parse(String value, String where) {
        if (value != null) {
            String wanted = value.trim().toLowerCase(Locale.ROOT);
            for (ClusterScope scope : values()) {
                if (scope.configValue.equals(wanted)) {
                    return scope;
                }
            }
        }
        throw new IllegalArgumentException(where + ": " + ATTRIBUTE + " must be 'cluster' or 'node', was '" + value
            + "'");
    }
}

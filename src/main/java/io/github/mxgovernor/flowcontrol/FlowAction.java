package io.github.mxgovernor.flowcontrol;

/**
 * What a trigger does to its destination. The {@link #configValue() configuration value} is what the rules
 * file's {@code action} attribute takes.
 */
public enum FlowAction {
    /** Run with the rule's {@code <backoff>} limits until the duration ends (or the recovery probes succeed). */
    BACKOFF("backoff"),
    /** No attempt at all until the duration (jittered) ends. */
    SUSPEND("suspend"),
    /** Run with at most K connections, the other limits unchanged; a backoff of its own. */
    LIMIT_CONNECTIONS("limitConnections"),
    /** Close connections after K mails, the other limits unchanged; a backoff of its own. */
    LIMIT_MESSAGES_PER_CONNECTION("limitMessagesPerConnection"),
    /** Close the connection that got the reply and retry the mail once on a fresh one; no change of state. */
    RECONNECT("reconnect");

    private final String configValue;

    FlowAction(String configValue) {
        this.configValue = configValue;
    }

    /** The value of the {@code action} attribute in the rules file. */
    public String configValue() {
        return configValue;
    }

    /** Whether the action puts the destination in {@link FlowState.Kind#BACKOFF}. */
    public boolean backsOff() {
        return this == BACKOFF || this == LIMIT_CONNECTIONS || this == LIMIT_MESSAGES_PER_CONNECTION;
    }
}

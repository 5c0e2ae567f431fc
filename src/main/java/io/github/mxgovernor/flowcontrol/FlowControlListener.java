package io.github.mxgovernor.flowcontrol;

/**
 * Told of every change of flow-control state, after the change took effect. Called on the thread that made the
 * change (often a delivery thread): keep it short and do not block. Exceptions are logged and ignored.
 */
@FunctionalInterface
public interface FlowControlListener {
    /** Does nothing. */
    FlowControlListener NONE = event -> { };

    void onTransition(FlowControlEvent event);
}

package io.github.mxgovernor.flowcontrol;

import java.time.Duration;

/** A destination's message rate as flow control sees it: tokens to take, give back and wait for. */
public interface MessageBudget {
    /** Takes one message's token; false when the destination must wait. Must not allocate. */
    boolean tryConsume();

    /** Gives back a token taken for a message that was not sent after all. */
    void refund();

    /** How long until a token is available; zero when one is available now. */
    Duration timeUntilToken();
}

package io.github.mxgovernor.delivery;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What the James edge asks of the core: deliver parts, and stop. Implemented by {@link DeliveryEngine}.
 */
public interface PartDelivery {

    /**
     * Delivers one part under the MX rules. Never throws for a delivery problem and never blocks on the network: the
     * returned future always completes, with one {@link Outcome} per recipient of the part.
     */
    CompletableFuture<Map<String, Outcome>> deliver(DeliveryPart part);

    /**
     * Stops delivery. Parts offered from now on, and parts still waiting for a connection, complete at once as local
     * deferrals; transactions in progress may finish within {@code grace}; then every connection is closed at once
     * (no QUIT) and the parts still in progress complete as deferred (a part whose content was already on the wire
     * is logged at WARN as a possible duplicate, since keeping it is better than losing it). When this returns, every
     * future {@link #deliver} handed out has completed and no further byte goes to any server.
     */
    void close(Duration grace);
}

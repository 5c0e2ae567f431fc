package io.github.mxgovernor.james.jmx;

import java.util.List;

/** How each governed mailet of this JVM takes mail from its queue, as the Governor bean shows it. */
public interface DequeueStates {
    /** One row per running governed mailet. */
    List<DequeueRow> dequeueStates();
}

package io.github.mxgovernor.it;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connections open at once over several {@link FakeMxServer}s, counted exactly: for a cap that a rule shares
 * across MX hosts. A connection counts from its accept to the moment the server stops counting it as open.
 */
public final class ConnectionGauge {
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger peak = new AtomicInteger();

    void opened() {
        peak.accumulateAndGet(open.incrementAndGet(), Math::max);
    }

    void closed() {
        open.decrementAndGet();
    }

    public int open() {
        return open.get();
    }

    public int peak() {
        return peak.get();
    }
}

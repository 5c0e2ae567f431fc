package io.github.mxgovernor.governor;

import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.rules.MxRule;

import java.time.Clock;

/**
 * Measures the heap one tracked destination takes (connection quota, message rate, counters, flow control with
 * its error-rate window and adaptive limit), with 100,000 destinations under the built-in flow-control policy.
 * Not a unit test: run it on its own, see the README ("Flow control, figures").
 */
public final class DestinationFootprint {
    private DestinationFootprint() {
    }

    public static void main(String[] args) {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        Governor governor = new Governor(Clock.systemUTC());
        MxRule rule = MxRule.builder("all").mxMasks("*").messagesPerHour(3600).build();
        long before = usedHeap();
        for (int i = 0; i < count; i++) {
            Destination destination = governor.destination(rule, "mx" + i + ".example" + (i % 1000) + ".com");
            // Touch every structure a destination in use carries: the window slices, the adaptive limit, the bucket.
            destination.flowControl().recordAttempt(i % 2 == 0 ? FlowSignal.SUCCEEDED : FlowSignal.FAILED);
            destination.budget().tryConsume();
        }
        long after = usedHeap();
        System.out.printf("%d destinations: %.1f MiB, %d bytes per destination%n", governor.destinations().size(),
            (after - before) / 1048576.0, (after - before) / count);
    }

    private static long usedHeap() {
        Runtime runtime = Runtime.getRuntime();
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return runtime.totalMemory() - runtime.freeMemory();
    }
}

package io.github.mxgovernor.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * CPU time of this process over a measured interval, split into the fake MX servers' threads (named
 * {@code fake-mx-*}) and everything else (James, the mailet, the JVM). Threads are sampled every
 * {@value #SAMPLE_MILLIS} ms, so a thread that ends between samples loses at most its last interval.
 */
final class CpuMeter implements AutoCloseable {
    private static final long SAMPLE_MILLIS = 100;
    private static final String MX_THREAD_PREFIX = "fake-mx-";

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private final Map<Long, Long> lastSeen = new HashMap<>();
    private final Thread sampler;
    private final long processStart;
    private long mxNanos;
    private volatile boolean running = true;

    private CpuMeter() {
        if (!threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
        threads.resetPeakThreadCount();
        sample(false);
        processStart = os.getProcessCpuTime();
        sampler = new Thread(this::run, "bench-cpu-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    static CpuMeter start() {
        return new CpuMeter();
    }

    private void run() {
        while (running) {
            try {
                TimeUnit.MILLISECONDS.sleep(SAMPLE_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            sample(true);
        }
    }

    /** Adds the CPU the MX threads used since the last sample; the first call only takes the baseline. */
    private synchronized void sample(boolean count) {
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info == null || !info.getThreadName().startsWith(MX_THREAD_PREFIX)) {
                continue;
            }
            long cpu = threads.getThreadCpuTime(info.getThreadId());
            if (cpu < 0) {
                continue;
            }
            Long previous = lastSeen.put(info.getThreadId(), cpu);
            if (count) {
                mxNanos += cpu - (previous == null ? 0 : previous);
            }
        }
    }

    /** Stops measuring and returns the CPU seconds used since {@link #start()}. */
    Usage stop() {
        running = false;
        sampler.interrupt();
        try {
            sampler.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long process = os.getProcessCpuTime() - processStart;
        sample(true);
        synchronized (this) {
            return new Usage(process / 1e9, mxNanos / 1e9, threads.getPeakThreadCount());
        }
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }

    /** CPU seconds of the process and of the fake MX threads, and the most live threads seen. */
    static final class Usage {
        final double processSeconds;
        final double mxSeconds;
        final int peakThreads;

        Usage(double processSeconds, double mxSeconds, int peakThreads) {
            this.processSeconds = processSeconds;
            this.mxSeconds = mxSeconds;
            this.peakThreads = peakThreads;
        }

        double jamesSeconds() {
            return Math.max(0, processSeconds - mxSeconds);
        }
    }
}

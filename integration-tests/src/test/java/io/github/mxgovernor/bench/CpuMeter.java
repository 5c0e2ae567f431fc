package io.github.mxgovernor.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * CPU time of this process over a measured interval, split into the fake MX servers' threads (named
 * {@code fake-mx-*}) and everything else (James, the mailet, the JVM), plus the CPU of a delivering process tree
 * outside this JVM when there is one (a private Postfix). Threads are sampled every {@value #SAMPLE_MILLIS} ms, so a
 * thread that ends between samples loses at most its last interval; the tree's live processes are counted as often,
 * and so are the live threads of the delivering side (every thread but the harness's: fake MX and DNS servers, the
 * sampler, the main thread).
 */
final class CpuMeter implements AutoCloseable {
    private static final long SAMPLE_MILLIS = 100;
    private static final String MX_THREAD_PREFIX = "fake-mx-";
    private static final List<String> HARNESS_THREAD_PREFIXES = List.of(MX_THREAD_PREFIX, "loopback-dns-", "bench-",
        "main");

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private final Map<Long, Long> lastSeen = new HashMap<>();
    private final Thread sampler;
    private final long processStart;
    private final Optional<ProcessTree> external;
    private final double externalStart;
    private long mxNanos;
    private int peakExternalProcesses;
    private int peakDeliveringThreads;
    private volatile boolean running = true;

    private CpuMeter(Optional<ProcessTree> external) {
        if (!threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
        threads.resetPeakThreadCount();
        this.external = external;
        sample(false);
        processStart = os.getProcessCpuTime();
        externalStart = external.map(tree -> sampleTree(tree).cpuSeconds).orElse(0.0);
        sampler = new Thread(this::run, "bench-cpu-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    static CpuMeter start() {
        return new CpuMeter(Optional.empty());
    }

    /** Measures this JVM and the process tree that does the delivering outside it. */
    static CpuMeter start(ProcessTree external) {
        return new CpuMeter(Optional.of(external));
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
        int delivering = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            String name = info.getThreadName();
            if (HARNESS_THREAD_PREFIXES.stream().noneMatch(name::startsWith)) {
                delivering++;
            }
            if (!name.startsWith(MX_THREAD_PREFIX)) {
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
        peakDeliveringThreads = Math.max(peakDeliveringThreads, delivering);
        external.ifPresent(this::sampleTree);
    }

    private synchronized ProcessTree.Sample sampleTree(ProcessTree tree) {
        try {
            ProcessTree.Sample sample = tree.sample();
            peakExternalProcesses = Math.max(peakExternalProcesses, sample.processes);
            return sample;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CPU time of the delivering processes", e);
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
        double externalSeconds = external.map(tree -> sampleTree(tree).cpuSeconds - externalStart).orElse(0.0);
        sample(true);
        synchronized (this) {
            return new Usage(process / 1e9, mxNanos / 1e9, externalSeconds, peakDeliveringThreads,
                threads.getPeakThreadCount(), peakExternalProcesses);
        }
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }

    /**
     * CPU seconds of this JVM, of its fake MX threads and of the delivering processes outside it (0 without), the
     * most live threads of the delivering side of this JVM (sampled) and of the whole JVM (exact), and the most live
     * delivering processes outside it (0 without).
     */
    static final class Usage {
        final double processSeconds;
        final double mxSeconds;
        final double externalSeconds;
        final int peakThreads;
        final int peakJvmThreads;
        final int peakExternalProcesses;

        Usage(double processSeconds, double mxSeconds, double externalSeconds, int peakThreads, int peakJvmThreads,
              int peakExternalProcesses) {
            this.processSeconds = processSeconds;
            this.mxSeconds = mxSeconds;
            this.externalSeconds = externalSeconds;
            this.peakThreads = peakThreads;
            this.peakJvmThreads = peakJvmThreads;
            this.peakExternalProcesses = peakExternalProcesses;
        }

        /** The delivering side: this JVM less its fake MX threads (James, or the harness alone), plus Postfix. */
        double deliverySeconds() {
            return Math.max(0, processSeconds - mxSeconds) + externalSeconds;
        }

        /** Everything measured, the fake MX servers included. */
        double totalSeconds() {
            return processSeconds + externalSeconds;
        }
    }
}

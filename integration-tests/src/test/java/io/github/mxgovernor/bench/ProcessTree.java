package io.github.mxgovernor.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * CPU time of a daemon that forks its workers (Postfix's master), read from Linux's {@code /proc}: the root's own
 * time, its live children's, and what its exited children used (the root's {@code cutime}/{@code cstime}, credited
 * when it reaps them). The difference of two {@link #sample()}s is the CPU the whole tree used in between, children
 * born and gone in between included. Grandchildren count once their parent reaped them.
 */
final class ProcessTree {
    private static final Path PROC = Path.of("/proc");

    private final long rootPid;
    private final double ticksPerSecond;

    private ProcessTree(long rootPid, double ticksPerSecond) {
        this.rootPid = rootPid;
        this.ticksPerSecond = ticksPerSecond;
    }

    /** The tree under {@code rootPid}; empty when this system has no {@code /proc} to read it from. */
    static Optional<ProcessTree> of(long rootPid) {
        if (!Files.isReadable(PROC.resolve(String.valueOf(rootPid)).resolve("stat"))) {
            return Optional.empty();
        }
        return Optional.of(new ProcessTree(rootPid, clockTicksPerSecond()));
    }

    /** CPU seconds the tree used so far and how many of its processes are alive now. */
    Sample sample() throws IOException {
        List<Long> children = ProcessHandle.of(rootPid).stream().flatMap(ProcessHandle::children)
            .map(ProcessHandle::pid).collect(Collectors.toList());
        long ticks = 0;
        int alive = 0;
        for (long child : children) {
            Optional<Stat> stat = read(child);
            if (stat.isPresent()) {
                ticks += stat.get().ownTicks();
                alive++;
            }
        }
        Stat root = read(rootPid).orElseThrow(() -> new IOException("process " + rootPid + " is gone"));
        return new Sample((ticks + root.ownTicks() + root.reapedChildrenTicks()) / ticksPerSecond, alive + 1);
    }

    private static Optional<Stat> read(long pid) {
        try {
            return Optional.of(Stat.parse(Files.readString(PROC.resolve(String.valueOf(pid)).resolve("stat"),
                StandardCharsets.US_ASCII)));
        } catch (IOException gone) {
            return Optional.empty();
        }
    }

    /** The kernel's USER_HZ, the unit of {@code /proc/<pid>/stat} times; 100 where {@code getconf} cannot tell. */
    private static double clockTicksPerSecond() {
        try {
            Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (getconf.waitFor(5, TimeUnit.SECONDS) && getconf.exitValue() == 0) {
                return Double.parseDouble(out);
            }
        } catch (IOException | NumberFormatException e) {
            // fall through to Linux's usual value
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    /** CPU seconds used so far by the tree and its live processes at that moment. */
    static final class Sample {
        final double cpuSeconds;
        final int processes;

        Sample(double cpuSeconds, int processes) {
            this.cpuSeconds = cpuSeconds;
            this.processes = processes;
        }
    }

    /** The times of one {@code /proc/<pid>/stat} line, in clock ticks. */
    static final class Stat {
        final long utime;
        final long stime;
        final long cutime;
        final long cstime;

        private Stat(long utime, long stime, long cutime, long cstime) {
            this.utime = utime;
            this.stime = stime;
            this.cutime = cutime;
            this.cstime = cstime;
        }

        /**
         * Parses a {@code /proc/<pid>/stat} line (proc(5)): fields 14 to 17. The command name (field 2) is in
         * parentheses and may itself hold spaces and parentheses, so fields are counted from the last ')'.
         */
        static Stat parse(String line) {
            int end = line.lastIndexOf(')');
            if (end < 0) {
                throw new IllegalArgumentException("not a /proc stat line (no command in parentheses): '" + line
                    + "'");
            }
            String[] fields = line.substring(end + 1).trim().split("\\s+");
            // fields[0] is field 3 (state)
            if (fields.length < 15) {
                throw new IllegalArgumentException("a /proc stat line has at least 17 fields, this one "
                    + (fields.length + 2) + ": '" + line + "'");
            }
            try {
                return new Stat(Long.parseLong(fields[11]), Long.parseLong(fields[12]), Long.parseLong(fields[13]),
                    Long.parseLong(fields[14]));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("fields 14 to 17 of a /proc stat line must be clock ticks: '"
                    + line + "'");
            }
        }

        long ownTicks() {
            return utime + stime;
        }

        long reapedChildrenTicks() {
            return cutime + cstime;
        }
    }
}

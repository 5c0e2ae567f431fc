package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Bounds blocking socket writes, which the JDK cannot time out: a write to a peer that stopped reading waits
 * for TCP forever. Each write to the socket stream arms a timer that closes the TCP socket when the write has
 * not returned in time; the blocked write then fails and is reported as a {@link SocketTimeoutException}. One
 * daemon thread serves every session in the JVM and only runs when a write stalls.
 */
final class WriteWatchdog {
    static final WriteWatchdog SHARED = new WriteWatchdog();

    private final ScheduledThreadPoolExecutor timer;

    private WriteWatchdog() {
        timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "mx-governor-smtp-write-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    /**
     * Wraps {@code out} so that each write and flush that takes longer than {@code timeoutMillis} closes
     * {@code tcpSocket} (the plain socket under any TLS layer, so closing it never waits on a TLS lock).
     */
    OutputStream watch(OutputStream out, Socket tcpSocket, int timeoutMillis) {
        return new Watched(out, tcpSocket, timeoutMillis);
    }

    /**
     * Closes {@code tcpSocket} unless {@link Deadline#cancel()} is called within {@code timeoutMillis}: the bound on
     * a whole exchange, whatever its single reads and writes take.
     */
    Deadline deadline(Socket tcpSocket, int timeoutMillis) {
        return new Deadline(tcpSocket, timeoutMillis);
    }

    /** An armed bound on an exchange; see {@link #deadline(Socket, int)}. */
    final class Deadline {
        private final ScheduledFuture<?> alarm;
        private volatile boolean passed;

        private Deadline(Socket tcpSocket, int timeoutMillis) {
            this.alarm = timer.schedule(() -> {
                passed = true;
                try {
                    tcpSocket.close();
                } catch (IOException ignored) {
                    // whatever was blocked on the socket fails either way
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }

        /** Whether the deadline passed and the socket was closed. */
        boolean passed() {
            return passed;
        }

        void cancel() {
            alarm.cancel(false);
        }
    }

    private final class Watched extends OutputStream {
        private final OutputStream out;
        private final Socket tcpSocket;
        private final int timeoutMillis;
        private volatile boolean stalled;

        Watched(OutputStream out, Socket tcpSocket, int timeoutMillis) {
            this.out = out;
            this.tcpSocket = tcpSocket;
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            ScheduledFuture<?> alarm = arm();
            try {
                out.write(bytes, offset, length);
            } catch (IOException e) {
                throw stalled ? stall(e) : e;
            } finally {
                alarm.cancel(false);
            }
        }

        @Override
        public void flush() throws IOException {
            ScheduledFuture<?> alarm = arm();
            try {
                out.flush();
            } catch (IOException e) {
                throw stalled ? stall(e) : e;
            } finally {
                alarm.cancel(false);
            }
        }

        @Override
        public void close() throws IOException {
            out.close();
        }

        private ScheduledFuture<?> arm() {
            return timer.schedule(this::fire, timeoutMillis, TimeUnit.MILLISECONDS);
        }

        private void fire() {
            stalled = true;
            try {
                tcpSocket.close();
            } catch (IOException ignored) {
                // the blocked write fails either way
            }
        }

        private SocketTimeoutException stall(IOException cause) {
            SocketTimeoutException timeout = new SocketTimeoutException("the server took nothing for "
                + timeoutMillis + " ms");
            timeout.initCause(cause);
            return timeout;
        }
    }
}

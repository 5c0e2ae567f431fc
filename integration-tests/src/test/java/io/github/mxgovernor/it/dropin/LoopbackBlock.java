package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Where the drop-in checks put their fake DNS and MX servers: a random 127.x.y.0/24 block, so that two checks running
 * at once on one machine rarely meet. James's DNS service asks DNS servers on port 53 only and an MX record carries
 * no port, so those servers bind ports 53 and 25: the checks need the right to bind privileged ports (root,
 * {@code CAP_NET_BIND_SERVICE}, or {@code net.ipv4.ip_unprivileged_port_start} of 25 or less).
 */
final class LoopbackBlock {
    private static final int ATTEMPTS = 8;
    private static final long PAUSE_MILLIS = 500;

    /** Starts servers in a block given as its prefix ({@code 127.x.y.}). */
    @FunctionalInterface
    interface Servers {
        void startIn(String block) throws IOException;
    }

    private LoopbackBlock() {
    }

    /**
     * Starts {@code servers} in a random block, in another after a pause when a bind fails (another check may hold
     * the ports), calling {@code closeStarted} after each failure.
     *
     * @return the block's prefix
     * @throws IOException naming what the check needs, when every attempt failed
     */
    static String start(Servers servers, Runnable closeStarted) throws IOException, InterruptedException {
        Random random = new Random();
        IOException lastFailure = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            String block = "127." + (16 + random.nextInt(224)) + "." + random.nextInt(256) + ".";
            try {
                servers.startIn(block);
                return block;
            } catch (IOException | UncheckedIOException e) {
                lastFailure = e instanceof IOException ? (IOException) e : ((UncheckedIOException) e).getCause();
                closeStarted.run();
                TimeUnit.MILLISECONDS.sleep(PAUSE_MILLIS);
            }
        }
        throw new IOException("the drop-in checks bind UDP port 53 (DNS) and TCP port 25 (SMTP) on 127.x.y.z, "
            + "because James's dnsservice.xml takes DNS servers without a port and an MX record carries none: run them "
            + "as root, with CAP_NET_BIND_SERVICE, or with net.ipv4.ip_unprivileged_port_start at 25 or less",
            lastFailure);
    }
}

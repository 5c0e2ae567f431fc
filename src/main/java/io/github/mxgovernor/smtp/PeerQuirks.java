package io.github.mxgovernor.smtp;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Servers (address and port) seen to break an extension they announce: a pipelined burst answered in part and
 * then silence (PIPELINING), or BDAT answered as an unknown command (CHUNKING). Sessions opened to such a
 * server within {@link #MEMORY} of the last breakage do without that extension. Bounded: when full, the oldest
 * knowledge is dropped wholesale. Thread-safe.
 */
final class PeerQuirks {
    static final Duration MEMORY = Duration.ofHours(1);
    static final int MAX_PEERS = 4096;

    /** Extensions a server may be remembered not to honour. */
    enum Extension { PIPELINING, CHUNKING }

    private final Clock clock;
    private final ConcurrentMap<Key, Instant> broken = new ConcurrentHashMap<>();

    PeerQuirks(Clock clock) {
        this.clock = clock;
    }

    void recordBroken(SmtpEndpoint endpoint, Extension extension) {
        if (broken.size() >= MAX_PEERS) {
            broken.clear();
        }
        broken.put(new Key(endpoint, extension), clock.instant());
    }

    /** Whether {@code endpoint} broke {@code extension} recently enough that it should not be used. */
    boolean distrusts(SmtpEndpoint endpoint, Extension extension) {
        Key key = new Key(endpoint, extension);
        Instant since = broken.get(key);
        if (since == null) {
            return false;
        }
        if (clock.instant().isAfter(since.plus(MEMORY))) {
            broken.remove(key, since);
            return false;
        }
        return true;
    }

    private static final class Key {
        private final InetSocketAddress peer;
        private final Extension extension;

        Key(SmtpEndpoint endpoint, Extension extension) {
            this.peer = new InetSocketAddress(endpoint.address(), endpoint.port());
            this.extension = extension;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key)) {
                return false;
            }
            Key that = (Key) o;
            return peer.equals(that.peer) && extension == that.extension;
        }

        @Override
        public int hashCode() {
            return peer.hashCode() * 31 + extension.hashCode();
        }
    }
}

package io.github.mxgovernor.smtp;

import java.net.InetAddress;
import java.util.Objects;

/** Where a session connects: the MX host name (for TLS name checks and logs), one of its addresses, a port. */
public final class SmtpEndpoint {
    private final String hostName;
    private final InetAddress address;
    private final int port;

    public SmtpEndpoint(String hostName, InetAddress address, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, was " + port);
        }
        this.hostName = Objects.requireNonNull(hostName, "hostName");
        this.address = Objects.requireNonNull(address, "address");
        this.port = port;
    }

    public String hostName() {
        return hostName;
    }

    public InetAddress address() {
        return address;
    }

    public int port() {
        return port;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SmtpEndpoint)) {
            return false;
        }
        SmtpEndpoint that = (SmtpEndpoint) o;
        return port == that.port && hostName.equals(that.hostName) && address.equals(that.address);
    }

    @Override
    public int hashCode() {
        return Objects.hash(hostName, address, port);
    }

    @Override
    public String toString() {
        return hostName + "[" + address.getHostAddress() + "]:" + port;
    }
}

package io.github.mxgovernor.smtp;

import java.net.InetAddress;
import java.util.Objects;

/**
 * Where a session connects: the MX host name (for TLS name checks and logs), one of its addresses, a port; and the
 * port its DANE TLSA records are published for ({@code _<port>._tcp.<host>}).
 */
public final class SmtpEndpoint {
    /** SMTP's port, where MX hosts take mail (RFC 5321) and under which their TLSA records live (RFC 7672). */
    public static final int SMTP_PORT = 25;

    private final String hostName;
    private final InetAddress address;
    private final int port;
    private final int tlsaPort;

    /** A server whose TLSA records, if any, are those of the port it is reached on (a gateway, say). */
    public SmtpEndpoint(String hostName, InetAddress address, int port) {
        this(hostName, address, port, port);
    }

    /**
     * @param tlsaPort the port named in the host's TLSA records: {@link #SMTP_PORT} for an MX host, whatever port
     *     the connection goes to
     */
    public SmtpEndpoint(String hostName, InetAddress address, int port, int tlsaPort) {
        this.hostName = Objects.requireNonNull(hostName, "hostName");
        this.address = Objects.requireNonNull(address, "address");
        this.port = checkPort(port, "port");
        this.tlsaPort = checkPort(tlsaPort, "tlsaPort");
    }

    private static int checkPort(int port, String name) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(name + " must be 1..65535, was " + port);
        }
        return port;
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

    /** The port DANE looks up TLSA records for: {@code _<tlsaPort>._tcp.<hostName>}. */
    public int tlsaPort() {
        return tlsaPort;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SmtpEndpoint)) {
            return false;
        }
        SmtpEndpoint that = (SmtpEndpoint) o;
        return port == that.port && tlsaPort == that.tlsaPort && hostName.equals(that.hostName)
            && address.equals(that.address);
    }

    @Override
    public int hashCode() {
        return Objects.hash(hostName, address, port, tlsaPort);
    }

    @Override
    public String toString() {
        return hostName + "[" + address.getHostAddress() + "]:" + port;
    }
}

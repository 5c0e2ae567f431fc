package io.github.mxgovernor.james;

import io.github.mxgovernor.delivery.MxResolution;
import io.github.mxgovernor.delivery.MxResolver;
import io.github.mxgovernor.smtp.SmtpEndpoint;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.dnsservice.api.TemporaryResolutionException;

/**
 * Resolves recipient domains through James's {@link DNSService} (so {@code dnsservice.xml} applies), or
 * sends everything to the configured gateways. Like James's RemoteDelivery it accepts {@code host:port} in
 * an MX value or a gateway entry; the default port is 25.
 *
 * <p>DANE: an MX host's TLSA records are those of {@code _25._tcp.<host>} (RFC 7672), even when its MX value names
 * another port (which only a custom or test DNS service can do: MX records carry no port); a gateway is a service
 * at its configured port, so its records are those of {@code _<port>._tcp.<host>} (RFC 6698).
 */
final class JamesMxResolver implements MxResolver {
    static final int SMTP_PORT = SmtpEndpoint.SMTP_PORT;

    private final DNSService dns;
    private final List<String> gateways;
    private final boolean loadBalancing;

    /**
     * @param gateways {@code host[:port]} entries; empty to deliver to the recipients' MX hosts
     * @param loadBalancing whether gateways are tried in a random order for each mail (RemoteDelivery's default)
     */
    JamesMxResolver(DNSService dns, List<String> gateways, boolean loadBalancing) {
        this.dns = dns;
        this.gateways = List.copyOf(gateways);
        this.loadBalancing = loadBalancing;
    }

    @Override
    public MxResolution resolve(String recipientDomain) {
        Collection<String> hosts;
        if (gateways.isEmpty()) {
            try {
                hosts = dns.findMXRecords(recipientDomain);
            } catch (TemporaryResolutionException e) {
                return MxResolution.temporaryFailure(String.valueOf(e.getMessage()));
            }
        } else if (loadBalancing) {
            List<String> shuffled = new ArrayList<>(gateways);
            Collections.shuffle(shuffled);
            hosts = shuffled;
        } else {
            hosts = gateways;
        }
        List<SmtpEndpoint> endpoints = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        for (String hostAndPort : hosts) {
            String host = hostPart(hostAndPort);
            int port = portPart(hostAndPort);
            try {
                for (InetAddress address : dns.getAllByName(host)) {
                    endpoints.add(gateways.isEmpty() ? new SmtpEndpoint(host, address, port, SMTP_PORT)
                        : new SmtpEndpoint(host, address, port));
                }
            } catch (UnknownHostException e) {
                unresolved.add(host);
            }
        }
        if (endpoints.isEmpty()) {
            return MxResolution.noHost(hosts.isEmpty()
                ? "no MX or A record"
                : "no address for " + String.join(", ", unresolved));
        }
        return MxResolution.found(endpoints);
    }

    static String hostPart(String hostAndPort) {
        int colon = hostAndPort.lastIndexOf(':');
        String host = colon > 0 ? hostAndPort.substring(0, colon) : hostAndPort;
        return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    }

    static int portPart(String hostAndPort) {
        int colon = hostAndPort.lastIndexOf(':');
        if (colon <= 0) {
            return SMTP_PORT;
        }
        try {
            int port = Integer.parseInt(hostAndPort.substring(colon + 1).trim());
            return port >= 1 && port <= 65535 ? port : SMTP_PORT;
        } catch (NumberFormatException e) {
            return SMTP_PORT;
        }
    }
}

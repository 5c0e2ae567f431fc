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
 * <p>A host whose address cannot be found now is a temporary failure, not a missing host: James's
 * {@link DNSService#getAllByName} throws the same {@link UnknownHostException} whether the name does not exist
 * (NXDOMAIN, no A record) or the name server could not answer (TRY_AGAIN: SERVFAIL, timeout). The one call of its API
 * that tells them apart is {@link DNSService#findMXRecords}, which throws {@link TemporaryResolutionException} on
 * TRY_AGAIN; asked about the host's own name, it goes to the same zone's name servers. So a host without an address is
 * asked about once more that way: a temporary failure defers the part ({@code DNS_TEMPORARY_FAILURE}), as Postfix
 * does, when no other host of the domain has an address; a name that really does not exist is still no host.
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
        List<String> failedNow = new ArrayList<>();
        for (String hostAndPort : hosts) {
            String host = hostPart(hostAndPort);
            int port = portPart(hostAndPort);
            try {
                for (InetAddress address : dns.getAllByName(host)) {
                    endpoints.add(gateways.isEmpty() ? new SmtpEndpoint(host, address, port, SMTP_PORT)
                        : new SmtpEndpoint(host, address, port));
                }
            } catch (UnknownHostException e) {
                (temporaryFailure(host) ? failedNow : unresolved).add(host);
            }
        }
        if (endpoints.isEmpty()) {
            if (!failedNow.isEmpty()) {
                return MxResolution.temporaryFailure("the address of " + String.join(", ", failedNow)
                    + " could not be looked up now" + (unresolved.isEmpty() ? ""
                    : "; no address for " + String.join(", ", unresolved)));
            }
            return MxResolution.noHost(hosts.isEmpty()
                ? "no MX or A record"
                : "no address for " + String.join(", ", unresolved));
        }
        return MxResolution.found(endpoints);
    }

    /** Whether the name server failed to answer about {@code host} (TRY_AGAIN), rather than saying it does not exist. */
    private boolean temporaryFailure(String host) {
        try {
            dns.findMXRecords(host);
            return false;
        } catch (TemporaryResolutionException e) {
            return true;
        }
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

package io.github.mxgovernor.it;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import org.apache.james.dnsservice.api.InMemoryDNSService;
import org.apache.james.dnsservice.api.TemporaryResolutionException;

/**
 * James's {@link InMemoryDNSService}, made safe to change while James resolves (every access is synchronized) and
 * kept off the network: the local host is the loopback address, a name without records has no MX (as with NXDOMAIN)
 * and an address without a name reverses to itself.
 *
 * <p>An MX value may carry a port, {@code mx1.fast.test:2525}, which James's {@code MXHostAddressIterator} honours.
 */
public final class LoopbackDns extends InMemoryDNSService {
    private final Map<String, List<String>> mxRecords = new ConcurrentHashMap<>();
    private final Map<String, List<InetAddress>> addresses = new ConcurrentHashMap<>();
    private final Map<String, List<String>> txtRecords = new ConcurrentHashMap<>();

    /** Sets the MX records of {@code domain}, best preference first; values are {@code host} or {@code host:port}. */
    public synchronized LoopbackDns mx(String domain, String... mxValues) {
        mxRecords.put(domain, List.of(mxValues));
        return republish(domain);
    }

    /** Sets the A records of {@code host}; the addresses must be IP literals. */
    public synchronized LoopbackDns host(String host, String... ipLiterals) {
        addresses.put(host, Arrays.stream(ipLiterals).map(LoopbackDns::literal).collect(Collectors.toList()));
        return republish(host);
    }

    /** Sets the TXT records of {@code name} (such as {@code _mta-sts.example.test}), each given as its text. */
    public synchronized LoopbackDns txt(String name, String... values) {
        txtRecords.put(name, List.of(values));
        return this;
    }

    /** Removes every record of {@code name}. */
    public synchronized LoopbackDns remove(String name) {
        mxRecords.remove(name);
        addresses.remove(name);
        txtRecords.remove(name);
        super.dropRecord(name);
        return this;
    }

    private LoopbackDns republish(String name) {
        super.registerRecord(name, addresses.getOrDefault(name, List.of()), mxRecords.getOrDefault(name, List.of()),
            List.of());
        return this;
    }

    private static InetAddress literal(String ip) {
        try {
            // an IP literal is parsed, never looked up
            return InetAddress.getByName(ip);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP literal: '" + ip + "'", e);
        }
    }

    @Override
    public synchronized InMemoryDNSService registerRecord(String hostname, List<InetAddress> addresses,
                                                         Collection<String> mxRecords, Collection<String> txtRecords) {
        this.addresses.put(hostname, new ArrayList<>(addresses));
        this.mxRecords.put(hostname, new ArrayList<>(mxRecords));
        return super.registerRecord(hostname, addresses, mxRecords, txtRecords);
    }

    @Override
    public synchronized void dropRecord(String hostname) {
        remove(hostname);
    }

    @Override
    public synchronized Collection<String> findMXRecords(String hostname) throws TemporaryResolutionException {
        List<String> records = mxRecords.get(hostname);
        return records == null ? List.of() : List.copyOf(records);
    }

    @Override
    public synchronized Collection<String> findTXTRecords(String hostname) {
        List<String> own = txtRecords.get(hostname);
        if (own != null) {
            return List.copyOf(own);
        }
        if (!mxRecords.containsKey(hostname) && !addresses.containsKey(hostname)) {
            return List.of();
        }
        return super.findTXTRecords(hostname);
    }

    @Override
    public synchronized List<InetAddress> getAllByName(String host) throws UnknownHostException {
        List<InetAddress> found = addresses.get(host);
        if (found == null || found.isEmpty()) {
            InetAddress literal = literalOrNull(host);
            if (literal == null) {
                throw new UnknownHostException(host);
            }
            return List.of(literal);
        }
        return List.copyOf(found);
    }

    @Override
    public synchronized InetAddress getByName(String host) throws UnknownHostException {
        return getAllByName(host).get(0);
    }

    @Override
    public synchronized String getHostName(InetAddress address) {
        return addresses.entrySet().stream()
            .filter(entry -> entry.getValue().contains(address))
            .map(Map.Entry::getKey)
            .sorted()
            .findFirst()
            .orElse(address.getHostAddress());
    }

    @Override
    public InetAddress getLocalHost() {
        return InetAddress.getLoopbackAddress();
    }

    private static InetAddress literalOrNull(String host) {
        if (!host.matches("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")) {
            return null;
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}

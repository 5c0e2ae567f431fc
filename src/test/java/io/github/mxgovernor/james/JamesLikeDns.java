package io.github.mxgovernor.james;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.dnsservice.api.TemporaryResolutionException;

/**
 * A {@link DNSService} that answers as James 3.8.1's {@code DNSJavaService} does for each outcome of a lookup:
 * {@code findMXRecords} throws {@link TemporaryResolutionException} when the name server cannot answer (dnsjava's
 * TRY_AGAIN: SERVFAIL, timeout) and, for a name without MX records, falls back to the name itself if it has an address;
 * {@code getAllByName} and {@code getByName} throw {@link UnknownHostException} alike for a name that does not exist and
 * for one the name server could not answer about (its {@code lookupNoException} turns TRY_AGAIN into "no record").
 */
final class JamesLikeDns implements DNSService {
    private final Map<String, List<String>> mx = new ConcurrentHashMap<>();
    private final Map<String, List<InetAddress>> addresses = new ConcurrentHashMap<>();
    private final Map<String, Boolean> tryAgain = new ConcurrentHashMap<>();

    JamesLikeDns mx(String domain, String... hosts) {
        mx.put(key(domain), List.of(hosts));
        return this;
    }

    JamesLikeDns address(String host, String ip) {
        try {
            addresses.put(key(host), List.of(InetAddress.getByName(ip)));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(ip, e);
        }
        return this;
    }

    /** Every lookup of this name ends in TRY_AGAIN (its name servers answer SERVFAIL or not at all). */
    JamesLikeDns tryAgain(String name) {
        tryAgain.put(key(name), true);
        return this;
    }

    JamesLikeDns answerAgain(String name) {
        tryAgain.remove(key(name));
        return this;
    }

    private static String key(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    @Override
    public Collection<String> findMXRecords(String hostname) throws TemporaryResolutionException {
        if (tryAgain.containsKey(key(hostname))) {
            throw new TemporaryResolutionException("DNSService is temporary not reachable");
        }
        List<String> hosts = mx.get(key(hostname));
        if (hosts != null) {
            return hosts;
        }
        return addresses.containsKey(key(hostname)) ? List.of(hostname) : List.of();
    }

    @Override
    public Collection<String> findTXTRecords(String hostname) {
        return List.of();
    }

    @Override
    public Collection<InetAddress> getAllByName(String host) throws UnknownHostException {
        List<InetAddress> found = tryAgain.containsKey(key(host)) ? null : addresses.get(key(host));
        if (found == null) {
            throw new UnknownHostException(host + ": invalid address");
        }
        return found;
    }

    @Override
    public InetAddress getByName(String host) throws UnknownHostException {
        return getAllByName(host).iterator().next();
    }

    @Override
    public InetAddress getLocalHost() throws UnknownHostException {
        return InetAddress.getLoopbackAddress();
    }

    @Override
    public String getHostName(InetAddress addr) {
        return addr.getHostAddress();
    }
}

package io.github.mxgovernor.tls.dane;

import java.io.IOException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.DSRecord;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;

/**
 * A small authoritative zone for tests, optionally DNSSEC-signed with one ECDSA P-256 key (flags 257, used as
 * key- and zone-signing key) and an NSEC chain. Build it with {@link #add}, {@link #delegate} and then
 * {@link #sign}; after that it is only read.
 */
public final class TestZone {
    private static final long TTL = 3600;

    final Name origin;
    /** The name a wildcard at the apex would have, for NXDOMAIN proofs. */
    final Name wildcard;
    private final KeyPair keys;
    private final DNSKEYRecord dnskey;
    private final NavigableMap<Name, Map<Integer, RRset>> names = new TreeMap<>();
    private final List<Name> delegations = new ArrayList<>();

    private TestZone(String origin, boolean signed) throws Exception {
        this.origin = Name.fromString(origin, Name.root);
        this.wildcard = new Name("*", this.origin);
        add(new SOARecord(this.origin, DClass.IN, TTL, new Name("ns", this.origin), new Name("hostmaster", this.origin),
            1, 3600, 600, 86400, TTL));
        add("@", Type.NS, "ns");
        if (signed) {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            keys = generator.generateKeyPair();
            dnskey = new DNSKEYRecord(this.origin, DClass.IN, TTL,
                DNSKEYRecord.Flags.ZONE_KEY | DNSKEYRecord.Flags.SEP_KEY, DNSKEYRecord.Protocol.DNSSEC,
                DNSSEC.Algorithm.ECDSAP256SHA256, keys.getPublic());
            add(dnskey);
        } else {
            keys = null;
            dnskey = null;
        }
    }

    public static TestZone signed(String origin) throws Exception {
        return new TestZone(origin, true);
    }

    public static TestZone unsigned(String origin) throws Exception {
        return new TestZone(origin, false);
    }

    /** Adds a record from its owner (relative to the origin, {@code @} for the apex) and data in zone-file form. */
    public TestZone add(String owner, int type, String data) throws IOException {
        Name name = "@".equals(owner) ? origin : Name.fromString(owner, origin);
        return add(Record.fromString(name, type, DClass.IN, TTL, data, origin));
    }

    public TestZone add(Record record) {
        names.computeIfAbsent(record.getName(), name -> new TreeMap<>())
            .computeIfAbsent(record.getType(), type -> new RRset())
            .addRR(record);
        return this;
    }

    /** Delegates {@code child} to another zone without a DS record: an insecure delegation. */
    public TestZone delegate(String child) throws IOException {
        Name name = Name.fromString(child, origin);
        delegations.add(name);
        return add(child, Type.NS, "ns." + name);
    }

    /** Builds the NSEC chain and signs every authoritative RRset; does nothing for an unsigned zone. */
    public TestZone sign(Instant inception, Instant expiration) throws DNSSEC.DNSSECException {
        if (keys == null) {
            return this;
        }
        List<Name> owners = new ArrayList<>(names.keySet());
        for (int i = 0; i < owners.size(); i++) {
            Name owner = owners.get(i);
            List<Integer> types = new ArrayList<>(names.get(owner).keySet());
            types.add(Type.NSEC);
            types.add(Type.RRSIG);
            add(new NSECRecord(owner, DClass.IN, TTL, owners.get((i + 1) % owners.size()),
                types.stream().mapToInt(Integer::intValue).toArray()));
        }
        for (Map.Entry<Name, Map<Integer, RRset>> owner : names.entrySet()) {
            for (RRset rrset : owner.getValue().values()) {
                if (rrset.getType() == Type.NS && delegations.contains(owner.getKey())) {
                    continue;
                }
                rrset.addRR(DNSSEC.sign(rrset, dnskey, keys.getPrivate(), inception, expiration));
            }
        }
        return this;
    }

    /** Replaces the signatures over one RRset by ones whose last byte is flipped. */
    public TestZone corruptSignatures(String owner, int type) throws IOException {
        RRset rrset = rrset(Name.fromString(owner, origin), type).orElseThrow();
        for (RRSIGRecord signature : List.copyOf(rrset.sigs())) {
            byte[] bytes = signature.getSignature();
            bytes[bytes.length - 1] ^= 1;
            rrset.deleteRR(signature);
            rrset.addRR(new RRSIGRecord(signature.getName(), signature.getDClass(), signature.getTTL(),
                signature.getTypeCovered(), signature.getAlgorithm(), signature.getOrigTTL(), signature.getExpire(),
                signature.getTimeSigned(), signature.getFootprint(), signature.getSigner(), bytes));
        }
        return this;
    }

    /** This zone's key as a trust anchor: a DS record in zone-file form. */
    public String trustAnchor() {
        return new DSRecord(origin, DClass.IN, TTL, DNSSEC.Digest.SHA256, dnskey).toString();
    }

    boolean signed() {
        return keys != null;
    }

    Optional<RRset> rrset(Name name, int type) {
        Map<Integer, RRset> types = names.get(name);
        return types == null ? Optional.empty() : Optional.ofNullable(types.get(type));
    }

    RRset soa() {
        return rrset(origin, Type.SOA).orElseThrow();
    }

    /** Whether the name owns records or is an empty non-terminal above some. */
    boolean exists(Name name) {
        Name next = names.ceilingKey(name);
        return next != null && next.subdomain(name);
    }

    /** The NSEC RRset whose owner is the name, else the one whose span covers it; empty when unsigned. */
    Optional<RRset> nsecFor(Name name) {
        if (!signed()) {
            return Optional.empty();
        }
        return rrset(names.floorKey(name), Type.NSEC);
    }
}

package io.github.mxgovernor.tls.dane;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Master;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.R;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * {@link TlsaLookup} through dnsjava's DNSSEC-validating resolver: the validation happens here, against the
 * configured trust anchors (the root zone's KSKs by default), and the upstream resolver (the system's first name
 * server by default) only has to pass DNSSEC records along.
 *
 * <h2>What a lookup does (RFC 7672 section 2.2)</h2>
 * <ol>
 *   <li>The MX host's A records: when they are not signed DANE does not apply ({@link TlsaResult.Status#INSECURE});
 *       when they are bogus or the lookup fails, so is the result. When the host name is a CNAME with a secure
 *       expansion, the expanded name is the first TLSA base domain and the MX host name the second.</li>
 *   <li>{@code _<port>._tcp.<base domain>} TLSA, following a CNAME chain: secure records give
 *       {@link TlsaResult.Status#SECURE} (or {@link TlsaResult.Status#UNUSABLE} when none is usable), with the base
 *       domain and the MX host name as the names a DANE-TA(2) certificate may carry. Unsigned records, or a signed
 *       proof that there are none, try the next base domain, and after the last give INSECURE.</li>
 * </ol>
 * A SERVFAIL or other error from the upstream resolver, or no answer within the timeout, is
 * {@link TlsaResult.Status#FAILED}; a response that does not validate is {@link TlsaResult.Status#BOGUS} with the
 * validator's reason (in dnsjava's neutral form, such as {@code validate.bogus.badkey:...}). An upstream failure
 * while the validator fetches DS or DNSKEY records shows as BOGUS: both defer the mail.
 *
 * <p>Thread-safe. Validated keys are cached between lookups, within their TTLs.
 */
public final class ValidatingTlsaLookup implements TlsaLookup {
    /** The root zone's key-signing keys KSK-2017 and KSK-2024 (IANA root-anchors.xml), as DS records. */
    public static final String ROOT_TRUST_ANCHORS =
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
        + ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n";
    /** How long one lookup (A records, TLSA records, and the keys to validate them) may take by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private static final int MAX_CNAME_CHAIN = 8;
    /** dnsjava's neutral reason for a response it cannot classify, such as an upstream SERVFAIL. */
    private static final String UNCLASSIFIABLE_RESPONSE = "validate.response.unknown";

    static {
        // Resource bundles are not bundled with the relocated copy: neutral messages are the same everywhere.
        R.setUseNeutralMessages(true);
    }

    private final ValidatingResolver resolver;
    private final String upstream;

    private ValidatingTlsaLookup(InetSocketAddress upstream, String trustAnchors, Duration timeout, Clock clock) {
        this.upstream = upstream.getAddress().getHostAddress() + ":" + upstream.getPort();
        SimpleResolver head = new SimpleResolver(upstream);
        head.setTimeout(timeout);
        this.resolver = new ValidatingResolver(head, clock);
        try (InputStream anchors = new ByteArrayInputStream(trustAnchors.getBytes(StandardCharsets.UTF_8))) {
            resolver.loadTrustAnchors(anchors);
        } catch (IOException e) {
            throw new IllegalArgumentException("trustAnchors could not be loaded: " + e.getMessage(), e);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public TlsaResult lookup(String mxHost, int port) {
        Name host = hostName(mxHost);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, was " + port);
        }
        Answer address = query(host, Type.A);
        if (address.failure.isPresent()) {
            return address.failure.get();
        }
        if (!address.secure) {
            return TlsaResult.insecure("the address records of " + host + " are not DNSSEC-signed, so DANE does not"
                + " apply");
        }
        List<Name> baseDomains = address.finalName.equals(host) ? List.of(host) : List.of(address.finalName, host);
        List<String> notFound = new ArrayList<>();
        for (Name base : baseDomains) {
            Name tlsaName;
            try {
                tlsaName = new Name("_" + port + "._tcp", base);
            } catch (TextParseException tooLong) {
                notFound.add("no TLSA name fits under " + base);
                continue;
            }
            Answer tlsa = query(tlsaName, Type.TLSA);
            if (tlsa.failure.isPresent()) {
                return tlsa.failure.get();
            }
            String where = tlsaName + (tlsa.finalName.equals(tlsaName) ? "" : " (CNAME to " + tlsa.finalName + ")");
            if (!tlsa.secure) {
                notFound.add("the TLSA records at " + where + " are not DNSSEC-signed");
            } else if (tlsa.records.isEmpty()) {
                notFound.add("DNSSEC proves there are no TLSA records at " + where);
            } else {
                Set<String> referenceNames = new LinkedHashSet<>(List.of(base.toString(), host.toString()));
                return secureRecords(tlsa.records, where, referenceNames);
            }
        }
        return TlsaResult.insecure(String.join("; ", notFound) + ", so DANE does not apply");
    }

    @Override
    public String toString() {
        return "ValidatingTlsaLookup[upstream " + upstream + "]";
    }

    private static TlsaResult secureRecords(List<Record> found, String where, Set<String> referenceNames) {
        List<TlsaRecord> usable = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (Record record : found) {
            TLSARecord tlsa = (TLSARecord) record;
            byte[] data = tlsa.getCertificateAssociationData();
            TlsaRecord candidate = data.length == 0 ? null : new TlsaRecord(tlsa.getCertificateUsage(),
                tlsa.getSelector(), tlsa.getMatchingType(), data);
            if (candidate != null && candidate.usable()) {
                usable.add(candidate);
            } else {
                ignored.add(tlsa.rdataToString());
            }
        }
        if (usable.isEmpty()) {
            return TlsaResult.unusable("none of the DNSSEC-signed TLSA records at " + where + " is usable for SMTP "
                + ignored + ": TLS is required, the certificate is not checked");
        }
        return TlsaResult.secure(usable, referenceNames, usable.size() + " DNSSEC-signed TLSA record(s) at " + where
            + (ignored.isEmpty() ? "" : ", " + ignored.size() + " unusable ignored"));
    }

    private Answer query(Name name, int type) {
        String question = name + "/" + Type.string(type);
        Message response;
        try {
            response = resolver.send(Message.newQuery(Record.newRecord(name, type, DClass.IN)));
        } catch (IOException e) {
            return Answer.failed(TlsaResult.failed("DNS lookup of " + question + " through " + upstream + " failed: "
                + e.getMessage()));
        }
        int rcode = response.getRcode();
        Optional<String> reason = validationReason(response);
        if (rcode == Rcode.SERVFAIL && reason.isPresent() && !reason.get().startsWith(UNCLASSIFIABLE_RESPONSE)) {
            return Answer.failed(TlsaResult.bogus("DNSSEC validation of " + question + " failed: " + reason.get()));
        }
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            return Answer.failed(TlsaResult.failed("DNS lookup of " + question + " through " + upstream
                + " answered " + Rcode.string(rcode)));
        }
        Name finalName = name;
        List<Record> answer = response.getSection(Section.ANSWER);
        for (int hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
            Optional<Name> target = cnameTarget(answer, finalName);
            if (target.isEmpty()) {
                break;
            }
            finalName = target.get();
        }
        List<Record> records = new ArrayList<>();
        for (Record record : answer) {
            if (record.getType() == type && record.getName().equals(finalName)) {
                records.add(record);
            }
        }
        return new Answer(response.getHeader().getFlag(Flags.AD), finalName, records, Optional.empty());
    }

    private static Optional<Name> cnameTarget(List<Record> answer, Name owner) {
        for (Record record : answer) {
            if (record.getType() == Type.CNAME && record.getName().equals(owner)) {
                return Optional.of(((CNAMERecord) record).getTarget());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> validationReason(Message response) {
        for (Record record : response.getSection(Section.ADDITIONAL)) {
            if (record.getType() == Type.TXT && record.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS) {
                return Optional.of(String.join("", ((TXTRecord) record).getStrings()));
            }
        }
        return Optional.empty();
    }

    private static Name hostName(String mxHost) {
        Objects.requireNonNull(mxHost, "mxHost");
        if (mxHost.isBlank()) {
            throw new IllegalArgumentException("mxHost must not be blank");
        }
        try {
            return Name.fromString(mxHost, Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("mxHost '" + mxHost + "' is not a DNS name: " + e.getMessage(), e);
        }
    }

    /** One validated answer: its security, the end of its CNAME chain and the records there; or a final result. */
    private static final class Answer {
        final boolean secure;
        final Name finalName;
        final List<Record> records;
        final Optional<TlsaResult> failure;

        Answer(boolean secure, Name finalName, List<Record> records, Optional<TlsaResult> failure) {
            this.secure = secure;
            this.finalName = finalName;
            this.records = records;
            this.failure = failure;
        }

        static Answer failed(TlsaResult result) {
            return new Answer(false, Name.root, List.of(), Optional.of(result));
        }
    }

    /** Configures a {@link ValidatingTlsaLookup}; every setter refuses a bad value with its name in the message. */
    public static final class Builder {
        private InetSocketAddress upstream;
        private String trustAnchors = ROOT_TRUST_ANCHORS;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * The recursive resolver queries go to (it must pass DNSSEC records along; it need not validate).
         * Default: the system's first name server.
         */
        public Builder upstream(InetSocketAddress upstream) {
            Objects.requireNonNull(upstream, "upstream");
            if (upstream.isUnresolved()) {
                throw new IllegalArgumentException("upstream must be an IP address and port, was " + upstream);
            }
            this.upstream = upstream;
            return this;
        }

        /**
         * The DNSSEC trust anchors, as DS or DNSKEY records in zone-file form, one per line. Default:
         * {@link #ROOT_TRUST_ANCHORS}.
         */
        public Builder trustAnchors(String zoneFileText) {
            Objects.requireNonNull(zoneFileText, "trustAnchors");
            int anchors = 0;
            try (Master master = new Master(new ByteArrayInputStream(zoneFileText.getBytes(StandardCharsets.UTF_8)),
                Name.root, 0)) {
                for (Record record = master.nextRecord(); record != null; record = master.nextRecord()) {
                    if (record.getType() == Type.DS || record.getType() == Type.DNSKEY) {
                        anchors++;
                    }
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("trustAnchors: " + e.getMessage(), e);
            }
            if (anchors == 0) {
                throw new IllegalArgumentException("trustAnchors holds no DS or DNSKEY record");
            }
            this.trustAnchors = zoneFileText;
            return this;
        }

        /** How long one lookup may take, key fetches included. Default {@link #DEFAULT_TIMEOUT}. */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** The time signatures are validated at. Default: the system clock. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public ValidatingTlsaLookup build() {
            InetSocketAddress server = upstream != null ? upstream : ResolverConfig.getCurrentConfig().server();
            return new ValidatingTlsaLookup(server, trustAnchors, timeout, clock);
        }
    }
}

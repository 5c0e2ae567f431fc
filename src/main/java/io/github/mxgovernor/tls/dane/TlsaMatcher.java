package io.github.mxgovernor.tls.dane;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Decides whether a server's certificate chain matches a set of TLSA records, as DANE for SMTP wants it
 * (RFC 7672 section 3, RFC 7671). Immutable and thread-safe.
 *
 * <ul>
 *   <li><b>DANE-EE(3)</b> is matched against the leaf only: its whole certificate (selector 0) or its
 *       SubjectPublicKeyInfo (selector 1), exactly or as SHA-256 or SHA-512. Neither names nor validity dates are
 *       checked (RFC 7672 section 3.1.1).</li>
 *   <li><b>DANE-TA(2)</b> is matched against the certificates the server sent after the leaf; the leaf must then
 *       chain to the matching certificate (PKIX path validation with it as the only trust anchor, validity dates
 *       checked at the clock's time, no revocation), and the leaf's DNS names (subject alternative names, else the
 *       common name) must include a reference name, a wildcard covering one leftmost label. A {@code 2 1 0} record
 *       (a whole public key) also serves as the anchor when its certificate was not sent.</li>
 *   <li>Other records (PKIX-TA(0), PKIX-EE(1), unknown selectors or matching types) are ignored.</li>
 * </ul>
 */
final class TlsaMatcher {
    private final List<TlsaRecord> records;
    private final Set<String> referenceNames;
    private final Clock clock;

    /**
     * @param records the TLSA records; unusable ones are ignored, but at least one must be usable
     * @param referenceNames names a DANE-TA(2) leaf may carry (the TLSA base domain and the MX host name)
     * @param clock the time at which DANE-TA(2) chains must be valid
     */
    public TlsaMatcher(Collection<TlsaRecord> records, Collection<String> referenceNames, Clock clock) {
        Objects.requireNonNull(records, "records");
        List<TlsaRecord> usable = new ArrayList<>();
        for (TlsaRecord record : records) {
            if (Objects.requireNonNull(record, "record").usable()) {
                usable.add(record);
            }
        }
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no usable TLSA record among " + records + ": only DANE-TA(2) and"
                + " DANE-EE(3) with selector 0 or 1 and matching type 0, 1 or 2 count");
        }
        this.records = List.copyOf(usable);
        List<String> names = new ArrayList<>();
        for (String name : Objects.requireNonNull(referenceNames, "referenceNames")) {
            names.add(TlsaResult.normalizedHostName(name));
        }
        this.referenceNames = Set.copyOf(names);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * The matcher for a {@link TlsaResult.Status#SECURE} result: its records and reference names.
     *
     * @throws IllegalArgumentException when the result is not SECURE
     */
    public static TlsaMatcher forResult(TlsaResult result, Clock clock) {
        Objects.requireNonNull(result, "result");
        if (result.status() != TlsaResult.Status.SECURE) {
            throw new IllegalArgumentException("only a SECURE TLSA result has records to match, this one is "
                + result);
        }
        return new TlsaMatcher(result.records(), result.referenceNames(), clock);
    }

    /** The usable records this matcher checks. */
    public List<TlsaRecord> records() {
        return records;
    }

    /**
     * Checks the chain as the server presented it.
     *
     * @param chain leaf first
     * @return the first record the chain satisfies
     * @throws CertificateException when it satisfies none; the message says, per record, why not
     */
    public TlsaRecord verify(List<X509Certificate> chain) throws CertificateException {
        Objects.requireNonNull(chain, "chain");
        if (chain.isEmpty()) {
            throw new CertificateException("the server presented no certificate");
        }
        List<String> misses = new ArrayList<>();
        for (TlsaRecord record : records) {
            Optional<String> miss = record.usage() == TlsaRecord.USAGE_DANE_EE
                ? matchEndEntity(record, chain.get(0))
                : matchTrustAnchor(record, chain);
            if (miss.isEmpty()) {
                return record;
            }
            misses.add(record + ": " + miss.get());
        }
        throw new CertificateException("the certificate chain of "
            + chain.get(0).getSubjectX500Principal().getName()
            + " matches no TLSA record (" + String.join("; ", misses) + ")");
    }

    /** Whether {@link #verify} would accept the chain. */
    public boolean matches(List<X509Certificate> chain) {
        try {
            verify(chain);
            return true;
        } catch (CertificateException e) {
            return false;
        }
    }

    private static Optional<String> matchEndEntity(TlsaRecord record, X509Certificate leaf) {
        return associates(record, leaf) ? Optional.empty() : Optional.of("the leaf certificate does not match");
    }

    private Optional<String> matchTrustAnchor(TlsaRecord record, List<X509Certificate> chain) {
        for (int i = 1; i < chain.size(); i++) {
            if (associates(record, chain.get(i))) {
                return validatePath(chain.subList(0, i), new TrustAnchor(chain.get(i), null));
            }
        }
        if (record.selector() == TlsaRecord.SELECTOR_PUBLIC_KEY && record.matchingType() == TlsaRecord.MATCHING_EXACT) {
            Optional<PublicKey> key = publicKey(record.data());
            if (key.isPresent()) {
                X509Certificate top = chain.get(chain.size() - 1);
                return validatePath(chain, new TrustAnchor(top.getIssuerX500Principal(), key.get(), null));
            }
        }
        return Optional.of("no certificate the server sent after its leaf matches this trust anchor");
    }

    private Optional<String> validatePath(List<X509Certificate> path, TrustAnchor anchor) {
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters parameters = new PKIXParameters(Set.of(anchor));
            parameters.setRevocationEnabled(false);
            parameters.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(certPath, parameters);
        } catch (GeneralSecurityException e) {
            return Optional.of("the leaf does not chain to the trust anchor: " + e.getMessage());
        }
        List<String> names = dnsNames(path.get(0));
        for (String name : names) {
            for (String reference : referenceNames) {
                if (nameMatches(name, reference)) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of("the leaf's names " + names + " include none of " + referenceNames);
    }

    private static boolean associates(TlsaRecord record, X509Certificate certificate) {
        byte[] selected;
        try {
            selected = record.selector() == TlsaRecord.SELECTOR_CERTIFICATE
                ? certificate.getEncoded()
                : certificate.getPublicKey().getEncoded();
        } catch (CertificateException e) {
            return false;
        }
        switch (record.matchingType()) {
            case TlsaRecord.MATCHING_SHA256:
                return record.dataEquals(digest("SHA-256", selected));
            case TlsaRecord.MATCHING_SHA512:
                return record.dataEquals(digest("SHA-512", selected));
            default:
                return record.dataEquals(selected);
        }
    }

    private static byte[] digest(String algorithm, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algorithm).digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no " + algorithm, e);
        }
    }

    private static Optional<PublicKey> publicKey(byte[] subjectPublicKeyInfo) {
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
            try {
                return Optional.of(KeyFactory.getInstance(algorithm)
                    .generatePublic(new X509EncodedKeySpec(subjectPublicKeyInfo)));
            } catch (GeneralSecurityException notThisAlgorithm) {
                // the key names its algorithm inside; try the next family
            }
        }
        return Optional.empty();
    }

    /** The DNS subject alternative names, else the subject's common names (RFC 6125), lower case. */
    private static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.size() >= 2 && Integer.valueOf(2).equals(entry.get(0))) {
                        names.add(TlsaResult.normalizedHostName(String.valueOf(entry.get(1))));
                    }
                }
            }
        } catch (CertificateParsingException | IllegalArgumentException e) {
            return names;
        }
        if (names.isEmpty()) {
            names.addAll(commonNames(leaf));
        }
        return names;
    }

    private static List<String> commonNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
                if ("CN".equalsIgnoreCase(rdn.getType()) && !String.valueOf(rdn.getValue()).isEmpty()) {
                    names.add(TlsaResult.normalizedHostName(String.valueOf(rdn.getValue())));
                }
            }
        } catch (InvalidNameException e) {
            return List.of();
        }
        return names;
    }

    /** Exact, or a {@code *.} wildcard standing for exactly one leftmost label. */
    private static boolean nameMatches(String certificateName, String reference) {
        if (certificateName.equals(reference)) {
            return true;
        }
        if (!certificateName.startsWith("*.")) {
            return false;
        }
        int dot = reference.indexOf('.');
        return dot > 0 && reference.substring(dot).equals(certificateName.substring(1));
    }
}

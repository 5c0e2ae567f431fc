package io.github.mxgovernor.tls.dane;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What a DNSSEC-validated TLSA lookup for one MX host found, and so what DANE (RFC 7672) asks of the SMTP session.
 * Immutable.
 *
 * <ul>
 *   <li>{@link Status#SECURE}: signed TLSA records with at least one usable record: STARTTLS is mandatory and
 *       the server's chain must match {@link #records()} ({@link TlsaMatcher}); any
 *       failure defers, never plaintext.</li>
 *   <li>{@link Status#UNUSABLE}: signed TLSA records exist but none is usable: STARTTLS is still mandatory, the
 *       certificate is not checked (as {@code TlsMode.REQUIRED}).</li>
 *   <li>{@link Status#INSECURE}: the MX host's zone is not signed, or it is signed and publishes no TLSA records
 *       for the port: DANE does not apply and the rule's own TLS mode does.</li>
 *   <li>{@link Status#BOGUS}: DNSSEC validation failed (bad or missing signatures, a broken chain of trust):
 *       defer the mail, never plaintext.</li>
 *   <li>{@link Status#FAILED}: the lookup itself failed (timeout, SERVFAIL, refused): defer the mail, never
 *       plaintext.</li>
 * </ul>
 */
final class TlsaResult {
    /** The five outcomes of a lookup; see the class comment. */
    public enum Status {
        SECURE,
        UNUSABLE,
        INSECURE,
        BOGUS,
        FAILED;

        /** Whether the session must negotiate TLS whatever the rule says (SECURE, UNUSABLE). */
        public boolean requiresTls() {
            return this == SECURE || this == UNUSABLE;
        }

        /** Whether no session may be opened and the mail must be deferred (BOGUS, FAILED). */
        public boolean defersDelivery() {
            return this == BOGUS || this == FAILED;
        }
    }

    private final Status status;
    private final List<TlsaRecord> records;
    private final Set<String> referenceNames;
    private final String detail;

    private TlsaResult(Status status, List<TlsaRecord> records, Set<String> referenceNames, String detail) {
        this.status = status;
        this.records = records;
        this.referenceNames = referenceNames;
        Objects.requireNonNull(detail, "detail");
        if (detail.isBlank()) {
            throw new IllegalArgumentException("a TLSA result's detail must not be blank");
        }
        this.detail = detail;
    }

    /**
     * Signed, usable TLSA records.
     *
     * @param records the usable records (each {@link TlsaRecord#usable()}), at least one
     * @param referenceNames the names a DANE-TA(2) chain's leaf may carry: the TLSA base domain and the MX host
     *     name (RFC 7672 section 3.2.3); stored lower case without a trailing dot
     * @param detail where the records were found, for logs and deferral records
     */
    public static TlsaResult secure(List<TlsaRecord> records, Collection<String> referenceNames, String detail) {
        Objects.requireNonNull(records, "records");
        if (records.isEmpty()) {
            throw new IllegalArgumentException("a SECURE TLSA result needs at least one usable record");
        }
        for (TlsaRecord record : records) {
            if (!Objects.requireNonNull(record, "record").usable()) {
                throw new IllegalArgumentException("TLSA record " + record + " is not usable for DANE in SMTP"
                    + " (usage must be DANE-TA(2) or DANE-EE(3) with a known selector and matching type)");
            }
        }
        Objects.requireNonNull(referenceNames, "referenceNames");
        Set<String> names = new LinkedHashSet<>();
        for (String name : referenceNames) {
            names.add(normalizedHostName(name));
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a SECURE TLSA result needs at least one reference name");
        }
        return new TlsaResult(Status.SECURE, List.copyOf(records), Set.copyOf(names), detail);
    }

    /** Signed TLSA records, none of them usable: TLS is mandatory, the certificate is not checked. */
    public static TlsaResult unusable(String detail) {
        return new TlsaResult(Status.UNUSABLE, List.of(), Set.of(), detail);
    }

    /** DANE does not apply: the zone is unsigned, or signed without TLSA records for the port. */
    public static TlsaResult insecure(String detail) {
        return new TlsaResult(Status.INSECURE, List.of(), Set.of(), detail);
    }

    /** DNSSEC validation failed. */
    public static TlsaResult bogus(String reason) {
        return new TlsaResult(Status.BOGUS, List.of(), Set.of(), reason);
    }

    /** The lookup could not be completed. */
    public static TlsaResult failed(String reason) {
        return new TlsaResult(Status.FAILED, List.of(), Set.of(), reason);
    }

    public Status status() {
        return status;
    }

    /** The usable records when {@link Status#SECURE}; empty otherwise. */
    public List<TlsaRecord> records() {
        return records;
    }

    /**
     * The host names a DANE-TA(2) certificate may be issued to when {@link Status#SECURE} (lower case, no trailing
     * dot); empty otherwise.
     */
    public Set<String> referenceNames() {
        return referenceNames;
    }

    /** What was found, or why the lookup was bogus or failed; for logs and the deferral record. */
    public String detail() {
        return detail;
    }

    @Override
    public String toString() {
        return status + (records.isEmpty() ? "" : " " + records) + ": " + detail;
    }

    /** Lower case, without a trailing dot; refuses empty names. */
    static String normalizedHostName(String name) {
        Objects.requireNonNull(name, "host name");
        String trimmed = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        if (trimmed.isEmpty()) {
            throw new IllegalArgumentException("host name must not be empty, was '" + name + "'");
        }
        return trimmed.toLowerCase(Locale.ROOT);
    }
}

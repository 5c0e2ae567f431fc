package io.github.mxgovernor.tls;

import java.util.Objects;
import java.util.Optional;

/**
 * What DANE (RFC 7672) says of one MX host: it does not apply (no DNSSEC-signed TLSA records, or DANE not asked
 * for), it requires TLS with a certificate that matches the records, or the lookup is unusable (bogus or failed),
 * which defers the mail: never plaintext, never a fallback to the rule's mode.
 */
public final class DaneVerdict {
    /** The three answers of a DANE lookup. */
    public enum Kind { NOT_APPLICABLE, REQUIRED, UNUSABLE }

    private static final DaneVerdict NOT_ASKED = notApplicable("not used by the rule");

    private final Kind kind;
    private final String description;
    private final Optional<CertificateMatcher> matcher;

    private DaneVerdict(Kind kind, String description, Optional<CertificateMatcher> matcher) {
        this.kind = kind;
        this.description = Objects.requireNonNull(description, "description");
        if (description.isBlank()) {
            throw new IllegalArgumentException("a DANE verdict needs a description");
        }
        this.matcher = matcher;
    }

    /** DANE does not apply: the zone is unsigned, there are no TLSA records, or DANE is not configured. */
    public static DaneVerdict notApplicable(String why) {
        return new DaneVerdict(Kind.NOT_APPLICABLE, why, Optional.empty());
    }

    /** The rule does not ask for DANE, so nothing was looked up. */
    public static DaneVerdict notAsked() {
        return NOT_ASKED;
    }

    /**
     * Secure TLSA records exist: TLS is mandatory and the certificate must satisfy {@code matcher}.
     *
     * @param records the records, as text for operators (such as {@code 3 1 1 a1b2...})
     */
    public static DaneVerdict required(String records, CertificateMatcher matcher) {
        return new DaneVerdict(Kind.REQUIRED, records, Optional.of(Objects.requireNonNull(matcher, "matcher")));
    }

    /** The lookup was bogus or failed: the mail waits. */
    public static DaneVerdict unusable(String why) {
        return new DaneVerdict(Kind.UNUSABLE, why, Optional.empty());
    }

    public Kind kind() {
        return kind;
    }

    /** Why DANE does not apply, the records that apply, or why the lookup is unusable. */
    public String description() {
        return description;
    }

    /** Present exactly when {@link #kind()} is {@link Kind#REQUIRED}. */
    public Optional<CertificateMatcher> matcher() {
        return matcher;
    }

    @Override
    public String toString() {
        switch (kind) {
            case REQUIRED:
                return "TLSA " + description;
            case UNUSABLE:
                return "unusable: " + description;
            default:
                return "not applicable: " + description;
        }
    }
}

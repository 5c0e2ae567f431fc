package io.github.mxgovernor.tls;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The TLS one session to one MX host must have for one part: the level, which policies ask for it, and the host's
 * DANE verdict. Built by {@link TlsPolicyResolver#requirement}; immutable.
 *
 * <p>The level is the rule's {@link TlsMode}, raised to {@link TlsMode#VERIFY} by an MTA-STS {@code enforce}
 * policy or by REQUIRETLS. When the host has DNSSEC-signed TLSA records (and the rule asks for DANE), DANE
 * decides instead: TLS is mandatory and the certificate must match the records, not a PKIX chain (RFC 7672; RFC
 * 8461 section 2 lets DANE take precedence over MTA-STS).
 */
public final class TlsRequirement {
    private final TlsMode mode;
    private final List<String> policies;
    private final DaneVerdict dane;

    /**
     * @param mode the level the policies ask for
     * @param policies which policies ask for {@code mode}, such as {@code rule 'google'} or
     *     {@code MTA-STS enforce policy of gmail.com}; at least one
     * @param dane the MX host's DANE verdict ({@link DaneVerdict#notAsked()} when the rule does not use DANE)
     */
    public TlsRequirement(TlsMode mode, List<String> policies, DaneVerdict dane) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.policies = List.copyOf(policies);
        if (this.policies.isEmpty()) {
            throw new IllegalArgumentException("a TLS requirement needs the policy that sets it");
        }
        this.dane = Objects.requireNonNull(dane, "dane");
    }

    /** The level the policies ask for, before DANE. */
    public TlsMode mode() {
        return mode;
    }

    /** The policies that set {@link #mode()}, strongest first. */
    public List<String> policies() {
        return policies;
    }

    public DaneVerdict dane() {
        return dane;
    }

    /** Whether DANE decides: TLS is mandatory and the certificate must match the host's TLSA records. */
    public boolean daneRequired() {
        return dane.kind() == DaneVerdict.Kind.REQUIRED;
    }

    /** False when the host's TLSA lookup is unusable: no session may carry the part to that host now. */
    public boolean satisfiable() {
        return dane.kind() != DaneVerdict.Kind.UNUSABLE;
    }

    /** Whether a session may carry the part in plaintext. */
    public boolean allowsPlaintext() {
        return !daneRequired() && mode.allowsPlaintext();
    }

    /**
     * The mode to open the session with: {@link #mode()}, except under DANE, where the handshake does not check
     * the chain ({@link TlsMode#REQUIRED}) and the TLSA records are matched afterwards, before any mail is sent.
     */
    public TlsMode sessionMode() {
        return daneRequired() ? TlsMode.REQUIRED : mode;
    }

    /** Whether a session with this protection meets the requirement. */
    public boolean isMetBy(SessionSecurity.Protection protection) {
        return isMetBy(mode, dane, protection);
    }

    /** {@link #isMetBy(SessionSecurity.Protection)} without building a requirement (for the lanes' checks). */
    static boolean isMetBy(TlsMode mode, DaneVerdict dane, SessionSecurity.Protection protection) {
        if (dane.kind() == DaneVerdict.Kind.UNUSABLE) {
            return false;
        }
        if (dane.kind() == DaneVerdict.Kind.REQUIRED) {
            return protection == SessionSecurity.Protection.DANE_VERIFIED;
        }
        switch (mode) {
            case VERIFY:
                return protection == SessionSecurity.Protection.VERIFIED
                    || protection == SessionSecurity.Protection.DANE_VERIFIED;
            case REQUIRED:
                return protection != SessionSecurity.Protection.PLAINTEXT;
            default:
                return true;
        }
    }

    /**
     * Which policy asks for what, for deferral messages: {@code rule 'google' requires TLS (required)},
     * {@code MTA-STS enforce policy of gmail.com requires verified TLS}, {@code DANE requires a certificate matching
     * TLSA 3 1 1 ...}.
     */
    public String describe() {
        if (daneRequired()) {
            return "DANE requires a certificate matching TLSA " + dane.description();
        }
        if (!satisfiable()) {
            return "DANE cannot be evaluated (" + dane.description() + ")";
        }
        String level;
        switch (mode) {
            case VERIFY:
                level = "verified TLS (PKIX chain and host name)";
                break;
            case REQUIRED:
                level = "TLS";
                break;
            default:
                level = "TLS mode " + mode.name().toLowerCase(Locale.ROOT);
                break;
        }
        return String.join(" and ", policies) + (policies.size() > 1 ? " require " : " requires ") + level;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TlsRequirement)) {
            return false;
        }
        TlsRequirement that = (TlsRequirement) o;
        return mode == that.mode && policies.equals(that.policies) && dane.kind() == that.dane.kind()
            && dane.description().equals(that.dane.description());
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, policies, dane.kind(), dane.description());
    }

    @Override
    public String toString() {
        return describe();
    }
}

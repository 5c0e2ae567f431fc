package io.github.mxgovernor.tls;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Decides the TLS each session must have, from three policies: the MX rule's {@code tls} mode (which the
 * mailet's {@code tls} parameter sets for rules that do not), the recipient domain's MTA-STS policy, and the MX
 * host's DANE records when the rule asks for DANE; REQUIRETLS on a mail raises it too.
 *
 * <ul>
 *   <li>MTA-STS {@code enforce} raises the level to {@link TlsMode#VERIFY} and admits only the MX hosts the policy
 *       lists ({@link DomainTlsPolicy#admits}); {@code testing} and {@code none} change nothing. A domain without a
 *       usable policy (none published, or it could not be had) is left to the rule.</li>
 *   <li>REQUIRETLS (RFC 8689) raises the level to {@link TlsMode#VERIFY}.</li>
 *   <li>DANE, when the rule has {@code dane="true"}: secure TLSA records make TLS mandatory with a certificate that
 *       matches them, whatever the level says; an insecure answer leaves the level as it is; a bogus or failed
 *       lookup makes the requirement unsatisfiable (the mail waits).</li>
 *   <li>An opportunistic session whose handshake fails is retried once in plaintext, and the server is remembered
 *       for {@link PlaintextFallbacks#memory()} so later sessions skip TLS with it. Never for a level above
 *       opportunistic.</li>
 * </ul>
 * Thread-safe.
 */
public final class TlsPolicyResolver {
    /** How long a failed opportunistic handshake is remembered unless configured otherwise. */
    public static final Duration DEFAULT_PLAINTEXT_FALLBACK_MEMORY = Duration.ofHours(1);
    /** How long mail waits for a domain's MTA-STS discovery unless configured otherwise (the fetch's limit). */
    public static final Duration DEFAULT_DISCOVERY_WAIT = Duration.ofSeconds(10);

    private final Optional<MtaStsPolicyCache> mtaSts;
    private final DaneLookup dane;
    private final PlaintextFallbacks fallbacks;
    private final Duration discoveryWait;

    /** Mail waits {@link #DEFAULT_DISCOVERY_WAIT} at most for a domain's MTA-STS discovery. */
    public TlsPolicyResolver(Optional<MtaStsPolicyCache> mtaSts, DaneLookup dane, PlaintextFallbacks fallbacks) {
        this(mtaSts, dane, fallbacks, DEFAULT_DISCOVERY_WAIT);
    }

    /**
     * @param mtaSts the MTA-STS policies; empty to ignore MTA-STS (as with gateways, where the MX hosts are not the
     *     domain's)
     * @param discoveryWait how long mail waits for a domain's MTA-STS discovery (its TXT lookup and policy fetch)
     *     before it goes by its rule, as when the fetch fails; the discovery goes on and serves later mail
     */
    public TlsPolicyResolver(Optional<MtaStsPolicyCache> mtaSts, DaneLookup dane, PlaintextFallbacks fallbacks,
                             Duration discoveryWait) {
        this.mtaSts = Objects.requireNonNull(mtaSts, "mtaSts");
        this.dane = Objects.requireNonNull(dane, "dane");
        this.fallbacks = Objects.requireNonNull(fallbacks, "fallbacks");
        this.discoveryWait = Objects.requireNonNull(discoveryWait, "discoveryWait");
        if (discoveryWait.isNegative() || discoveryWait.isZero()) {
            throw new IllegalArgumentException("discoveryWait must be positive, was " + discoveryWait);
        }
    }

    /** The MX rules' modes alone: no MTA-STS, DANE not configured, failed handshakes remembered for an hour. */
    public static TlsPolicyResolver rulesOnly(Clock clock) {
        return new TlsPolicyResolver(Optional.empty(), DaneLookup.NOT_CONFIGURED,
            new PlaintextFallbacks(DEFAULT_PLAINTEXT_FALLBACK_MEMORY, clock));
    }

    /** The recipient domain's policy; completes at once when cached or when MTA-STS is not used. */
    public CompletableFuture<DomainTlsPolicy> domainPolicy(String domain) {
        if (mtaSts.isEmpty()) {
            return CompletableFuture.completedFuture(DomainTlsPolicy.none(domain, "MTA-STS not used"));
        }
        return mtaSts.get().lookup(domain);
    }

    /**
     * How long mail waits for {@link #domainPolicy} before going by its rule; the discovery goes on meanwhile.
     */
    public Duration discoveryWait() {
        return discoveryWait;
    }

    /**
     * The MX host's DANE verdict; looked up (blocking) only when the rule asks for DANE. Called on a lookup thread
     * ({@link DaneVerdicts}), never a delivery or timer one.
     */
    public DaneVerdict dane(boolean ruleUsesDane, String mxHost, int port) {
        if (!ruleUsesDane) {
            return DaneVerdict.notAsked();
        }
        try {
            return Objects.requireNonNull(dane.lookup(mxHost, port), "DANE verdict");
        } catch (RuntimeException e) {
            return DaneVerdict.unusable("TLSA lookup of " + mxHost + " failed: " + e);
        }
    }

    /**
     * The requirement for one part at one MX host.
     *
     * @param ruleName and {@code ruleMode}: the matching MX rule's name and {@code tls} mode
     * @param requireTls whether the mail asks for REQUIRETLS
     * @param hostDane the host's DANE verdict, from {@link #dane} (or from a session already open to the host)
     */
    public TlsRequirement requirement(DomainTlsPolicy domain, String ruleName, TlsMode ruleMode, boolean requireTls,
                                      DaneVerdict hostDane) {
        TlsMode mode = ruleMode;
        List<String> policies = new ArrayList<>(List.of("rule '" + ruleName + "'"));
        if (domain.enforces()) {
            mode = raise(mode, policies, "MTA-STS enforce policy of " + domain.domain());
        }
        if (requireTls) {
            mode = raise(mode, policies, "REQUIRETLS");
        }
        return new TlsRequirement(mode, policies, hostDane);
    }

    /**
     * Whether an open session may carry a part: what {@link #requirement} would decide, with the host's DANE verdict
     * taken from the session, checked without allocating (lanes ask this under their lock for every waiting part).
     */
    public boolean admits(SessionSecurity session, DomainTlsPolicy domain, TlsMode ruleMode, boolean requireTls) {
        TlsMode mode = domain.enforces() || requireTls ? TlsMode.VERIFY : ruleMode;
        return TlsRequirement.isMetBy(mode, session.openedFor().dane(), session.protection());
    }

    private static TlsMode raise(TlsMode mode, List<String> policies, String policy) {
        if (mode.compareTo(TlsMode.VERIFY) < 0) {
            policies.clear();
        }
        policies.add(policy);
        return TlsMode.VERIFY;
    }

    public PlaintextFallbacks plaintextFallbacks() {
        return fallbacks;
    }

    /** Whether MTA-STS policies are looked up. */
    public boolean usesMtaSts() {
        return mtaSts.isPresent();
    }
}

package io.github.mxgovernor.tls.dane;

import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.DaneVerdict;

import java.time.Clock;
import java.util.Objects;

/**
 * DANE for the TLS policy, from TLSA lookups: signed usable records require a certificate that matches them;
 * signed records none of which is usable still require TLS (certificate not checked, as RFC 7672 says);
 * an unsigned zone leaves the rule's mode; a bogus or failed lookup makes the verdict unusable, which defers.
 */
public final class TlsaDaneLookup implements DaneLookup {
    private final TlsaLookup tlsa;
    private final Clock clock;

    public TlsaDaneLookup(TlsaLookup tlsa, Clock clock) {
        this.tlsa = Objects.requireNonNull(tlsa, "tlsa");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public DaneVerdict lookup(String mxHost, int port) {
        TlsaResult result = tlsa.lookup(mxHost, port);
        switch (result.status()) {
            case SECURE:
                TlsaMatcher matcher = TlsaMatcher.forResult(result, clock);
                return DaneVerdict.required(result.detail(), (chain, host) -> matcher.matches(chain));
            case UNUSABLE:
                return DaneVerdict.required(result.detail() + " (no usable record: TLS required, certificate not"
                    + " checked)", (chain, host) -> true);
            case INSECURE:
                return DaneVerdict.notApplicable(result.detail());
            case BOGUS:
            case FAILED:
            default:
                return DaneVerdict.unusable(result.status() + ": " + result.detail());
        }
    }
}

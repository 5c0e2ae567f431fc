package io.github.mxgovernor.tls;

/**
 * Looks up what DANE says of an MX host: the TLSA records of {@code _<port>._tcp.<mxHost>} through a
 * DNSSEC-validating resolver. May block (DNS); called on a lookup thread (see {@link DaneVerdicts}) before the
 * connection is opened, only for rules with {@code dane="true"}. Implementations never throw: a failure is a
 * {@linkplain DaneVerdict#unusable(String) unusable} verdict.
 */
@FunctionalInterface
public interface DaneLookup {
    /** The lookup used while no DANE resolver is configured: DANE never applies, and says so. */
    DaneLookup NOT_CONFIGURED = (mxHost, port) -> DaneVerdict.notApplicable("DANE lookups are not configured");

    DaneVerdict lookup(String mxHost, int port);
}

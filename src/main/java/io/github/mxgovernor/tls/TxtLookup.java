package io.github.mxgovernor.tls;

import java.util.Collection;

/**
 * Reads TXT records (for {@code _mta-sts.<domain>}). May block; called on a lookup thread, never a delivery or timer one.
 * A record may be given as its text or in DNS presentation form (quoted strings). A failure is thrown as a runtime
 * exception; no record is an empty collection.
 */
@FunctionalInterface
public interface TxtLookup {
    Collection<String> txtRecords(String name);
}

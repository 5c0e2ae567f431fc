package io.github.mxgovernor.tls;

import java.util.concurrent.CompletableFuture;

/** Fetches a domain's MTA-STS policy file. */
@FunctionalInterface
public interface PolicyFetcher {
    /**
     * Fetches, blocking for at most the fetcher's own time limit.
     *
     * @return the policy file's text
     * @throws MtaStsException when the file could not be had: connection, certificate, status other than 200, a
     *     redirect, wrong media type, too large, too slow; the message says which
     */
    String fetch(String domain) throws MtaStsException;

    /**
     * Starts fetching and returns at once with the file's text to come, or an {@link MtaStsException}. Fetchers that
     * do not block (such as {@link HttpsPolicyFetcher}) override it; this default calls {@link #fetch} in the
     * caller's thread.
     */
    default CompletableFuture<String> fetchAsync(String domain) {
        try {
            return CompletableFuture.completedFuture(fetch(domain));
        } catch (MtaStsException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}

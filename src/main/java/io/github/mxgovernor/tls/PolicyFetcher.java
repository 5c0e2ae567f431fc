package io.github.mxgovernor.tls;

/** Fetches a domain's MTA-STS policy file. Blocks at most for its own time limit. */
@FunctionalInterface
public interface PolicyFetcher {
    /**
     * @return the policy file's text
     * @throws MtaStsException when the file could not be had: connection, certificate, status other than 200, a
     *     redirect, wrong media type, too large, too slow; the message says which
     */
    String fetch(String domain) throws MtaStsException;
}

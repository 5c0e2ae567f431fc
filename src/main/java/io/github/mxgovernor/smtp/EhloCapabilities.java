package io.github.mxgovernor.smtp;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a server's EHLO reply announced: its ESMTP extension keywords, upper case, the SIZE limit and the SMTP AUTH
 * mechanisms. After HELO (the EHLO fallback) a server announces nothing. Immutable.
 */
final class EhloCapabilities {
    static final String PIPELINING = "PIPELINING";
    static final String CHUNKING = "CHUNKING";
    static final String SIZE = "SIZE";
    static final String EIGHT_BIT_MIME = "8BITMIME";
    static final String SMTPUTF8 = "SMTPUTF8";
    static final String DSN = "DSN";
    static final String STARTTLS = "STARTTLS";
    static final String REQUIRETLS = "REQUIRETLS";
    static final String AUTH = "AUTH";

    /** What a server greeted with HELO offers. */
    static final EhloCapabilities NONE = new EhloCapabilities(Set.of(), Set.of(), 0);

    private final Set<String> extensions;
    private final Set<String> authMechanisms;
    private final long sizeLimit;

    private EhloCapabilities(Set<String> extensions, Set<String> authMechanisms, long sizeLimit) {
        this.extensions = extensions;
        this.authMechanisms = authMechanisms;
        this.sizeLimit = sizeLimit;
    }

    /** Reads the lines of a positive EHLO reply; the first is the server's name, not an extension. */
    static EhloCapabilities parse(List<String> ehloLines) {
        Set<String> keywords = new HashSet<>();
        Set<String> mechanisms = new HashSet<>();
        long declaredSize = 0;
        for (String line : ehloLines.subList(Math.min(1, ehloLines.size()), ehloLines.size())) {
            String trimmed = line.trim();
            int space = trimmed.indexOf(' ');
            String keyword = (space < 0 ? trimmed : trimmed.substring(0, space)).toUpperCase(Locale.ROOT);
            if (!keyword.isEmpty()) {
                keywords.add(keyword);
            }
            if (keyword.equals(SIZE) && space > 0) {
                declaredSize = sizeLimit(trimmed.substring(space + 1).trim());
            }
            // "AUTH=" is how servers that predate RFC 4954 announce it
            if ((keyword.equals(AUTH) || keyword.startsWith(AUTH + "=")) && trimmed.length() > 5) {
                for (String mechanism : trimmed.substring(5).trim().split(" +")) {
                    mechanisms.add(mechanism.toUpperCase(Locale.ROOT));
                }
            }
        }
        return new EhloCapabilities(Set.copyOf(keywords), Set.copyOf(mechanisms), declaredSize);
    }

    /** The SIZE parameter (RFC 1870): a limit in bytes, or 0 for none declared; a malformed one sets none. */
    private static long sizeLimit(String parameter) {
        if (parameter.isEmpty() || parameter.length() > 18) {
            return 0;
        }
        for (int i = 0; i < parameter.length(); i++) {
            if (parameter.charAt(i) < '0' || parameter.charAt(i) > '9') {
                return 0;
            }
        }
        return Long.parseLong(parameter);
    }

    /** The extension keywords, upper case. */
    Set<String> extensions() {
        return extensions;
    }

    boolean offers(String keyword) {
        return extensions.contains(keyword);
    }

    /** The SIZE limit in bytes, 0 when the server declared none (or did not offer SIZE). */
    long sizeLimit() {
        return sizeLimit;
    }

    boolean offersAuth(String mechanism) {
        return authMechanisms.contains(mechanism);
    }

    /** The AUTH mechanisms offered, sorted and space-separated, or {@code none}. */
    String authMechanismsOffered() {
        return authMechanisms.isEmpty() ? "none" : String.join(" ", new TreeSet<>(authMechanisms));
    }
}

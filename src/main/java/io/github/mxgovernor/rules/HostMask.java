package io.github.mxgovernor.rules;

import java.util.Arrays;
import java.util.Objects;

/**
 * A glob on host names, such as {@code *.google.com} or {@code mx?.example.net}.
 *
 * <p>{@code *} matches any sequence of characters, dots included (so {@code *.google.com} matches
 * {@code alt1.aspmx.l.google.com}); {@code ?} matches exactly one character. Matching ignores ASCII case, and a
 * trailing dot (the root label of a fully qualified name) is ignored on both the glob and the host name.
 *
 * <p>A glob holds only ASCII letters, digits, {@code -}, {@code _}, {@code .}, {@code *} and {@code ?}, and no
 * empty label; internationalized names are written in their {@code xn--} form, as DNS returns them.
 * {@link #matches(String)} neither allocates nor uses regular expressions, so it is safe on the delivery path.
 * Instances are immutable; two masks are equal when their globs are equal ignoring case and the trailing dot.
 */
public final class HostMask {
    private final String glob;
    /** The glob lower-cased, without its trailing dot. */
    private final char[] pattern;
    /** Where the literal tail after the last '*' starts; 0 when there is no '*'. */
    private final int tailStart;
    /** The shortest host name that can match: the number of characters other than '*'. */
    private final int minLength;

    private HostMask(String glob, char[] pattern) {
        this.glob = glob;
        this.pattern = pattern;
        int lastStar = -1;
        int stars = 0;
        for (int i = 0; i < pattern.length; i++) {
            if (pattern[i] == '*') {
                lastStar = i;
                stars++;
            }
        }
        this.tailStart = lastStar + 1;
        this.minLength = pattern.length - stars;
    }

    /**
     * Parses a glob.
     *
     * @throws IllegalArgumentException naming the glob and what is wrong with it
     */
    public static HostMask parse(String glob) {
        Objects.requireNonNull(glob, "glob");
        if (glob.isEmpty()) {
            throw new IllegalArgumentException("host mask must not be empty");
        }
        String body = glob.endsWith(".") ? glob.substring(0, glob.length() - 1) : glob;
        char[] pattern = new char[body.length()];
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (Character.isWhitespace(c)) {
                throw new IllegalArgumentException("host mask '" + glob + "' must not contain spaces");
            }
            if (!isAllowed(c)) {
                throw new IllegalArgumentException("host mask '" + glob + "' contains '" + c + "' at position "
                        + (i + 1) + "; allowed are ASCII letters, digits, '-', '_', '.', '*' and '?'"
                        + " (write internationalized names in their xn-- form)");
            }
            pattern[i] = toLowerAscii(c);
        }
        if (body.isEmpty() || body.startsWith(".") || body.endsWith(".") || body.contains("..")) {
            throw new IllegalArgumentException("host mask '" + glob + "' has an empty label");
        }
        return new HostMask(glob, pattern);
    }

    private static boolean isAllowed(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.' || c == '*' || c == '?';
    }

    private static char toLowerAscii(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }

    /**
     * Whether the host name matches this glob, ignoring ASCII case and a trailing dot.
     *
     * @throws NullPointerException if {@code hostName} is null
     */
    public boolean matches(String hostName) {
        int length = hostName.length();
        if (length > 0 && hostName.charAt(length - 1) == '.') {
            length--;
        }
        if (length < minLength) {
            return false;
        }
        char[] p = pattern;
        // The part after the last '*' has a fixed length, so it can only sit at the end of the host name.
        // Checking it first, from its left, rejects most hosts of other providers after a character or two: masks
        // and hosts of different providers share the top-level labels, not the one left of them.
        int tailLength = p.length - tailStart;
        int hostTail = length - tailLength;
        for (int i = 0; i < tailLength; i++) {
            char pc = p[tailStart + i];
            if (pc != '?' && pc != toLowerAscii(hostName.charAt(hostTail + i))) {
                return false;
            }
        }
        if (tailStart == 0) {
            return length == p.length;
        }
        return matchesHead(hostName, hostTail);
    }

    /** Matches host[0, hostEnd) against the pattern up to and including its last '*'. */
    private boolean matchesHead(String hostName, int hostEnd) {
        char[] p = pattern;
        int patternEnd = tailStart;
        int pi = 0;
        int hi = 0;
        // Position of the last '*' seen and of the host character it was tried against: on a mismatch the star
        // takes one more character and matching resumes after it. One star to go back to is enough for globs.
        int starPi = -1;
        int starHi = 0;
        while (hi < hostEnd) {
            if (pi < patternEnd) {
                char pc = p[pi];
                if (pc == '*') {
                    if (pi == patternEnd - 1) {
                        // The last '*' takes whatever is left of the host name.
                        return true;
                    }
                    starPi = pi++;
                    starHi = hi;
                    continue;
                }
                if (pc == '?' || pc == toLowerAscii(hostName.charAt(hi))) {
                    pi++;
                    hi++;
                    continue;
                }
            }
            if (starPi < 0) {
                return false;
            }
            pi = starPi + 1;
            hi = ++starHi;
        }
        while (pi < patternEnd && p[pi] == '*') {
            pi++;
        }
        return pi == patternEnd;
    }

    /** The glob as it was given to {@link #parse(String)}. */
    public String glob() {
        return glob;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostMask && Arrays.equals(pattern, ((HostMask) o).pattern);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(pattern);
    }

    @Override
    public String toString() {
        return glob;
    }
}

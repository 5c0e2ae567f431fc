package io.github.mxgovernor.tls;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An MTA-STS policy (RFC 8461 section 3.2): its mode, the MX host patterns it allows and how long it may be cached.
 * Immutable; read strictly by {@link #parse(String)}.
 */
final class MtaStsPolicy {
    /** The three policy modes. */
    public enum Mode {
        /** Deliver only to listed MX hosts, over verified TLS. */
        ENFORCE,
        /** Deliver as usual, but record what {@code enforce} would have refused. */
        TESTING,
        /** The domain withdrew its policy. */
        NONE
    }

    /** RFC 8461's largest {@code max_age}: about a year. Larger values are capped to it. */
    public static final Duration MAX_AGE_CAP = Duration.ofSeconds(31_557_600);

    private static final Pattern EXTENSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    private final Mode mode;
    private final List<String> mxPatterns;
    private final Duration maxAge;
    private final boolean maxAgeCapped;

    private MtaStsPolicy(Mode mode, List<String> mxPatterns, Duration maxAge, boolean maxAgeCapped) {
        this.mode = mode;
        this.mxPatterns = List.copyOf(mxPatterns);
        this.maxAge = maxAge;
        this.maxAgeCapped = maxAgeCapped;
    }

    /**
     * Reads a policy file. Lines end in CRLF or LF, blank lines are skipped; each other line is {@code key: value}.
     * {@code version: STSv1}, {@code mode} ({@code enforce}, {@code testing}, {@code none}) and {@code max_age}
     * (1 to 10 digits, seconds; above {@link #MAX_AGE_CAP} it is capped) appear exactly once; {@code mx} (a host
     * name, or {@code *.} and a domain) at least once unless the mode is {@code none}. Other keys of the RFC's
     * extension syntax are ignored. Keys and keywords are case-insensitive (ABNF strings).
     *
     * @throws MtaStsException naming the line and what is wrong with it
     */
    public static MtaStsPolicy parse(String text) throws MtaStsException {
        Objects.requireNonNull(text, "text");
        String version = null;
        Mode mode = null;
        String maxAgeText = null;
        List<String> mx = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int number = i + 1;
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new MtaStsException("line " + number + " is not 'key: value': '" + shorten(line) + "'");
            }
            String key = line.substring(0, colon).toLowerCase(Locale.ROOT);
            String value = trimSpaces(line.substring(colon + 1));
            switch (key) {
                case "version":
                    version = once(version, value, "version", number);
                    if (!value.equalsIgnoreCase("STSv1")) {
                        throw new MtaStsException("line " + number + ": version must be STSv1, was '"
                            + shorten(value) + "'");
                    }
                    break;
                case "mode":
                    once(mode == null ? null : mode.name(), value, "mode", number);
                    mode = mode(value, number);
                    break;
                case "max_age":
                    maxAgeText = once(maxAgeText, value, "max_age", number);
                    break;
                case "mx":
                    mx.add(mxPattern(value, number));
                    break;
                default:
                    if (!EXTENSION_NAME.matcher(key).matches()) {
                        throw new MtaStsException("line " + number + ": '" + shorten(line.substring(0, colon))
                            + "' is not a field name");
                    }
                    checkExtensionValue(value, number);
                    break;
            }
        }
        if (version == null) {
            throw new MtaStsException("no 'version: STSv1' line");
        }
        if (mode == null) {
            throw new MtaStsException("no 'mode' line");
        }
        if (maxAgeText == null) {
            throw new MtaStsException("no 'max_age' line");
        }
        if (mx.isEmpty() && mode != Mode.NONE) {
            throw new MtaStsException("mode " + mode.name().toLowerCase(Locale.ROOT) + " needs at least one 'mx' line");
        }
        long seconds = maxAge(maxAgeText);
        boolean capped = seconds > MAX_AGE_CAP.getSeconds();
        return new MtaStsPolicy(mode, mx, capped ? MAX_AGE_CAP : Duration.ofSeconds(seconds), capped);
    }

    private static String once(String previous, String value, String key, int line) throws MtaStsException {
        if (previous != null) {
            throw new MtaStsException("line " + line + ": a second '" + key + "' line");
        }
        return value;
    }

    private static Mode mode(String value, int line) throws MtaStsException {
        for (Mode candidate : Mode.values()) {
            if (candidate.name().equalsIgnoreCase(value)) {
                return candidate;
            }
        }
        throw new MtaStsException("line " + line + ": mode must be enforce, testing or none, was '" + shorten(value)
            + "'");
    }

    private static long maxAge(String value) throws MtaStsException {
        boolean digits = !value.isEmpty() && value.length() <= 10 && value.chars().allMatch(c -> c >= '0' && c <= '9');
        if (!digits) {
            throw new MtaStsException("max_age must be 1 to 10 digits (seconds), was '" + shorten(value) + "'");
        }
        return Long.parseLong(value);
    }

    private static String mxPattern(String value, int line) throws MtaStsException {
        String pattern = value.toLowerCase(Locale.ROOT);
        String domain = pattern.startsWith("*.") ? pattern.substring(2) : pattern;
        if (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1);
        }
        String[] labels = domain.split("\\.", -1);
        boolean valid = domain.length() <= 253 && labels.length >= 1;
        for (String label : labels) {
            valid &= LABEL.matcher(label).matches();
        }
        if (!valid) {
            throw new MtaStsException("line " + line + ": mx must be a host name or '*.' and a domain, was '"
                + shorten(value) + "'");
        }
        return (pattern.startsWith("*.") ? "*." : "") + domain;
    }

    private static void checkExtensionValue(String value, int line) throws MtaStsException {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new MtaStsException("line " + line + ": a field value holds a control or non-ASCII character");
            }
        }
    }

    /** The value without the spaces and tabs around it, as RFC 8461 fields and TXT fields allow. */
    static String trimSpaces(String value) {
        int start = 0;
        int end = value.length();
        while (start < end && (value.charAt(start) == ' ' || value.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (value.charAt(end - 1) == ' ' || value.charAt(end - 1) == '\t')) {
            end--;
        }
        return value.substring(start, end);
    }

    /** At most 64 printable characters of untrusted text, for error messages and logs. */
    static String shorten(String text) {
        StringBuilder shown = new StringBuilder();
        for (int i = 0; i < text.length() && i < 64; i++) {
            char c = text.charAt(i);
            shown.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 64 ? shown + "..." : shown.toString();
    }

    public Mode mode() {
        return mode;
    }

    /** The MX patterns, lower case, without a trailing dot: host names and {@code *.domain} wildcards. */
    public List<String> mxPatterns() {
        return mxPatterns;
    }

    /** How long the policy may be cached, at most {@link #MAX_AGE_CAP}. */
    public Duration maxAge() {
        return maxAge;
    }

    /** Whether the file's {@code max_age} was above {@link #MAX_AGE_CAP} and was capped. */
    public boolean maxAgeCapped() {
        return maxAgeCapped;
    }

    /**
     * Whether the policy allows this MX host (RFC 8461 section 4.1): equal to a pattern, or one label more than a
     * {@code *.} pattern's domain; case-insensitive, a trailing dot ignored.
     */
    public boolean allowsMx(String mxHost) {
        String host = mxHost.toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        for (String pattern : mxPatterns) {
            if (pattern.startsWith("*.")) {
                String suffix = pattern.substring(1);
                int firstDot = host.indexOf('.');
                if (firstDot > 0 && host.substring(firstDot).equals(suffix)) {
                    return true;
                }
            } else if (pattern.equals(host)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof MtaStsPolicy)) {
            return false;
        }
        MtaStsPolicy that = (MtaStsPolicy) o;
        return mode == that.mode && mxPatterns.equals(that.mxPatterns) && maxAge.equals(that.maxAge)
            && maxAgeCapped == that.maxAgeCapped;
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, mxPatterns, maxAge, maxAgeCapped);
    }

    @Override
    public String toString() {
        return mode.name().toLowerCase(Locale.ROOT) + " mx=" + mxPatterns + " max_age=" + maxAge.getSeconds()
            + (maxAgeCapped ? " (capped)" : "");
    }
}

package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The key a waiting mail is stored under in its mail repository (James stores a mail under its name, so this is also
 * the stored copy's name). It carries what the waiting index needs, so that the index is rebuilt at start from the
 * repository's list of keys alone, without reading any mail: when the mail is due, why it waits, for which
 * destination; and the mail's identity (the queue entry it came from and its recipients), so that the same mail
 * stored again replaces itself instead of waiting twice.
 *
 * <p>Layout: {@code mxgw-<due>-<reason>-<identity>-<destination>}: the due time in milliseconds since the epoch in base
 * 36, one letter per {@link DeferralReason}, the identity as 16 hexadecimal digits, the destination with every
 * character other than letters, digits, {@code .}, {@code _} and {@code -} written {@code ~xx} (its UTF-8 bytes). A
 * key is at most {@value #MAX_LENGTH} characters: James's file repository names its files after the key in
 * hexadecimal, and a file name has at most 255 bytes. A destination too long for that, or a reason without a letter,
 * is left out ({@code mxgw-<due>-x-<identity>}): the index then reads the mail's record once at start.
 */
public final class WaitingKey {
    /** The longest key: twice this plus James's file extensions stays within a 255-byte file name. */
    public static final int MAX_LENGTH = 119;
    private static final String PREFIX = "mxgw";
    private static final char UNKNOWN = 'x';
    private static final Map<DeferralReason, Character> LETTERS = letters();
    private static final Map<Character, DeferralReason> REASONS = reasons();

    private final String key;
    private final long dueMillis;
    private final long identity;
    private final Optional<DeferralReason> reason;
    private final Optional<String> destination;

    private WaitingKey(String key, long dueMillis, long identity, Optional<DeferralReason> reason,
                       Optional<String> destination) {
        this.key = key;
        this.dueMillis = dueMillis;
        this.identity = identity;
        this.reason = reason;
        this.destination = destination;
    }

    /** The key of a mail with this identity, waiting for {@code destination} until {@code due}. */
    public static WaitingKey of(long identity, Instant due, DeferralReason reason, String destination) {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(destination, "destination");
        long dueMillis = due.toEpochMilli();
        if (dueMillis < 0) {
            throw new IllegalArgumentException("a due time before 1970 cannot be keyed: " + due);
        }
        Character letter = LETTERS.get(reason);
        String escaped = escape(destination);
        String head = PREFIX + "-" + Long.toString(dueMillis, 36) + "-";
        String tail = "-" + hex(identity);
        String full = head + (letter == null ? UNKNOWN : letter) + tail + "-" + escaped;
        if (letter != null && full.length() <= MAX_LENGTH) {
            return new WaitingKey(full, dueMillis, identity, Optional.of(reason), Optional.of(destination));
        }
        return new WaitingKey(head + UNKNOWN + tail, dueMillis, identity, Optional.empty(), Optional.empty());
    }

    /** Reads a key this class made; empty for anything else. */
    public static Optional<WaitingKey> parse(String key) {
        if (key == null || key.length() > MAX_LENGTH || !key.startsWith(PREFIX + "-")) {
            return Optional.empty();
        }
        String[] parts = key.split("-", 5);
        if (parts.length < 4 || parts[2].length() != 1 || parts[3].length() != 16) {
            return Optional.empty();
        }
        try {
            long due = Long.parseLong(parts[1], 36);
            long identity = Long.parseUnsignedLong(parts[3], 16);
            char letter = parts[2].charAt(0);
            if (letter == UNKNOWN) {
                return parts.length == 4 ? Optional.of(new WaitingKey(key, due, identity, Optional.empty(),
                    Optional.empty())) : Optional.empty();
            }
            DeferralReason reason = REASONS.get(letter);
            if (reason == null || parts.length != 5 || due < 0) {
                return Optional.empty();
            }
            return Optional.of(new WaitingKey(key, due, identity, Optional.of(reason),
                Optional.of(unescape(parts[4]))));
        } catch (IllegalArgumentException malformed) {
            return Optional.empty();
        }
    }

    /**
     * The identity of a waiting mail: the queue entry it was taken from and the recipients it waits for, in any order.
     * The same entry deferred again for the same recipients (the queue gave it once more after a crash) has the same
     * identity. The first 64 bits of a SHA-256, so that it is the same in every JVM.
     */
    public static long identity(String queueEntry, Collection<String> recipients) {
        List<String> sorted = new ArrayList<>(recipients);
        sorted.sort(null);
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
        digest.update(queueEntry.getBytes(StandardCharsets.UTF_8));
        for (String recipient : sorted) {
            digest.update((byte) 0);
            digest.update(recipient.getBytes(StandardCharsets.UTF_8));
        }
        byte[] hash = digest.digest();
        long identity = 0;
        for (int i = 0; i < 8; i++) {
            identity = (identity << 8) | (hash[i] & 0xff);
        }
        return identity;
    }

    public String asString() {
        return key;
    }

    public long dueMillis() {
        return dueMillis;
    }

    public long identity() {
        return identity;
    }

    /** Empty when the key leaves it out (the mail's record says it). */
    public Optional<DeferralReason> reason() {
        return reason;
    }

    /** Empty when the key leaves it out (the mail's record says it). */
    public Optional<String> destination() {
        return destination;
    }

    /** Whether the key carries everything the index needs. */
    public boolean isComplete() {
        return reason.isPresent() && destination.isPresent();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WaitingKey && key.equals(((WaitingKey) o).key);
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }

    @Override
    public String toString() {
        return key;
    }

    private static String hex(long identity) {
        String digits = Long.toHexString(identity);
        return "0".repeat(16 - digits.length()) + digits;
    }

    private static String escape(String destination) {
        StringBuilder escaped = new StringBuilder(destination.length());
        for (byte b : destination.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                || c == '-') {
                escaped.append(c);
            } else {
                escaped.append('~').append(String.format(Locale.ROOT, "%02x", b & 0xff));
            }
        }
        return escaped.toString();
    }

    private static String unescape(String escaped) {
        byte[] bytes = new byte[escaped.length()];
        int length = 0;
        for (int i = 0; i < escaped.length(); i++) {
            char c = escaped.charAt(i);
            if (c == '~') {
                if (i + 2 >= escaped.length()) {
                    throw new IllegalArgumentException("truncated escape in " + escaped);
                }
                bytes[length++] = (byte) Integer.parseInt(escaped.substring(i + 1, i + 3), 16);
                i += 2;
            } else if (c < 128) {
                bytes[length++] = (byte) c;
            } else {
                throw new IllegalArgumentException("unescaped character in " + escaped);
            }
        }
        if (length == 0) {
            throw new IllegalArgumentException("empty destination");
        }
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }

    private static Map<DeferralReason, Character> letters() {
        // Fixed letters, never the enum's order: keys written by one release are read by the next.
        Map<String, Character> byName = Map.of(
            "CONNECTION_QUOTA_REACHED", 'q',
            "RATE_LIMITED", 'r',
            "DYNAMIC_FLOW_CONTROL", 'f',
            "SUSPENDED", 's',
            "SMTP_TEMPORARY_FAILURE", 't',
            "CONNECTION_FAILED", 'c',
            "DNS_TEMPORARY_FAILURE", 'd',
            "TLS_POLICY_FAILURE", 'l');
        Map<DeferralReason, Character> letters = new EnumMap<>(DeferralReason.class);
        for (DeferralReason reason : DeferralReason.values()) {
            Character letter = byName.get(reason.name());
            if (letter != null) {
                letters.put(reason, letter);
            }
        }
        return letters;
    }

    private static Map<Character, DeferralReason> reasons() {
        Map<Character, DeferralReason> reasons = new HashMap<>();
        LETTERS.forEach((reason, letter) -> reasons.put(letter, reason));
        return reasons;
    }
}

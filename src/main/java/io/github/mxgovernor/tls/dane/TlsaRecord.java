package io.github.mxgovernor.tls.dane;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * One TLSA record (RFC 6698): certificate usage, selector, matching type and certificate association data.
 * Immutable.
 *
 * <p>Any field value from 0 to 255 can be held, as DNS can publish it; only {@linkplain #usable() usable}
 * records take part in DANE for SMTP (RFC 7672): usage DANE-TA(2) or DANE-EE(3), selector full certificate (0)
 * or SubjectPublicKeyInfo (1), matching type exact (0), SHA-256 (1) or SHA-512 (2) with data of the digest's
 * length. The PKIX usages PKIX-TA(0) and PKIX-EE(1) are ignored for SMTP.
 */
final class TlsaRecord {
    /** Usage DANE-TA(2): the data names a trust anchor the server's chain must lead to. */
    public static final int USAGE_DANE_TA = 2;
    /** Usage DANE-EE(3): the data names the server's own certificate or key. */
    public static final int USAGE_DANE_EE = 3;
    /** Selector 0: the whole DER certificate. */
    public static final int SELECTOR_CERTIFICATE = 0;
    /** Selector 1: the DER SubjectPublicKeyInfo. */
    public static final int SELECTOR_PUBLIC_KEY = 1;
    /** Matching type 0: the selected bytes themselves. */
    public static final int MATCHING_EXACT = 0;
    /** Matching type 1: SHA-256 of the selected bytes. */
    public static final int MATCHING_SHA256 = 1;
    /** Matching type 2: SHA-512 of the selected bytes. */
    public static final int MATCHING_SHA512 = 2;

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private final int usage;
    private final int selector;
    private final int matchingType;
    private final byte[] data;

    /**
     * @throws IllegalArgumentException when a field is outside 0..255 or the data is empty
     */
    public TlsaRecord(int usage, int selector, int matchingType, byte[] data) {
        this.usage = octet(usage, "usage");
        this.selector = octet(selector, "selector");
        this.matchingType = octet(matchingType, "matchingType");
        Objects.requireNonNull(data, "data");
        if (data.length == 0) {
            throw new IllegalArgumentException("TLSA certificate association data must not be empty");
        }
        this.data = data.clone();
    }

    /**
     * Reads the presentation form {@code "3 1 1 0123ABCD..."}: three numbers and the data in hexadecimal, which
     * may be split by white space.
     *
     * @throws IllegalArgumentException naming the text and what was wrong in it
     */
    public static TlsaRecord parse(String text) {
        Objects.requireNonNull(text, "text");
        String[] fields = text.trim().split("\\s+", 4);
        if (fields.length < 4) {
            throw new IllegalArgumentException("TLSA record '" + text
                + "' must be 'usage selector matchingType hexdata'");
        }
        return new TlsaRecord(number(fields[0], "usage", text), number(fields[1], "selector", text),
            number(fields[2], "matchingType", text), hex(fields[3].replaceAll("\\s+", ""), text));
    }

    public int usage() {
        return usage;
    }

    public int selector() {
        return selector;
    }

    public int matchingType() {
        return matchingType;
    }

    /** The certificate association data (a copy). */
    public byte[] data() {
        return data.clone();
    }

    /**
     * Whether this record counts for DANE in SMTP: usage DANE-TA(2) or DANE-EE(3), a known selector, and a known
     * matching type whose digest has the right length. Other records are ignored (RFC 7672 section 3.1).
     */
    public boolean usable() {
        if (usage != USAGE_DANE_TA && usage != USAGE_DANE_EE) {
            return false;
        }
        if (selector != SELECTOR_CERTIFICATE && selector != SELECTOR_PUBLIC_KEY) {
            return false;
        }
        switch (matchingType) {
            case MATCHING_EXACT:
                return true;
            case MATCHING_SHA256:
                return data.length == 32;
            case MATCHING_SHA512:
                return data.length == 64;
            default:
                return false;
        }
    }

    boolean dataEquals(byte[] candidate) {
        return MessageDigest.isEqual(data, candidate);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TlsaRecord)) {
            return false;
        }
        TlsaRecord that = (TlsaRecord) o;
        return usage == that.usage && selector == that.selector && matchingType == that.matchingType
            && Arrays.equals(data, that.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(usage, selector, matchingType, Arrays.hashCode(data));
    }

    /** The presentation form, data in upper-case hexadecimal. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(8 + data.length * 2);
        text.append(usage).append(' ').append(selector).append(' ').append(matchingType).append(' ');
        for (byte b : data) {
            text.append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
        }
        return text.toString();
    }

    private static int octet(int value, String name) {
        if (value < 0 || value > 255) {
            throw new IllegalArgumentException("TLSA " + name + " must be 0..255, was " + value);
        }
        return value;
    }

    private static int number(String field, String name, String text) {
        if (field.isEmpty() || field.length() > 3 || !field.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("TLSA record '" + text + "': " + name + " must be a number 0..255, was '"
                + field + "'");
        }
        try {
            return octet(Integer.parseInt(field), name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("TLSA record '" + text + "': " + e.getMessage(), e);
        }
    }

    private static byte[] hex(String digits, String text) {
        if (digits.length() % 2 != 0) {
            throw new IllegalArgumentException("TLSA record '" + text
                + "': the data must be an even number of hexadecimal digits");
        }
        byte[] bytes = new byte[digits.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            int high = Character.digit(digits.charAt(2 * i), 16);
            int low = Character.digit(digits.charAt(2 * i + 1), 16);
            if (high < 0 || low < 0) {
                throw new IllegalArgumentException("TLSA record '" + text + "': '"
                    + digits.substring(2 * i, 2 * i + 2).toLowerCase(Locale.ROOT) + "' is not hexadecimal");
            }
            bytes[i] = (byte) (high << 4 | low);
        }
        return bytes;
    }
}

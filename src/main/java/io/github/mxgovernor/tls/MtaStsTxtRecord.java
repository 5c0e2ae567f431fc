package io.github.mxgovernor.tls;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code _mta-sts.<domain>} TXT record (RFC 8461 section 3.1): {@code v=STSv1; id=<1 to 32 letters or digits>;}
 * and optional extensions. Read strictly by {@link #select(Collection)}.
 */
final class MtaStsTxtRecord {
    private static final String VERSION = "v=STSv1";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    private static final Pattern EXTENSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\\x21-\\x3a\\x3c\\x3e-\\x7e]+");

    private final String id;

    private MtaStsTxtRecord(String id) {
        this.id = id;
    }

    /** The policy id: a new id means the policy changed and must be fetched again. */
    public String id() {
        return id;
    }

    /**
     * Picks the MTA-STS record among a name's TXT records: those that do not begin with {@code v=STSv1} are ignored;
     * none left means the domain has no policy (empty result), more than one or a malformed one is an error (the
     * RFC treats both as no policy). A record given as DNS presentation text (quoted strings, as James's
     * {@code DNSJavaService} returns them) is unquoted and its strings joined first.
     *
     * @throws MtaStsException when there are several records or the one record is malformed
     */
    public static Optional<MtaStsTxtRecord> select(Collection<String> txtRecords) throws MtaStsException {
        Objects.requireNonNull(txtRecords, "txtRecords");
        List<String> candidates = new ArrayList<>();
        for (String raw : txtRecords) {
            String text = unquote(raw);
            if (text.startsWith(VERSION)) {
                candidates.add(text);
            }
        }
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        if (candidates.size() > 1) {
            throw new MtaStsException(candidates.size() + " TXT records begin with v=STSv1; exactly one is allowed");
        }
        return Optional.of(parse(candidates.get(0)));
    }

    static MtaStsTxtRecord parse(String text) throws MtaStsException {
        String[] fields = text.split(";", -1);
        if (!MtaStsPolicy.trimSpaces(fields[0]).equals(VERSION) || !fields[0].startsWith(VERSION)) {
            throw new MtaStsException("TXT record must begin with 'v=STSv1;', was '" + MtaStsPolicy.shorten(text) + "'");
        }
        String id = null;
        for (int i = 1; i < fields.length; i++) {
            String field = MtaStsPolicy.trimSpaces(fields[i]);
            if (field.isEmpty()) {
                if (i == fields.length - 1) {
                    continue;
                }
                throw new MtaStsException("TXT record has an empty field: '" + MtaStsPolicy.shorten(text) + "'");
            }
            if (field.startsWith("id=")) {
                String value = field.substring(3);
                if (!ID.matcher(value).matches()) {
                    throw new MtaStsException("TXT record id must be 1 to 32 letters or digits, was '"
                        + MtaStsPolicy.shorten(value) + "'");
                }
                if (id != null) {
                    throw new MtaStsException("TXT record has two ids: '" + MtaStsPolicy.shorten(text) + "'");
                }
                id = value;
            } else if (!EXTENSION.matcher(field).matches()) {
                throw new MtaStsException("TXT record field is not 'name=value': '" + MtaStsPolicy.shorten(field)
                    + "'");
            }
        }
        if (id == null) {
            throw new MtaStsException("TXT record has no id: '" + MtaStsPolicy.shorten(text) + "'");
        }
        return new MtaStsTxtRecord(id);
    }

    /**
     * The text of a record in DNS presentation form ({@code "v=STSv1; " "id=1"}): the quoted strings joined, escapes
     * ({@code \"}, {@code \\}, {@code \DDD}) resolved. Text that does not start with a quote is returned as is.
     */
    static String unquote(String raw) {
        String text = raw.strip();
        if (!text.startsWith("\"")) {
            return raw;
        }
        StringBuilder joined = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == ' ' || c == '\t') {
                i++;
                continue;
            }
            if (c != '"') {
                return raw;
            }
            i++;
            while (i < text.length() && text.charAt(i) != '"') {
                char d = text.charAt(i);
                if (d == '\\' && i + 1 < text.length()) {
                    if (i + 3 < text.length() && isDigits(text, i + 1, 3)) {
                        joined.append((char) Integer.parseInt(text.substring(i + 1, i + 4)));
                        i += 4;
                    } else {
                        joined.append(text.charAt(i + 1));
                        i += 2;
                    }
                } else {
                    joined.append(d);
                    i++;
                }
            }
            if (i >= text.length()) {
                return raw;
            }
            i++;
        }
        return joined.toString();
    }

    private static boolean isDigits(String text, int from, int count) {
        for (int i = from; i < from + count; i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return VERSION + "; id=" + id;
    }
}

package io.github.mxgovernor.smtp;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An RFC 3463 enhanced status code, {@code class.subject.detail}, for example {@code 4.7.28}. */
public final class EnhancedStatusCode {
    private static final Pattern LEADING_CODE = Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})(?=\\s|$)");

    private final int codeClass;
    private final int subject;
    private final int detail;

    public EnhancedStatusCode(int codeClass, int subject, int detail) {
        if (codeClass != 2 && codeClass != 4 && codeClass != 5) {
            throw new IllegalArgumentException("enhanced status class must be 2, 4 or 5, was " + codeClass);
        }
        if (subject < 0 || subject > 999 || detail < 0 || detail > 999) {
            throw new IllegalArgumentException("enhanced status subject and detail must be 0..999");
        }
        this.codeClass = codeClass;
        this.subject = subject;
        this.detail = detail;
    }

    /** Parses the code at the start of a reply text (after the three-digit reply code), if there is one. */
    public static Optional<EnhancedStatusCode> parseLeading(String text) {
        if (text == null) {
            return Optional.empty();
        }
        Matcher matcher = LEADING_CODE.matcher(text);
        if (!matcher.find()) {
            return Optional.empty();
        }
        return Optional.of(new EnhancedStatusCode(Integer.parseInt(matcher.group(1)),
            Integer.parseInt(matcher.group(2)), Integer.parseInt(matcher.group(3))));
    }

    public int codeClass() {
        return codeClass;
    }

    public int subject() {
        return subject;
    }

    public int detail() {
        return detail;
    }

    public boolean isPermanent() {
        return codeClass == 5;
    }

    public boolean isTransient() {
        return codeClass == 4;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof EnhancedStatusCode)) {
            return false;
        }
        EnhancedStatusCode that = (EnhancedStatusCode) o;
        return codeClass == that.codeClass && subject == that.subject && detail == that.detail;
    }

    @Override
    public int hashCode() {
        return Objects.hash(codeClass, subject, detail);
    }

    @Override
    public String toString() {
        return codeClass + "." + subject + "." + detail;
    }
}

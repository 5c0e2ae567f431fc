package io.github.mxgovernor.rules;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/**
 * The duration syntax of the rules file and of the mailet's own parameters: a non-negative integer with a
 * unit ({@code ms}, {@code s}, {@code m}, {@code h}, {@code d}), such as {@code 30s}, or ISO-8601 such as
 * {@code PT5M}. A bare number is refused: it would be ambiguous. Callers check the range they accept.
 */
public final class DurationText {
    private DurationText() {
    }

    /**
     * @param overflowRequirement what the caller accepts, said when the number does not fit a duration
     * @throws IllegalArgumentException with a message that ends with {@code was '<raw>'}
     */
    public static Duration parse(String raw, String overflowRequirement) {
        String value = raw.trim();
        int unitStart = 0;
        while (unitStart < value.length() && value.charAt(unitStart) >= '0' && value.charAt(unitStart) <= '9') {
            unitStart++;
        }
        if (unitStart > 0 && unitStart == value.length()) {
            throw new IllegalArgumentException("needs a unit (ms, s, m, h or d), such as '" + value + "s', was '"
                + raw + "'");
        } else if (unitStart > 0) {
            return withUnit(value.substring(0, unitStart), value.substring(unitStart), raw, overflowRequirement);
        }
        try {
            return Duration.parse(value);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("must be a duration such as '30s', '5m' or 'PT5M' (units ms, s, m, h,"
                + " d), was '" + raw + "'");
        }
    }

    private static Duration withUnit(String digits, String unit, String raw, String overflowRequirement) {
        try {
            long amount = Long.parseLong(digits);
            switch (unit) {
                case "ms":
                    return Duration.ofMillis(amount);
                case "s":
                    return Duration.ofSeconds(amount);
                case "m":
                    return Duration.ofMinutes(amount);
                case "h":
                    return Duration.ofHours(amount);
                case "d":
                    return Duration.ofDays(amount);
                default:
                    throw new IllegalArgumentException("unknown unit '" + unit + "'; units are ms, s, m, h and d, was '"
                        + raw + "'");
            }
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(overflowRequirement + ", was '" + raw + "'", e);
        }
    }
}

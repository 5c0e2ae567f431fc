package io.github.mxgovernor.rules;

import java.util.Optional;

/**
 * The rules file cannot be used. The message names the file, the line, the rule and the field where they are
 * known, then says what is wrong, for example
 * {@code mx-rules.xml:12: rule 'google', field 'maxConnections': must be an integer from 1 to 10000, was '-3'}.
 */
public final class RulesFileException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final int line;
    private final String rule;
    private final String field;
    private final String detail;

    /**
     * @param file   the file as it was named to the parser
     * @param line   the line, from 1; 0 when the problem is not on a line (a missing or empty file)
     * @param rule   the rule's name, or null when not known
     * @param field  the attribute, or null when the problem is not about one
     * @param detail what is wrong
     */
    public RulesFileException(String file, int line, String rule, String field, String detail) {
        this(file, line, rule, field, detail, null);
    }

    public RulesFileException(String file, int line, String rule, String field, String detail, Throwable cause) {
        super(format(file, line, rule, field, detail), cause);
        this.file = file;
        this.line = line;
        this.rule = rule;
        this.field = field;
        this.detail = detail;
    }

    private static String format(String file, int line, String rule, String field, String detail) {
        StringBuilder message = new StringBuilder(file);
        if (line > 0) {
            message.append(':').append(line);
        }
        message.append(": ");
        if (rule != null) {
            message.append("rule '").append(rule).append('\'');
        }
        if (field != null) {
            message.append(rule != null ? ", " : "").append("field '").append(field).append('\'');
        }
        if (rule != null || field != null) {
            message.append(": ");
        }
        return message.append(detail).toString();
    }

    /** The file as it was named to the parser. */
    public String file() {
        return file;
    }

    /** The line of the element at fault, from 1; 0 when the problem is not on a line. */
    public int line() {
        return line;
    }

    /** The name of the rule at fault, {@code default} for the {@code <default>} element. */
    public Optional<String> rule() {
        return Optional.ofNullable(rule);
    }

    /** The attribute at fault. */
    public Optional<String> field() {
        return Optional.ofNullable(field);
    }

    /** What is wrong, without the file, line, rule and field. */
    public String detail() {
        return detail;
    }
}

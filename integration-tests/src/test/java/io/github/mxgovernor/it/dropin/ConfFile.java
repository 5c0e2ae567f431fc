package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A text file of James's {@code conf/} changed by exact edits. An edit whose text is not found exactly once is an
 * error naming the file, so a distribution whose files differ from what the check expects fails loudly instead of
 * running with an edit silently missed.
 */
final class ConfFile {
    private static final Pattern BIND = Pattern.compile("<bind>([^<]*)</bind>");
    private static final Pattern JMX_NAME = Pattern.compile("<jmxName>([^<]*)</jmxName>");

    private final Path path;
    private String text;

    private ConfFile(Path path) throws IOException {
        this.path = path;
        this.text = Files.readString(path, StandardCharsets.UTF_8);
    }

    static ConfFile read(Path path) throws IOException {
        return new ConfFile(path);
    }

    /** Replaces {@code expected}, which must occur exactly once, by {@code replacement}. */
    ConfFile replace(String expected, String replacement) {
        int first = text.indexOf(expected);
        if (first < 0 || text.indexOf(expected, first + 1) >= 0) {
            throw new IllegalStateException(path + ": expected '" + expected + "' exactly once, found it "
                + (first < 0 ? "nowhere" : "more than once"));
        }
        text = text.substring(0, first) + replacement + text.substring(first + expected.length());
        return this;
    }

    /** Sets the content of the element {@code <name>}, which must occur exactly once. */
    ConfFile setElement(String name, String content) {
        Matcher matcher = Pattern.compile("<" + Pattern.quote(name) + ">[^<]*</" + Pattern.quote(name) + ">")
            .matcher(text);
        if (!matcher.find()) {
            throw new IllegalStateException(path + ": no <" + name + "> element");
        }
        return replace(matcher.group(), "<" + name + ">" + content + "</" + name + ">");
    }

    /** Puts {@code addition} right before {@code anchor}, which must occur exactly once. */
    ConfFile insertBefore(String anchor, String addition) {
        return replace(anchor, addition + anchor);
    }

    /**
     * Gives every {@code <bind>} element the address {@code newBind} returns for it (called with the server's
     * {@code <jmxName>}, the nearest one before the element).
     *
     * @return the new bind of each server, by JMX name
     */
    Map<String, String> rebind(Function<String, String> newBind) {
        Map<String, String> binds = new LinkedHashMap<>();
        Matcher matcher = BIND.matcher(text);
        StringBuilder result = new StringBuilder();
        while (matcher.find()) {
            String jmxName = nearestJmxNameBefore(matcher.start());
            String bind = newBind.apply(jmxName);
            binds.put(jmxName, bind);
            matcher.appendReplacement(result, Matcher.quoteReplacement("<bind>" + bind + "</bind>"));
        }
        matcher.appendTail(result);
        if (binds.isEmpty()) {
            throw new IllegalStateException(path + ": no <bind> element");
        }
        text = result.toString();
        return binds;
    }

    private String nearestJmxNameBefore(int position) {
        Matcher matcher = JMX_NAME.matcher(text).region(0, position);
        String name = null;
        while (matcher.find()) {
            name = matcher.group(1);
        }
        if (name == null) {
            throw new IllegalStateException(path + ": a <bind> without a <jmxName> before it");
        }
        return name;
    }

    String text() {
        return text;
    }

    void save() throws IOException {
        Files.writeString(path, text, StandardCharsets.UTF_8);
    }
}

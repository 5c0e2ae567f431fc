package io.github.mxgovernor.rules;

import io.github.mxgovernor.flowcontrol.FlowControlPolicy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.xml.XMLConstants;
import javax.xml.stream.Location;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Reads an MX rules file ({@code mx-rules.xml}) into a {@link RuleSet}.
 *
 * <pre>{@code
 * <mx-rules>
 *   <default maxConnections="10" maxMessagesPerConnection="100" messagesPerHour="unlimited"
 *            connectTimeout="60s" commandTimeout="5m" dataTimeout="10m" transactionTimeout="30m" idleTimeout="60s"
 *            scope="per-mx" tls="opportunistic"/>
 *   <rule name="google" mx="*.google.com, *.googlemail.com" scope="shared" maxConnections="5" tls="required"/>
 *   <rule name="yahoo-com" mx="*.yahoodns.net" domain="yahoo.com" messagesPerHour="20000"/>
 * </mx-rules>
 * }</pre>
 *
 * <p>At most one {@code <default>}, before the first {@code <rule>}; it overrides the built-in defaults, and every
 * {@code <rule>} inherits from it what it does not set. A {@code <rule>} needs a unique {@code name}
 * (letters, digits, {@code . _ -}; not {@code default}) and {@code mx}, one or more {@link HostMask host masks}
 * separated by commas; {@code domain} restricts it to recipient domains matching a mask. Limits:
 * {@code maxConnections} 1..10000, {@code maxMessagesPerConnection} 1..100000, {@code messagesPerHour}
 * 1..100000000 or {@code unlimited}. Timeouts ({@code connectTimeout}, {@code commandTimeout},
 * {@code dataTimeout}, {@code transactionTimeout}, {@code idleTimeout}) take a unit ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h},
 * {@code 1d}) or ISO-8601 ({@code PT5M}), more than 0 and at most 1 day. {@code scope} is {@code per-mx} or
 * {@code shared}; {@code tls} is {@code disabled}, {@code opportunistic}, {@code required} or {@code verify}
 * (both case-insensitive); {@code dane} is {@code true} or {@code false} (DANE for the rule's MX hosts, see
 * {@link MxRule#dane()}); {@code clusterScope} is {@code cluster} (the default) or {@code node} (see
 * {@link MxRule#clusterScope()}).
 *
 * <p>Flow control is set by child elements of {@code <default>} and {@code <rule>}:
 * <pre>{@code
 *   <rule name="google" mx="*.google.com" scope="shared" maxConnections="5">
 *     <backoff maxConnections="1" messagesPerHour="600" maxMessagesPerConnection="10"/>
 *     <errorRate minAttempts="20" ratio="0.5" window="5m" action="backoff" duration="15m"/>
 *     <response match="421[- ]4\.7\.28 .*unusual rate" threshold="2" window="1h" action="backoff" duration="30m"/>
 *     <recovery probes="5" halfOpen="15m"/>
 *     <adaptiveConcurrency enabled="true" decrease="0.9"/>
 *   </rule>
 * }</pre>
 * {@code <backoff>}: the limits in BACKOFF (each unset one is the rule's own; never above it).
 * {@code <errorRate>}: {@code minAttempts} 1..100000, {@code ratio} in [0, 1) (fires strictly above it),
 * {@code window} 1s..1d, or {@code enabled="false"}. {@code <response>} (any number, tried in order): {@code match}
 * a case-insensitive Java regular expression searched in {@code code text} of non-2xx replies, {@code threshold}
 * 1..10000 or {@code immediate} (1), {@code window} 1s..1d exactly when the threshold is above 1. Both take
 * {@code action} ({@code backoff}, {@code suspend}, {@code limitConnections} with {@code maxConnections},
 * {@code limitMessagesPerConnection} with {@code maxMessagesPerConnection}, {@code reconnect}) and {@code duration}
 * 1s..7d (required by {@code suspend}, refused by {@code reconnect}; a backoff without one lasts until the recovery
 * probes succeed). {@code <recovery>}: {@code probes} 0..10000, {@code halfOpen} 0s..1d. {@code
 * <adaptiveConcurrency>}: {@code enabled}, {@code decrease} in (0, 1). Each element inherits from {@code <default>}
 * what it does not set; a rule's own {@code <response>} elements replace the inherited ones as a whole. A rule that
 * could never return to normal (a backoff without duration and 0 probes) is refused. Field names in errors are
 * {@code element.attribute}, such as {@code response.match}.
 *
 * <p>The first problem stops parsing with a {@link RulesFileException} naming file, line, rule and field; a bad
 * value is never replaced by a default. DOCTYPE declarations are refused, so no external entity is ever read.
 * A parser holds no state between calls and may be shared.
 */
public final class MxRulesParser {
    static final String ROOT_ELEMENT = "mx-rules";
    static final String DEFAULT_ELEMENT = "default";
    static final String RULE_ELEMENT = "rule";

    private final MxRule baseDefault;

    /** A parser whose {@code <default>} starts from the built-in values. */
    public MxRulesParser() {
        this(MxRule.builtInDefault());
    }

    /**
     * A parser whose {@code <default>} (or, without one, the default rule) starts from {@code baseDefault}'s
     * limits and policies: the mailet passes RemoteDelivery's {@code timeout} and {@code connectiontimeout}
     * this way, and the file still has the last word.
     */
    public MxRulesParser(MxRule baseDefault) {
        this.baseDefault = Objects.requireNonNull(baseDefault, "baseDefault");
    }

    /**
     * Reads the rules file at this path.
     *
     * @throws RulesFileException if the file is missing, unreadable or empty, or its content is not a valid rules
     *         file; the message names the path as given
     */
    public RuleSet parse(Path file) throws RulesFileException {
        String name = file.toString();
        if (Files.isDirectory(file)) {
            throw new RulesFileException(name, 0, null, null, "the rules file is a directory");
        }
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new RulesFileException(name, 0, null, null, "the rules file does not exist", e);
        } catch (AccessDeniedException e) {
            throw new RulesFileException(name, 0, null, null, "the rules file cannot be read: permission denied", e);
        } catch (IOException e) {
            throw new RulesFileException(name, 0, null, null, "the rules file cannot be read: " + e, e);
        }
        return parse(content, name, baseDefault);
    }

    /**
     * Reads a rules file from a stream, which is read to its end but not closed.
     *
     * @param sourceName how errors and {@link MxRule#source()} name the file, such as {@code mx-rules.xml}
     */
    public RuleSet parse(InputStream xml, String sourceName) throws RulesFileException {
        byte[] content;
        try {
            content = xml.readAllBytes();
        } catch (IOException e) {
            throw new RulesFileException(sourceName, 0, null, null, "the rules file cannot be read: " + e, e);
        }
        return parse(content, sourceName, baseDefault);
    }

    private static RuleSet parse(byte[] content, String sourceName, MxRule baseDefault) throws RulesFileException {
        if (isBlank(content)) {
            throw new RulesFileException(sourceName, 0, null, null,
                    "the rules file is empty; it needs an <" + ROOT_ELEMENT + "> element");
        }
        return new FileReading(sourceName, baseDefault).read(content);
    }

    private static boolean isBlank(byte[] content) {
        for (byte b : content) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private static XMLInputFactory secureFactory() {
        // The JDK's own implementation, whatever else is on James's class path: its behaviour (locations,
        // DTD handling) is what the line numbers and the XXE refusal below rely on.
        XMLInputFactory factory = XMLInputFactory.newDefaultFactory();
        factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        factory.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        factory.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
        factory.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, false);
        factory.setProperty(XMLInputFactory.IS_COALESCING, true);
        return factory;
    }

    /** One pass over one file: the elements still open and what has been read so far. */
    private static final class FileReading {
        private final String sourceName;
        private final Deque<OpenElement> open = new ArrayDeque<>();
        private final MxRule baseDefault;
        private MxRule defaultRule;
        private int defaultLine;
        private int firstRuleLine;
        private final List<MxRule> rules = new ArrayList<>();
        private final Map<String, Integer> ruleLines = new HashMap<>();

        FileReading(String sourceName, MxRule baseDefault) {
            this.sourceName = sourceName;
            this.baseDefault = baseDefault;
            this.defaultRule = baseDefault;
        }

        RuleSet read(byte[] content) throws RulesFileException {
            XMLStreamReader reader = null;
            try {
                reader = secureFactory().createXMLStreamReader(new ByteArrayInputStream(content));
                open.push(new DocumentElement());
                // StAX reports where an event ends; an element starts where the event before it ended, which
                // for a start tag spread over several lines is the line an operator looks for.
                int previousEventEnd = reader.getLocation().getLineNumber();
                while (reader.hasNext()) {
                    int event = reader.next();
                    int eventEnd = reader.getLocation().getLineNumber();
                    switch (event) {
                        case XMLStreamConstants.START_ELEMENT:
                            // Whitespace before the root element is not reported, so there the end line is the
                            // better guess.
                            int line = open.size() == 1 ? eventEnd : previousEventEnd;
                            open.push(open.peek().child(reader.getLocalName(), line, attributes(reader)));
                            break;
                        case XMLStreamConstants.END_ELEMENT:
                            open.pop().close();
                            break;
                        case XMLStreamConstants.CHARACTERS:
                        case XMLStreamConstants.CDATA:
                            if (!reader.isWhiteSpace()) {
                                String text = reader.getText();
                                throw error(previousEventEnd + leadingLineBreaks(text), null, null,
                                        "unexpected text '" + abbreviate(text.trim())
                                                + "'; a rules file holds elements, attributes and comments only");
                            }
                            break;
                        case XMLStreamConstants.DTD:
                            throw error(eventEnd, null, null, "DOCTYPE declarations are not allowed in a rules file"
                                    + " (refused so that no external entity is ever read)");
                        default:
                            break;
                    }
                    previousEventEnd = eventEnd;
                }
            } catch (XMLStreamException e) {
                Location location = e.getLocation();
                throw new RulesFileException(sourceName, location == null ? 0 : Math.max(location.getLineNumber(), 0),
                        null, null, "malformed XML: " + parserMessage(e), e);
            } finally {
                closeQuietly(reader);
            }
            return new RuleSet(defaultRule, rules, Optional.of(sourceName));
        }

        private RulesFileException error(int line, String rule, String field, String detail) {
            return new RulesFileException(sourceName, line, rule, field, detail);
        }

        /** An element being read; its children are dispatched by {@link #child}. */
        private abstract class OpenElement {
            /** Opens a child element: the one place that says which elements may appear inside this one. */
            abstract OpenElement child(String element, int line, Map<String, String> attributes)
                    throws RulesFileException;

            void close() throws RulesFileException {
            }
        }

        private final class DocumentElement extends OpenElement {
            @Override
            OpenElement child(String element, int line, Map<String, String> attributes) throws RulesFileException {
                if (!element.equals(ROOT_ELEMENT)) {
                    throw error(line, null, null,
                            "the root element must be <" + ROOT_ELEMENT + ">, was <" + element + ">");
                }
                if (!attributes.isEmpty()) {
                    String name = attributes.keySet().iterator().next();
                    throw error(line, null, name, "unknown attribute; <" + ROOT_ELEMENT + "> takes no attributes");
                }
                return new RulesElement();
            }
        }

        private final class RulesElement extends OpenElement {
            @Override
            OpenElement child(String element, int line, Map<String, String> attributes) throws RulesFileException {
                switch (element) {
                    case DEFAULT_ELEMENT:
                        return openDefault(line, attributes);
                    case RULE_ELEMENT:
                        return openRule(line, attributes);
                    default:
                        throw error(line, null, null, "unknown element <" + element + ">; <" + ROOT_ELEMENT
                                + "> holds <" + DEFAULT_ELEMENT + "> and <" + RULE_ELEMENT + "> elements");
                }
            }
        }

        /**
         * A {@code <default>} or {@code <rule>}: attributes read when it opens, flow-control child elements as they
         * come, the rule built when it closes.
         */
        private final class RuleElement extends OpenElement {
            private final String element;
            private final MxRule.Builder builder;
            private final String ruleName;
            private final FlowControlElements flowControl;

            RuleElement(String element, MxRule.Builder builder, String ruleName, FlowControlPolicy inherited) {
                this.element = element;
                this.builder = builder;
                this.ruleName = ruleName;
                this.flowControl = new FlowControlElements(sourceName, inherited);
            }

            @Override
            OpenElement child(String child, int line, Map<String, String> attributes) throws RulesFileException {
                if (!FlowControlElements.ELEMENTS.contains(child)) {
                    throw error(line, ruleName, null, "unknown element <" + child + ">; <" + element + "> holds "
                            + FlowControlElements.ELEMENTS.stream().map(name -> "<" + name + ">")
                                    .collect(Collectors.joining(", ")));
                }
                try {
                    flowControl.read(child, line, attributes);
                } catch (FlowControlElements.InvalidAttribute e) {
                    throw error(e.line, ruleName, e.field, e.getMessage());
                }
                return new LeafElement(child, ruleName);
            }

            @Override
            void close() throws RulesFileException {
                try {
                    builder.flowControl(flowControl.build());
                } catch (FlowControlElements.InvalidAttribute e) {
                    throw error(e.line, ruleName, e.field, e.getMessage());
                }
                MxRule rule = builder.build();
                if (element.equals(DEFAULT_ELEMENT)) {
                    defaultRule = rule;
                } else {
                    rules.add(rule);
                }
            }
        }

        /** A flow-control element inside a rule: it holds nothing. */
        private final class LeafElement extends OpenElement {
            private final String element;
            private final String ruleName;

            LeafElement(String element, String ruleName) {
                this.element = element;
                this.ruleName = ruleName;
            }

            @Override
            OpenElement child(String child, int line, Map<String, String> attributes) throws RulesFileException {
                throw error(line, ruleName, null, "unknown element <" + child + ">; <" + element
                        + "> has no child elements");
            }
        }

        private OpenElement openDefault(int line, Map<String, String> attributes) throws RulesFileException {
            if (defaultLine > 0) {
                throw error(line, null, null, "a second <" + DEFAULT_ELEMENT + "> element; the first is at line "
                        + defaultLine);
            }
            if (firstRuleLine > 0) {
                throw error(line, null, null, "<" + DEFAULT_ELEMENT + "> must come before the first <"
                        + RULE_ELEMENT + "> (line " + firstRuleLine + ")");
            }
            defaultLine = line;
            MxRule.Builder builder = MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*")
                    .inheritFrom(baseDefault).source(sourceName + ":" + line);
            apply(RuleAttributes.DEFAULT, attributes, builder, line, MxRule.DEFAULT_RULE_NAME);
            return new RuleElement(DEFAULT_ELEMENT, builder, MxRule.DEFAULT_RULE_NAME, baseDefault.flowControl());
        }

        private OpenElement openRule(int line, Map<String, String> attributes) throws RulesFileException {
            String name = ruleName(line, attributes.get(RuleAttributes.NAME));
            MxRule.Builder builder = MxRule.builder(name).inheritFrom(defaultRule).source(sourceName + ":" + line);
            apply(RuleAttributes.RULE, attributes, builder, line, name);
            if (!attributes.containsKey(RuleAttributes.MX)) {
                throw error(line, name, RuleAttributes.MX, "missing; every <" + RULE_ELEMENT
                        + "> needs one or more MX host masks, separated by commas");
            }
            ruleLines.put(name, line);
            if (firstRuleLine == 0) {
                firstRuleLine = line;
            }
            return new RuleElement(RULE_ELEMENT, builder, name, defaultRule.flowControl());
        }

        private String ruleName(int line, String value) throws RulesFileException {
            String field = RuleAttributes.NAME;
            if (value == null) {
                throw error(line, null, field, "missing; every <" + RULE_ELEMENT + "> needs a name");
            }
            String name = value.trim();
            if (!MxRule.isValidName(name)) {
                throw error(line, null, field, MxRule.NAME_REQUIREMENT + ", was '" + value + "'");
            }
            if (name.equals(MxRule.DEFAULT_RULE_NAME)) {
                throw error(line, null, field, "'" + MxRule.DEFAULT_RULE_NAME + "' is reserved for the <"
                        + DEFAULT_ELEMENT + "> element");
            }
            Integer first = ruleLines.get(name);
            if (first != null) {
                throw error(line, name, field, "duplicate rule name; the first '" + name + "' is at line " + first);
            }
            return name;
        }

        /** Sets every attribute of a rule element on its builder; the first bad one is the error. */
        private void apply(RuleAttributes known, Map<String, String> attributes, MxRule.Builder builder, int line,
                           String rule) throws RulesFileException {
            for (Map.Entry<String, String> attribute : attributes.entrySet()) {
                try {
                    known.apply(builder, attribute.getKey(), attribute.getValue());
                } catch (RuleAttributes.InvalidValue e) {
                    throw error(line, rule, attribute.getKey(), e.getMessage());
                }
            }
        }
    }

    private static Map<String, String> attributes(XMLStreamReader reader) {
        Map<String, String> attributes = new LinkedHashMap<>();
        for (int i = 0; i < reader.getAttributeCount(); i++) {
            attributes.put(reader.getAttributeLocalName(i), reader.getAttributeValue(i));
        }
        return attributes;
    }

    /** The parser's own words, without the "ParseError at [row,col]" prefix the JDK puts before them. */
    private static String parserMessage(XMLStreamException e) {
        String message = String.valueOf(e.getMessage());
        int start = message.indexOf("Message: ");
        return start >= 0 ? message.substring(start + "Message: ".length()).trim() : message.trim();
    }

    private static int leadingLineBreaks(String text) {
        int count = 0;
        for (int i = 0; i < text.length() && Character.isWhitespace(text.charAt(i)); i++) {
            if (text.charAt(i) == '\n') {
                count++;
            }
        }
        return count;
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "…";
    }

    private static void closeQuietly(XMLStreamReader reader) {
        if (reader == null) {
            return;
        }
        try {
            reader.close();
        } catch (XMLStreamException e) {
            // The content is in memory and fully read; nothing is left to release.
        }
    }
}

package io.github.mxgovernor.james;

import static io.github.mxgovernor.james.GovernedRemoteDelivery.BIND;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.BOUNCE_PROCESSOR;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.CONNECTION_TIMEOUT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_RESOLVER;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_TIMEOUT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_TRUST_ANCHORS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DEBUG;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DELAY_TIME;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DELIVERY_THREADS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.GATEWAY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.GATEWAY_PASSWORD;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.GATEWAY_PORT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.GATEWAY_USERNAME;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.GATEWAY_USERNAME_COMPATIBILITY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.HELO_NAME;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.JAVAX_PREFIX;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.LANE_CAPACITY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.LOAD_BALANCING;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.LOCAL_DEFERRAL_DELAY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.LOOKUP_THREADS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MAX_AGE;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MAX_DNS_PROBLEM_RETRIES;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MAX_IN_FLIGHT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MAX_LANE_WAIT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MAX_RETRIES;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MTA_STS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.MTA_STS_TIMEOUT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.ON_SUCCESS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.OUTGOING;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.OUTGOING_QUEUE_ALIAS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.RULES;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.SEND_PARTIAL;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.SHUTDOWN_GRACE;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.SSL_ENABLE;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.START_TLS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TIMEOUT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TLS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TLS_FALLBACK_MEMORY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.USE_PRIORITY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.VERIFY_SERVER_IDENTITY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.WAITING_RELEASE_RATE;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.WAITING_REPOSITORY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.WAITING_THRESHOLD;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.delivery.EngineSettings;
import io.github.mxgovernor.delivery.RetrySchedule;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.tls.TlsMode;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import javax.mail.MessagingException;

import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.mailet.MailetConfig;
import org.apache.mailet.ProcessingState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The governed mailet's parameters read into settings, once, at start-up: every bad value stops the start with the
 * parameter and the value named, and every default is declared here. The TLS parameters are read by
 * {@link TlsConfiguration}. What each parameter means is documented on {@link GovernedRemoteDelivery}.
 */
final class DeliveryConfiguration {
    static final String DEFAULT_OUTGOING = "outgoing";
    static final int DEFAULT_MAX_IN_FLIGHT = 512;
    static final int DEFAULT_MAX_DNS_PROBLEM_RETRIES = 0;
    static final Duration DEFAULT_MAX_AGE = Duration.ofDays(5);
    static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    static final boolean DEFAULT_SEND_PARTIAL = false;
    static final boolean DEFAULT_LOAD_BALANCING = true;
    static final boolean DEFAULT_MTA_STS = true;
    static final Duration DEFAULT_MTA_STS_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryConfiguration.class);
    private static final Set<String> KNOWN = known(OUTGOING, DELAY_TIME, MAX_RETRIES, MAX_DNS_PROBLEM_RETRIES, TIMEOUT,
        CONNECTION_TIMEOUT, BOUNCE_PROCESSOR, ON_SUCCESS, HELO_NAME, BIND, SEND_PARTIAL, GATEWAY, GATEWAY_PORT,
        GATEWAY_USERNAME, GATEWAY_USERNAME_COMPATIBILITY, GATEWAY_PASSWORD, LOAD_BALANCING, USE_PRIORITY, DEBUG,
        START_TLS, SSL_ENABLE, VERIFY_SERVER_IDENTITY, RULES, DELIVERY_THREADS, MAX_IN_FLIGHT, MAX_LANE_WAIT,
        LANE_CAPACITY, LOOKUP_THREADS, LOCAL_DEFERRAL_DELAY, MAX_AGE, OUTGOING_QUEUE_ALIAS, TLS, TLS_FALLBACK_MEMORY,
        GovernedRemoteDelivery.TRUST_STORE, GovernedRemoteDelivery.TRUST_STORE_PASSWORD,
        GovernedRemoteDelivery.TRUST_STORE_TYPE, MTA_STS, MTA_STS_TIMEOUT, DANE_RESOLVER, DANE_TRUST_ANCHORS,
        DANE_TIMEOUT, SHUTDOWN_GRACE, WAITING_REPOSITORY, WAITING_THRESHOLD, WAITING_RELEASE_RATE, "onMailetException",
        "onMatchException");

    private static Set<String> known(String... names) {
        Set<String> known = new HashSet<>(List.of(names));
        known.addAll(StoreConfiguration.PARAMETERS);
        return Set.copyOf(known);
    }

    private final String outgoingQueue;
    private final RetrySchedule retrySchedule;
    private final Duration maxAge;
    private final Optional<Path> rulesFile;
    private final MxRulesParser parser;
    private final RuleSet rules;
    private final int maxInFlight;
    private final EngineSettings engineSettings;
    private final List<String> gateways;
    private final boolean loadBalancing;
    private final TlsConfiguration tls;
    private final boolean mtaSts;
    private final Duration mtaStsTimeout;
    private final boolean sendPartial;
    private final boolean usePriority;
    private final boolean debug;
    private final int maxDnsProblemRetries;
    private final Optional<ProcessingState> bounceProcessor;
    private final Optional<ProcessingState> onSuccess;
    private final Duration shutdownGrace;
    private final WaitingSettings waiting;
    private final Optional<StoreSettings> store;

    private DeliveryConfiguration(MailetParameters parameters, MailetConfig config, FileSystem fileSystem,
                                  Supplier<String> defaultHeloName, Clock clock) throws MessagingException {
        parameters.refuseTrue(SSL_ENABLE, "implicit TLS (SMTPS) is not supported; TLS is set per MX rule with the"
            + " 'tls' attribute of the rules file");
        parameters.javaxProperties().forEach(name -> LOGGER.warn(
            "Parameter {} is ignored: mx-governor's SMTP client does not use javax.mail properties", name));
        parameters.optionalBoolean(START_TLS).ifPresent(value -> LOGGER.info(
            "Parameter {}={} noted: STARTTLS is decided per MX rule by the 'tls' attribute of the rules file (and"
                + " the '{}' parameter for rules that set none)", START_TLS, value, TLS));
        parameters.optionalBoolean(VERIFY_SERVER_IDENTITY);

        debug = parameters.optionalBoolean(DEBUG).orElse(false);
        usePriority = parameters.optionalBoolean(USE_PRIORITY).orElse(false);
        sendPartial = parameters.optionalBoolean(SEND_PARTIAL).orElse(DEFAULT_SEND_PARTIAL);
        maxDnsProblemRetries = parameters.optionalInt(MAX_DNS_PROBLEM_RETRIES, 0, 1000)
            .orElse(DEFAULT_MAX_DNS_PROBLEM_RETRIES);
        bounceProcessor = parameters.optionalString(BOUNCE_PROCESSOR).map(ProcessingState::new);
        onSuccess = parameters.optionalString(ON_SUCCESS).map(ProcessingState::new);
        retrySchedule = parameters.parse(DELAY_TIME + "/" + MAX_RETRIES, () -> RetrySchedule.parse(
            parameters.optionalString(DELAY_TIME), parameters.optionalString(MAX_RETRIES)));
        maxAge = parameters.optionalDuration(MAX_AGE).orElse(DEFAULT_MAX_AGE);
        shutdownGrace = parameters.optionalDuration(SHUTDOWN_GRACE).orElse(DEFAULT_SHUTDOWN_GRACE);

        MxRule baseDefault = baseDefaultRule(parameters);
        parser = new MxRulesParser(baseDefault);
        rulesFile = rulesFile(parameters, fileSystem);
        rules = readRules(parser, rulesFile, baseDefault);
        maxInFlight = parameters.optionalInt(MAX_IN_FLIGHT, 1, 100_000).orElse(DEFAULT_MAX_IN_FLIGHT);
        gateways = gateways(parameters);
        loadBalancing = parameters.optionalBoolean(LOAD_BALANCING).orElse(DEFAULT_LOAD_BALANCING);
        engineSettings = engineSettings(parameters, config, defaultHeloName);
        tls = TlsConfiguration.read(parameters, config, fileSystem, clock);
        mtaSts = parameters.optionalBoolean(MTA_STS).orElse(DEFAULT_MTA_STS) && gateways.isEmpty();
        mtaStsTimeout = parameters.optionalDuration(MTA_STS_TIMEOUT).orElse(DEFAULT_MTA_STS_TIMEOUT);
        outgoingQueue = outgoingQueueName(parameters);
        waiting = waitingSettings(parameters);
        store = StoreConfiguration.read(parameters, parameters.optionalString(GovernedRemoteDelivery.TRUST_STORE)
            .map(given -> tls.trust()));
        if (store.isEmpty() && (rules.defaultRule().clusterScope() == ClusterScope.NODE
            || rules.rules().stream().anyMatch(rule -> rule.clusterScope() == ClusterScope.NODE))) {
            LOGGER.info("Rules with clusterScope=\"node\" noted: without the '{}' parameter every limit is this node's"
                + " own anyway", StoreSettings.STORE);
        }
    }

    /**
     * Reads a governed mailet's parameters.
     *
     * @param defaultHeloName the EHLO name when {@code heloName} is not given (James's default domain)
     * @param clock           the clock DANE validation checks signatures against
     * @throws MessagingException naming the first unknown parameter or bad value
     */
    static DeliveryConfiguration read(MailetConfig config, FileSystem fileSystem, Supplier<String> defaultHeloName,
                                      Clock clock) throws MessagingException {
        return new DeliveryConfiguration(new MailetParameters(config, KNOWN, JAVAX_PREFIX), config, fileSystem,
            defaultHeloName, clock);
    }

    /** The outgoing queue's name ({@code outgoing}, or its synonym {@code outgoingQueue}). */
    String outgoingQueue() {
        return outgoingQueue;
    }

    RetrySchedule retrySchedule() {
        return retrySchedule;
    }

    Duration maxAge() {
        return maxAge;
    }

    /** The rules file; empty for the built-in default rule alone. */
    Optional<Path> rulesFile() {
        return rulesFile;
    }

    /** The parser that reads the rules file again for a reload, with the mailet's base default rule. */
    MxRulesParser parser() {
        return parser;
    }

    RuleSet rules() {
        return rules;
    }

    int maxInFlight() {
        return maxInFlight;
    }

    EngineSettings engineSettings() {
        return engineSettings;
    }

    /** {@code host[:port]} entries; empty to deliver to the recipients' MX hosts. */
    List<String> gateways() {
        return gateways;
    }

    boolean loadBalancing() {
        return loadBalancing;
    }

    TlsConfiguration tls() {
        return tls;
    }

    /** Whether recipient domains' MTA-STS policies are looked up (never with gateways). */
    boolean mtaSts() {
        return mtaSts;
    }

    Duration mtaStsTimeout() {
        return mtaStsTimeout;
    }

    boolean sendPartial() {
        return sendPartial;
    }

    boolean usePriority() {
        return usePriority;
    }

    boolean debug() {
        return debug;
    }

    int maxDnsProblemRetries() {
        return maxDnsProblemRetries;
    }

    Optional<ProcessingState> bounceProcessor() {
        return bounceProcessor;
    }

    Optional<ProcessingState> onSuccess() {
        return onSuccess;
    }

    /** How long transactions in progress may go on once the mailet is destroyed. */
    Duration shutdownGrace() {
        return shutdownGrace;
    }

    /** Where deferred mail waits: {@code waitingRepository}, {@code waitingThreshold}, {@code waitingReleaseRate}. */
    WaitingSettings waiting() {
        return waiting;
    }

    /** The cluster store the James nodes share ({@code store} and its companions); empty for a node on its own. */
    Optional<StoreSettings> store() {
        return store;
    }

    private static WaitingSettings waitingSettings(MailetParameters parameters) throws MessagingException {
        Duration threshold = parameters.optionalDuration(WAITING_THRESHOLD).orElse(WaitingSettings.DEFAULT_THRESHOLD);
        if (threshold.compareTo(WaitingSettings.MAX_THRESHOLD) > 0) {
            throw new MessagingException("Invalid mailet parameter " + WAITING_THRESHOLD + ": expected a duration of at"
                + " most 30d, was '" + parameters.optionalString(WAITING_THRESHOLD).orElse("") + "'");
        }
        int rate = parameters.optionalInt(WAITING_RELEASE_RATE, 1, WaitingSettings.MAX_RELEASE_RATE)
            .orElse(WaitingSettings.DEFAULT_RELEASE_RATE);
        Optional<String> repository = parameters.optionalString(WAITING_REPOSITORY);
        if (repository.isPresent() && repository.get().equalsIgnoreCase(WaitingSettings.OFF)) {
            return WaitingSettings.off();
        }
        if (repository.isPresent()) {
            String url = repository.get();
            boolean valid;
            try {
                MailRepositoryUrl parsed = MailRepositoryUrl.from(url);
                valid = !parsed.getProtocol().getValue().isBlank() && !parsed.getPath().asString().isBlank();
            } catch (IllegalArgumentException e) {
                valid = false;
            }
            if (!valid) {
                throw new MessagingException("Invalid mailet parameter " + WAITING_REPOSITORY + ": expected a mail"
                    + " repository URL <protocol>://<path> such as memory://" + WaitingSettings.DEFAULT_PATH
                    + ", or " + WaitingSettings.OFF + ", was '" + url + "'");
            }
        }
        return WaitingSettings.on(repository, threshold, rate);
    }

    private static String outgoingQueueName(MailetParameters parameters) throws MessagingException {
        Optional<String> outgoing = parameters.optionalString(OUTGOING);
        Optional<String> alias = parameters.optionalString(OUTGOING_QUEUE_ALIAS);
        if (outgoing.isPresent() && alias.isPresent() && !outgoing.equals(alias)) {
            throw new MessagingException("Mailet parameters " + OUTGOING + " and " + OUTGOING_QUEUE_ALIAS
                + " name different queues ('" + outgoing.get() + "' and '" + alias.get() + "'): keep one");
        }
        return outgoing.or(() -> alias).orElse(DEFAULT_OUTGOING);
    }

    private static Optional<Path> rulesFile(MailetParameters parameters, FileSystem fileSystem)
            throws MessagingException {
        Optional<String> location = parameters.optionalString(RULES);
        if (location.isEmpty()) {
            LOGGER.info("No '{}' parameter: every MX host gets the default rule", RULES);
            return Optional.empty();
        }
        return Optional.of(TlsConfiguration.file(fileSystem, location.get(), "MX rules file").toPath());
    }

    private static RuleSet readRules(MxRulesParser parser, Optional<Path> file, MxRule baseDefault)
            throws MessagingException {
        if (file.isEmpty()) {
            return RuleSet.of(baseDefault, List.of());
        }
        try {
            return parser.parse(file.get());
        } catch (RulesFileException e) {
            throw new MessagingException("Invalid MX rules file: " + e.getMessage(), e);
        }
    }

    /**
     * The built-in default rule with RemoteDelivery's {@code connectiontimeout} and {@code timeout} applied, and our
     * {@code tls}: the rules file's {@code <default>} starts from it, and every rule inherits what it does not set.
     */
    private static MxRule baseDefaultRule(MailetParameters parameters) throws MessagingException {
        MxRule.Builder builder = MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*");
        Optional<String> tls = parameters.optionalString(TLS);
        if (tls.isPresent()) {
            builder.tlsMode(tlsMode(tls.get()));
        }
        Optional<Duration> connectTimeout = parameters.optionalMillis(CONNECTION_TIMEOUT);
        Optional<Duration> smtpTimeout = parameters.optionalMillis(TIMEOUT);
        parameters.parse(CONNECTION_TIMEOUT, () -> connectTimeout.map(builder::connectTimeout));
        parameters.parse(TIMEOUT, () -> smtpTimeout.map(timeout -> builder.commandTimeout(timeout)
            .dataTimeout(timeout)));
        return builder.build();
    }

    private static TlsMode tlsMode(String value) throws MessagingException {
        for (TlsMode mode : TlsMode.values()) {
            if (mode.name().equalsIgnoreCase(value)) {
                return mode;
            }
        }
        throw new MessagingException("Invalid mailet parameter " + TLS + ": expected disabled, opportunistic, required"
            + " or verify, was '" + value + "'");
    }

    private EngineSettings engineSettings(MailetParameters parameters, MailetConfig config,
                                          Supplier<String> defaultHeloName) throws MessagingException {
        EngineSettings.Builder builder = EngineSettings.builder();
        String heloName = parameters.optionalString(HELO_NAME).orElseGet(defaultHeloName);
        parameters.parse(HELO_NAME, () -> builder.heloName(heloName));
        Optional<String> bind = parameters.optionalString(BIND);
        if (bind.isPresent()) {
            try {
                builder.bindAddress(Optional.of(InetAddress.getByName(bind.get())));
            } catch (UnknownHostException e) {
                throw new MessagingException("Invalid mailet parameter " + BIND + ": unknown address '" + bind.get()
                    + "'");
            }
        }
        parameters.optionalInt(DELIVERY_THREADS, 1, 10_000).ifPresent(builder::deliveryThreads);
        // One destination's backlog may hold at most a quarter of the mails in flight, so a capped or throttled
        // destination never starves the others of queue slots; its surplus is deferred at once.
        builder.laneCapacity(parameters.optionalInt(LANE_CAPACITY, 1, 10_000_000)
            .orElse(Math.max(1, maxInFlight / 4)));
        parameters.optionalInt(LOOKUP_THREADS, 1, 1000).ifPresent(builder::lookupThreads);
        parameters.optionalDuration(MAX_LANE_WAIT).ifPresent(builder::maxLaneWait);
        parameters.optionalDuration(LOCAL_DEFERRAL_DELAY).ifPresent(builder::localDeferralDelay);
        builder.gatewayCredentials(gatewayCredentials(parameters, config));
        builder.retrySchedule(retrySchedule).maxAge(maxAge);
        return builder.build();
    }

    /** RemoteDelivery's gateway AUTH parameters; the password is taken as written, spaces included. */
    private static Optional<SmtpCredentials> gatewayCredentials(MailetParameters parameters, MailetConfig config)
            throws MessagingException {
        Optional<String> username = parameters.optionalString(GATEWAY_USERNAME)
            .or(() -> parameters.optionalString(GATEWAY_USERNAME_COMPATIBILITY));
        String password = config.getInitParameter(GATEWAY_PASSWORD);
        if (username.isEmpty()) {
            if (password != null) {
                throw new MessagingException("Invalid mailet parameter " + GATEWAY_PASSWORD + ": it needs "
                    + GATEWAY_USERNAME);
            }
            return Optional.empty();
        }
        if (parameters.optionalString(GATEWAY).isEmpty()) {
            throw new MessagingException("Invalid mailet parameter " + GATEWAY_USERNAME + ": it needs " + GATEWAY
                + " (SMTP AUTH is only used with gateways)");
        }
        if (password == null) {
            throw new MessagingException("Invalid mailet parameter " + GATEWAY_USERNAME + ": it needs "
                + GATEWAY_PASSWORD);
        }
        try {
            return Optional.of(new SmtpCredentials(username.get(), password));
        } catch (IllegalArgumentException e) {
            throw new MessagingException("Invalid mailet parameter " + GATEWAY_USERNAME + "/" + GATEWAY_PASSWORD
                + ": " + e.getMessage());
        }
    }

    private static List<String> gateways(MailetParameters parameters) throws MessagingException {
        Optional<String> gateway = parameters.optionalString(GATEWAY);
        Optional<Integer> gatewayPort = parameters.optionalInt(GATEWAY_PORT, 1, 65535);
        if (gateway.isEmpty()) {
            if (gatewayPort.isPresent()) {
                throw new MessagingException("Invalid mailet parameter " + GATEWAY_PORT + ": it needs " + GATEWAY);
            }
            return List.of();
        }
        List<String> entries = new ArrayList<>();
        for (String entry : gateway.get().split(",")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            entries.add(trimmed.contains(":") || gatewayPort.isEmpty() ? trimmed : trimmed + ":" + gatewayPort.get());
        }
        if (entries.isEmpty()) {
            throw new MessagingException("Invalid mailet parameter " + GATEWAY + ": no host in '" + gateway.get() + "'");
        }
        return List.copyOf(entries);
    }

    /** For the start-up log line. */
    @Override
    public String toString() {
        return "queue " + outgoingQueue + ", " + rules.rules().size() + " MX rules"
            + rules.source().map(source -> " from " + source).orElse(" (built-in default only)") + ", " + retrySchedule
            + ", maxAge " + maxAge + ", maxInFlight " + maxInFlight + ", shutdownGrace " + shutdownGrace
            + (gateways.isEmpty() ? "" : ", gateways " + gateways) + "; TLS: default rule "
            + rules.defaultRule().tlsMode().name().toLowerCase(Locale.ROOT) + ", MTA-STS "
            + (mtaSts ? "on" : gateways.isEmpty() ? "off" : "off (gateways)") + ", " + tls + ", plaintext fallback"
            + " memory " + tls.fallbackMemory() + "; " + waiting
            + store.map(settings -> "; cluster store " + settings).orElse("");
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.delivery.DeliveryEngine;
import io.github.mxgovernor.delivery.EngineThreads;
import io.github.mxgovernor.delivery.DeliveryPart;
import io.github.mxgovernor.delivery.EngineSettings;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.delivery.ReplyClassifier;
import io.github.mxgovernor.delivery.RetryPolicy;
import io.github.mxgovernor.delivery.RetrySchedule;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;
import io.github.mxgovernor.smtp.SmtpCredentials;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.BlockingSessionBridge;
import io.github.mxgovernor.smtp.SocketSmtpSessionFactory;
import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.dane.TlsaDaneLookup;
import io.github.mxgovernor.tls.dane.ValidatingTlsaLookup;
import io.github.mxgovernor.tls.HttpsPolicyFetcher;
import io.github.mxgovernor.tls.MtaStsPolicyCache;
import io.github.mxgovernor.tls.PlaintextFallbacks;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsReport;
import io.github.mxgovernor.tls.TlsTrust;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.Domain;
import org.apache.james.core.MailAddress;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.metrics.api.TimeMetric;
import org.apache.james.queue.api.MailPrioritySupport;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.ProcessingState;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.common.collect.ImmutableList;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Governed remote delivery: a drop-in replacement for James's {@code RemoteDelivery} that delivers under
 * per-MX rules (connection quotas, messages per connection, messages per hour) and records why a mail waits.
 *
 * <p>Like RemoteDelivery, {@link #service(Mail)} puts the mail on the outgoing queue and ghosts it; delivery
 * threads take mails from that queue, split them by recipient domain, and hand each part to the
 * {@link DeliveryEngine}. A queue item is acknowledged only once every recipient is delivered, deferred
 * (re-enqueued with a delay and the {@code mxgovernor.deferral} record) or bounced.
 *
 * <p>RemoteDelivery's parameters, with the same meaning: {@code outgoing} (queue name, default
 * {@code outgoing}), {@code delayTime}, {@code maxRetries}, {@code maxDnsProblemRetries} (default 0),
 * {@code timeout} (ms, SMTP reply timeout; applies to rules that set none), {@code connectiontimeout} (ms,
 * likewise), {@code bounceProcessor}, {@code onSuccess}, {@code heloName} (default: the default domain),
 * {@code bind}, {@code sendpartial} (default false), {@code gateway} (comma-separated {@code host[:port]}),
 * {@code gatewayPort}, {@code loadBalancing} (default true), {@code usePriority}, {@code debug},
 * {@code startTLS} and {@code verifyServerIdentity} (accepted; TLS is decided per rule, see below),
 * {@code mail.*} (accepted and logged: our SMTP client does not use javax.mail), and {@code outgoingQueue}
 * (found in James's sample configurations; read as {@code outgoing}), {@code gatewayUsername} (or
 * {@code gatewayusername}) and {@code gatewayPassword} (SMTP AUTH PLAIN or LOGIN to the gateways; they need
 * {@code gateway}, and the credentials are only ever sent over TLS, so give the gateways an MX rule with
 * {@code tls} REQUIRED or VERIFY: a gateway session without TLS fails and the mail is deferred).
 * {@code sslEnable=true} is refused at start-up: implicit TLS is not supported.
 *
 * <p>Ours: {@code rules} (the MX rules file: a path or a James file URI such as
 * {@code file://conf/mx-rules.xml}; built-in default rule when absent), {@code deliveryThreads} (threads
 * driving SMTP sessions, default 64), {@code maxInFlight} (mails taken from the queue at once, default 512),
 * {@code maxLaneWait} (how long a mail waits for a connection or token before a local deferral, default
 * 30 seconds), {@code laneCapacity} (mails one destination holds waiting, default a quarter of {@code maxInFlight}; beyond,
 * its mails are deferred at once so that one slow destination never takes every queue slot),
 * {@code localDeferralDelay} (base delay of a quota deferral, jittered, default 10 seconds), {@code maxAge}
 * (how long a mail may keep being deferred after its first deferral, default 5 days).
 *
 * <p>TLS: {@code tls} ({@code disabled}, {@code opportunistic}, {@code required}, {@code verify}; default
 * {@code opportunistic}) is the mode of every MX rule that sets none, the rules file's {@code <default>} included;
 * {@code tlsFallbackMemory} (default 1 hour) is how long a server whose opportunistic TLS handshake failed gets
 * plaintext at once; {@code trustStore} (a path or a James file URI), {@code trustStorePassword} and
 * {@code trustStoreType} (default {@code PKCS12}) replace the JDK's default trust anchors for {@code verify} and
 * for MTA-STS; {@code mtaSts} (default true; off with {@code gateway}) looks up recipient domains' MTA-STS policies,
 * each fetch limited by {@code mtaStsTimeout} (default 10 seconds). Rules with {@code dane="true"} look up TLSA
 * records through mx-governor's own DNSSEC-validating resolver: {@code daneResolver} is the name server it asks
 * ({@code host}, {@code host:port} or {@code [IPv6]:port}; default the system's first name server; it must pass
 * DNSSEC records along, it need not validate), {@code daneTrustAnchors} a file of DS or DNSKEY records in zone-file
 * form to validate from (a path or a James file URI; default the root zone's keys), {@code daneTimeout} the time one
 * lookup may take (default 10 seconds). A mail whose {@code REQUIRETLS} attribute is
 * true goes only over verified TLS. Each {@code onSuccess} copy holds the recipients one session delivered, with the
 * {@code mxgovernor.tls} attribute: a map of strings described at {@link TlsReport#fields()}.
 * Any other parameter is an error.
 *
 * <p>Operators watch and steer delivery over JMX ({@code io.github.mxgovernor:type=Governor} and one
 * {@code type=Destination} bean per active destination; {@code reloadRules} re-reads the {@code rules} file of every
 * governed mailet). Outcomes are also counted in James's metrics, see {@link DeliveryMetrics}. Mail deferred by
 * flow control waits for its destination's backoff or suspension to end; once an operator resumes the destination,
 * it goes as soon as the queue hands it back (flush the queue's delayed mail to send it at once).
 */
public class GovernedRemoteDelivery extends GenericMailet {
    public static final String OUTGOING = "outgoing";
    /** Not a RemoteDelivery parameter (it ignores it), but James's sample configurations carry it. */
    public static final String OUTGOING_QUEUE_ALIAS = "outgoingQueue";
    public static final String DELAY_TIME = "delayTime";
    public static final String MAX_RETRIES = "maxRetries";
    public static final String MAX_DNS_PROBLEM_RETRIES = "maxDnsProblemRetries";
    public static final String TIMEOUT = "timeout";
    public static final String CONNECTION_TIMEOUT = "connectiontimeout";
    public static final String BOUNCE_PROCESSOR = "bounceProcessor";
    public static final String ON_SUCCESS = "onSuccess";
    public static final String HELO_NAME = "heloName";
    public static final String BIND = "bind";
    public static final String SEND_PARTIAL = "sendpartial";
    public static final String GATEWAY = "gateway";
    public static final String GATEWAY_PORT = "gatewayPort";
    public static final String GATEWAY_USERNAME = "gatewayUsername";
    public static final String GATEWAY_USERNAME_COMPATIBILITY = "gatewayusername";
    public static final String GATEWAY_PASSWORD = "gatewayPassword";
    public static final String LOAD_BALANCING = "loadBalancing";
    public static final String USE_PRIORITY = "usePriority";
    public static final String DEBUG = "debug";
    public static final String START_TLS = "startTLS";
    public static final String SSL_ENABLE = "sslEnable";
    public static final String VERIFY_SERVER_IDENTITY = "verifyServerIdentity";
    public static final String JAVAX_PREFIX = "mail.";
    public static final String RULES = "rules";
    public static final String DELIVERY_THREADS = "deliveryThreads";
    public static final String MAX_IN_FLIGHT = "maxInFlight";
    public static final String MAX_LANE_WAIT = "maxLaneWait";
    public static final String LANE_CAPACITY = "laneCapacity";
    public static final String LOCAL_DEFERRAL_DELAY = "localDeferralDelay";
    public static final String MAX_AGE = "maxAge";
    public static final String TLS = "tls";
    public static final String TLS_FALLBACK_MEMORY = "tlsFallbackMemory";
    public static final String TRUST_STORE = "trustStore";
    public static final String TRUST_STORE_PASSWORD = "trustStorePassword";
    public static final String TRUST_STORE_TYPE = "trustStoreType";
    public static final String MTA_STS = "mtaSts";
    public static final String MTA_STS_TIMEOUT = "mtaStsTimeout";
    public static final String DANE_RESOLVER = "daneResolver";
    public static final String DANE_TRUST_ANCHORS = "daneTrustAnchors";
    public static final String DANE_TIMEOUT = "daneTimeout";

    /** RemoteDelivery's bounce attributes, read by James's {@code DSNBounce}. */
    public static final AttributeName DELIVERY_ERROR = AttributeName.of("delivery-error");
    public static final AttributeName DELIVERY_ERROR_CODE = AttributeName.of("delivery-error-code");
    public static final AttributeName IS_DELIVERY_PERMANENT_ERROR = AttributeName.of("is-delivery-permanent-error");
    /**
     * The REQUIRETLS mark (RFC 8689) James's SMTP server puts on a mail whose sender asked for it (Boolean true),
     * under the name James's own RemoteDelivery reads.
     */
    public static final AttributeName REQUIRE_TLS = AttributeName.of("REQUIRETLS");
    /** How a delivered mail travelled (see {@link TlsReport#fields()}): set on the {@code onSuccess} copies. */
    public static final AttributeName TLS_REPORT = AttributeName.of("mxgovernor.tls");

    private static final Set<String> KNOWN_PARAMETERS = Set.of(OUTGOING, DELAY_TIME, MAX_RETRIES,
        MAX_DNS_PROBLEM_RETRIES, TIMEOUT, CONNECTION_TIMEOUT, BOUNCE_PROCESSOR, ON_SUCCESS, HELO_NAME, BIND,
        SEND_PARTIAL, GATEWAY, GATEWAY_PORT, GATEWAY_USERNAME, GATEWAY_USERNAME_COMPATIBILITY, GATEWAY_PASSWORD,
        LOAD_BALANCING, USE_PRIORITY, DEBUG, START_TLS, SSL_ENABLE, VERIFY_SERVER_IDENTITY, RULES,
        DELIVERY_THREADS, MAX_IN_FLIGHT, MAX_LANE_WAIT, LANE_CAPACITY, LOCAL_DEFERRAL_DELAY, MAX_AGE,
        OUTGOING_QUEUE_ALIAS, TLS, TLS_FALLBACK_MEMORY, TRUST_STORE, TRUST_STORE_PASSWORD, TRUST_STORE_TYPE, MTA_STS,
        MTA_STS_TIMEOUT, DANE_RESOLVER, DANE_TRUST_ANCHORS, DANE_TIMEOUT, "onMailetException", "onMatchException");
    private static final Duration MTA_STS_RECHECK = Duration.ofMinutes(5);
    private static final int MTA_STS_DOMAINS = 100_000;
    private static final Logger LOGGER = LoggerFactory.getLogger(GovernedRemoteDelivery.class);
    private static final Duration EARLY_TOLERANCE = Duration.ofSeconds(1);
    private static final int DEFAULT_MAX_IN_FLIGHT = 512;
    private static final int DNS_PORT = 53;

    private final DNSService dns;
    private final DomainList domainList;
    private final MailQueueFactory<?> queueFactory;
    private final FileSystem fileSystem;
    private final MetricFactory metricFactory;
    private final Clock clock;

    private MailQueue queue;
    private DeliveryEngine engine;
    private Governor governor;
    private DeliveryMetrics metrics;
    private RulesSource rulesSource;
    private RetryPolicy retryPolicy;
    private Disposable dequeueing;
    private Scheduler dequeueScheduler;
    private ExecutorService dispositions;
    private ScheduledExecutorService mtaStsThreads;
    private EngineThreads engineThreads;
    private ExecutorService sessionThreads;
    private Optional<ProcessingState> bounceProcessor = Optional.empty();
    private Optional<ProcessingState> onSuccess = Optional.empty();
    private boolean sendPartial;
    private boolean usePriority;
    private boolean debug;
    private int maxDnsProblemRetries;
    private boolean governorAcquired;
    private DaneLookup daneLookup;

    @Inject
    public GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                                  FileSystem fileSystem, MetricFactory metricFactory) {
        this(dns, domainList, queueFactory, fileSystem, metricFactory, Clock.systemUTC());
    }

    GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                           FileSystem fileSystem, MetricFactory metricFactory, Clock clock) {
        this.dns = dns;
        this.domainList = domainList;
        this.queueFactory = queueFactory;
        this.fileSystem = fileSystem;
        this.metricFactory = metricFactory;
        this.clock = clock;
    }

    @Override
    public void init() throws MessagingException {
        MailetParameters parameters = new MailetParameters(getMailetConfig(), KNOWN_PARAMETERS, JAVAX_PREFIX);
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
        sendPartial = parameters.optionalBoolean(SEND_PARTIAL).orElse(false);
        maxDnsProblemRetries = parameters.optionalInt(MAX_DNS_PROBLEM_RETRIES, 0, 1000).orElse(0);
        bounceProcessor = parameters.optionalString(BOUNCE_PROCESSOR).map(ProcessingState::new);
        onSuccess = parameters.optionalString(ON_SUCCESS).map(ProcessingState::new);
        RetrySchedule schedule = parameters.parse(DELAY_TIME + "/" + MAX_RETRIES, () -> RetrySchedule.parse(
            parameters.optionalString(DELAY_TIME), parameters.optionalString(MAX_RETRIES)));
        Duration maxAge = parameters.optionalDuration(MAX_AGE).orElse(Duration.ofDays(5));
        retryPolicy = new RetryPolicy(schedule, maxAge, clock);

        MxRule baseDefault = baseDefaultRule(parameters);
        MxRulesParser parser = new MxRulesParser(baseDefault);
        Optional<Path> rulesFile = rulesFile(parameters);
        RuleSet rules = readRules(parser, rulesFile, baseDefault);
        int maxInFlight = parameters.optionalInt(MAX_IN_FLIGHT, 1, 100_000).orElse(DEFAULT_MAX_IN_FLIGHT);
        EngineSettings settings = engineSettings(parameters, maxInFlight);
        List<String> gateways = gateways(parameters);

        TlsTrust trust = trust(parameters);
        Duration fallbackMemory = parameters.optionalDuration(TLS_FALLBACK_MEMORY)
            .orElse(TlsPolicyResolver.DEFAULT_PLAINTEXT_FALLBACK_MEMORY);
        boolean mtaSts = parameters.optionalBoolean(MTA_STS).orElse(true);
        Duration mtaStsTimeout = parameters.optionalDuration(MTA_STS_TIMEOUT).orElse(Duration.ofSeconds(10));
        daneLookup = dane(daneResolver(parameters));
        engineThreads = EngineThreads.start(settings);
        TlsPolicyResolver tlsPolicy = tlsPolicy(trust, fallbackMemory, mtaSts && gateways.isEmpty(), mtaStsTimeout);

        queue = queueFactory.createQueue(MailQueueName.of(outgoingQueueName(parameters)));
        governor = SharedGovernor.acquire();
        governorAcquired = true;
        // Until the non-blocking sessions land: today's socket sessions, each call on a thread of its own.
        sessionThreads = Executors.newCachedThreadPool(new DaemonThreadFactory("mx-governor-smtp"));
        engine = new DeliveryEngine(governor, rules, new JamesMxResolver(dns, gateways,
            parameters.optionalBoolean(LOAD_BALANCING).orElse(true)), new BlockingSessionBridge(
                new SocketSmtpSessionFactory(trust.trustManager()), sessionThreads), new ReplyClassifier(), settings,
            tlsPolicy, engineThreads);
        rulesSource = new RulesSource(rulesFile, parser, engine::useRules);
        SharedGovernor.addRulesSource(rulesSource);
        metrics = new DeliveryMetrics(metricFactory, governor.totals());
        dispositions = Executors.newFixedThreadPool(4, new DaemonThreadFactory("mx-governor-disposition"));
        startDequeueing(maxInFlight);
        LOGGER.info("Governed remote delivery started: queue {}, {} MX rules{}, {}; TLS: default rule {}, MTA-STS {},"
                + " certificates verified against {}, DANE resolver {}", queue.getName().asString(),
            rules.rules().size(), rules.source().map(source -> " from " + source).orElse(" (built-in default only)"),
            schedule, rules.defaultRule().tlsMode().name().toLowerCase(Locale.ROOT),
            tlsPolicy.usesMtaSts() ? "on" : gateways.isEmpty() ? "off" : "off (gateways)", trust, daneLookup);
    }

    private static String outgoingQueueName(MailetParameters parameters) throws MessagingException {
        Optional<String> outgoing = parameters.optionalString(OUTGOING);
        Optional<String> alias = parameters.optionalString(OUTGOING_QUEUE_ALIAS);
        if (outgoing.isPresent() && alias.isPresent() && !outgoing.equals(alias)) {
            throw new MessagingException("Mailet parameters " + OUTGOING + " and " + OUTGOING_QUEUE_ALIAS
                + " name different queues ('" + outgoing.get() + "' and '" + alias.get() + "'): keep one");
        }
        return outgoing.or(() -> alias).orElse("outgoing");
    }

    /** The trust store named by {@code trustStore}, or the JDK's default. */
    private TlsTrust trust(MailetParameters parameters) throws MessagingException {
        Optional<String> location = parameters.optionalString(TRUST_STORE);
        Optional<String> type = parameters.optionalString(TRUST_STORE_TYPE);
        String password = getInitParameter(TRUST_STORE_PASSWORD);
        if (location.isEmpty()) {
            if (type.isPresent() || password != null) {
                throw new MessagingException("Invalid mailet parameter " + (type.isPresent() ? TRUST_STORE_TYPE
                    : TRUST_STORE_PASSWORD) + ": it needs " + TRUST_STORE);
            }
            return TlsTrust.jdkDefault();
        }
        File file = file(location.get(), "Trust store");
        return parameters.parse(TRUST_STORE, () -> TlsTrust.load(file.toPath(),
            password == null ? null : password.toCharArray(), type.orElse("PKCS12")));
    }

    private TlsPolicyResolver tlsPolicy(TlsTrust trust, Duration fallbackMemory, boolean mtaSts,
                                        Duration mtaStsTimeout) {
        PlaintextFallbacks fallbacks = new PlaintextFallbacks(fallbackMemory, clock);
        if (!mtaSts) {
            return new TlsPolicyResolver(Optional.empty(), daneLookup, fallbacks, mtaStsTimeout);
        }
        mtaStsThreads = Executors.newSingleThreadScheduledExecutor(new DaemonThreadFactory("mx-governor-mta-sts"));
        MtaStsPolicyCache policies = new MtaStsPolicyCache(dns::findTXTRecords,
            new HttpsPolicyFetcher(trust.clientContext(), mtaStsTimeout), clock, engineThreads.lookups(),
            MTA_STS_RECHECK, MTA_STS_DOMAINS);
        mtaStsThreads.scheduleWithFixedDelay(() -> {
            try {
                policies.refreshExpiring();
            } catch (RuntimeException e) {
                LOGGER.warn("MTA-STS background refresh failed", e);
            }
        }, 1, 1, TimeUnit.MINUTES);
        return new TlsPolicyResolver(Optional.of(policies), daneLookup, fallbacks, mtaStsTimeout);
    }

    /**
     * The DNSSEC-validating resolver's settings from {@code daneResolver} (the upstream name server, {@code host} or
     * {@code host:port}, {@code [v6]:port}; default the system's first name server), {@code daneTrustAnchors} (a file
     * of DS or DNSKEY records in zone-file form, a path or a James file URI; default the root zone's KSKs) and
     * {@code daneTimeout} (one lookup, key fetches included; default 10 seconds). Checked at start-up, even when no
     * rule uses DANE.
     */
    private ValidatingTlsaLookup.Builder daneResolver(MailetParameters parameters) throws MessagingException {
        ValidatingTlsaLookup.Builder builder = ValidatingTlsaLookup.builder().clock(clock);
        Optional<String> resolver = parameters.optionalString(DANE_RESOLVER);
        if (resolver.isPresent()) {
            InetSocketAddress upstream = nameServer(resolver.get());
            parameters.parse(DANE_RESOLVER, () -> builder.upstream(upstream));
        }
        Optional<String> anchors = parameters.optionalString(DANE_TRUST_ANCHORS);
        if (anchors.isPresent()) {
            File file = file(anchors.get(), "DANE trust anchors file");
            String text;
            try {
                text = Files.readString(file.toPath(), StandardCharsets.UTF_8);
            } catch (IOException | UncheckedIOException e) {
                throw new MessagingException("Invalid mailet parameter " + DANE_TRUST_ANCHORS + ": " + file
                    + " cannot be read: " + e);
            }
            parameters.parse(DANE_TRUST_ANCHORS, () -> builder.trustAnchors(text));
        }
        Optional<Duration> timeout = parameters.optionalDuration(DANE_TIMEOUT);
        if (timeout.isPresent()) {
            parameters.parse(DANE_TIMEOUT, () -> builder.timeout(timeout.get()));
        }
        return builder;
    }

    /** {@code host}, {@code host:port}, an IPv6 literal alone or as {@code [address]:port}; port 53 by default. */
    static InetSocketAddress nameServer(String value) throws MessagingException {
        String host = value;
        String port = null;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || (close + 1 < value.length() && value.charAt(close + 1) != ':')) {
                throw invalidNameServer(value, "an IPv6 address in brackets is followed by nothing or ':port'");
            }
            host = value.substring(1, close);
            port = close + 1 < value.length() ? value.substring(close + 2) : null;
        } else if (value.indexOf(':') >= 0 && value.indexOf(':') == value.lastIndexOf(':')) {
            host = value.substring(0, value.indexOf(':'));
            port = value.substring(value.indexOf(':') + 1);
        }
        int number = DNS_PORT;
        if (port != null) {
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 1 || number > 65535) {
                throw invalidNameServer(value, "the port must be 1 to 65535");
            }
        }
        if (host.isEmpty()) {
            throw invalidNameServer(value, "no host");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), number);
        } catch (UnknownHostException e) {
            throw invalidNameServer(value, "unknown host '" + host + "'");
        }
    }

    private static MessagingException invalidNameServer(String value, String why) {
        return new MessagingException("Invalid mailet parameter " + DANE_RESOLVER + ": expected a name server as host,"
            + " host:port or [IPv6]:port, was '" + value + "' (" + why + ")");
    }

    /**
     * TLSA lookups through our own DNSSEC-validating resolver, built on the first lookup: only MX hosts whose rule
     * says {@code dane="true"} are asked, and a resolver that cannot be built (no system name server, say) makes
     * their verdict unusable (deferred), never plaintext.
     */
    private DaneLookup dane(ValidatingTlsaLookup.Builder settings) {
        return new DaneLookup() {
            private DaneLookup resolver;
            private String description = "not built yet (built on the first lookup of a rule with dane=\"true\")";

            @Override
            public DaneVerdict lookup(String mxHost, int port) {
                DaneLookup current;
                try {
                    synchronized (this) {
                        if (resolver == null) {
                            ValidatingTlsaLookup built = settings.build();
                            resolver = new TlsaDaneLookup(built, clock);
                            description = built.toString();
                        }
                        current = resolver;
                    }
                } catch (RuntimeException e) {
                    LOGGER.error("No DANE resolver could be built", e);
                    return DaneVerdict.unusable("no DANE resolver: " + e.getMessage());
                }
                return current.lookup(mxHost, port);
            }

            @Override
            public synchronized String toString() {
                return description;
            }
        };
    }

    /** The DANE lookup the engine uses (tests look up through it). */
    DaneLookup daneLookup() {
        return daneLookup;
    }

    private File file(String location, String what) throws MessagingException {
        try {
            return location.contains("://") ? fileSystem.getFile(location) : new File(location);
        } catch (FileNotFoundException e) {
            throw new MessagingException(what + " " + location + " not found: " + e.getMessage());
        }
    }

    private Optional<Path> rulesFile(MailetParameters parameters) throws MessagingException {
        Optional<String> location = parameters.optionalString(RULES);
        if (location.isEmpty()) {
            LOGGER.info("No '{}' parameter: every MX host gets the default rule", RULES);
            return Optional.empty();
        }
        return Optional.of(file(location.get(), "MX rules file").toPath());
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

    private EngineSettings engineSettings(MailetParameters parameters, int maxInFlight) throws MessagingException {
        EngineSettings.Builder builder = EngineSettings.builder();
        String heloName = parameters.optionalString(HELO_NAME).orElseGet(this::defaultHeloName);
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
        parameters.optionalDuration(MAX_LANE_WAIT).ifPresent(builder::maxLaneWait);
        parameters.optionalDuration(LOCAL_DEFERRAL_DELAY).ifPresent(builder::localDeferralDelay);
        builder.gatewayCredentials(gatewayCredentials(parameters));
        return builder.build();
    }

    /** RemoteDelivery's gateway AUTH parameters; the password is taken as written, spaces included. */
    private Optional<SmtpCredentials> gatewayCredentials(MailetParameters parameters) throws MessagingException {
        Optional<String> username = parameters.optionalString(GATEWAY_USERNAME)
            .or(() -> parameters.optionalString(GATEWAY_USERNAME_COMPATIBILITY));
        String password = getInitParameter(GATEWAY_PASSWORD);
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

    private List<String> gateways(MailetParameters parameters) throws MessagingException {
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
        return entries;
    }

    private String defaultHeloName() {
        try {
            return domainList.getDefaultDomain().asString();
        } catch (Exception e) {
            return "localhost";
        }
    }

    private void startDequeueing(int maxInFlight) {
        dequeueScheduler = Schedulers.newSingle("mx-governor-dequeue");
        dequeueing = Flux.from(queue.deQueue())
            .flatMap(item -> Mono.fromFuture(() -> handle(item)).onErrorResume(error -> {
                LOGGER.error("Unexpected error while delivering a mail", error);
                return Mono.empty();
            }), maxInFlight)
            .subscribeOn(dequeueScheduler)
            .subscribe();
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        if (mail.getRecipients().isEmpty()) {
            LOGGER.warn("Mail {} from {} has no recipients: nothing to deliver, sent to the error processor",
                mail.getName(), mail.getMaybeSender().asString());
            mail.setErrorMessage("mx-governor: the mail has no recipients, there is nothing to deliver");
            mail.setState(Mail.ERROR);
            return;
        }
        if (usePriority) {
            mail.setAttribute(MailPrioritySupport.HIGH_PRIORITY_ATTRIBUTE);
        }
        if (debug) {
            LOGGER.debug("Queueing mail {} for remote delivery to {}", mail.getName(), mail.getRecipients());
        }
        queue.enQueue(mail);
        mail.setState(Mail.GHOST);
    }

    /** Delivers one queue item; the returned future completes once the item is acknowledged. */
    private CompletableFuture<Void> handle(MailQueue.MailQueueItem item) {
        Mail mail = item.getMail();
        Optional<DeferralRecord> previous = DeferralAttributes.read(mail);
        Instant now = clock.instant();
        Optional<Instant> notBefore = previous.flatMap(DeferralRecord::nextAttemptAt);
        if (notBefore.isPresent() && notBefore.get().isAfter(now.plus(EARLY_TOLERANCE))
            && !releasedByFlowControl(previous.get())) {
            // The queue did not honour the delay (RabbitMQ ignores it): wait again without an attempt.
            return CompletableFuture.runAsync(() -> finish(item, mail, () ->
                queue.enQueue(mail, Duration.between(now, notBefore.get()))), dispositions);
        }
        if (mail.getRecipients().isEmpty()) {
            LOGGER.warn("Mail {} on the outgoing queue has no recipients: nothing to deliver", mail.getName());
            return CompletableFuture.runAsync(() -> finish(item, mail, () -> { }), dispositions);
        }
        int dnsFailures = previous.map(DeferralRecord::dnsFailures).orElse(0);
        boolean requireTls = requiresTls(mail);
        String reversePath = mail.getMaybeSender().asOptional().map(MailAddress::asString).orElse("");
        MimeMessageContent content;
        try {
            content = new MimeMessageContent(mail.getMessage());
        } catch (MessagingException e) {
            LOGGER.error("Cannot read the message of mail {}: left on the queue for a retry", mail.getName(), e);
            return CompletableFuture.runAsync(() -> {
                retryLater(item, mail);
                LifecycleUtil.dispose(mail);
            }, dispositions);
        }
        List<CompletableFuture<Map<String, Outcome>>> parts = new ArrayList<>();
        for (Map.Entry<Domain, List<MailAddress>> byDomain : recipientsByDomain(mail.getRecipients()).entrySet()) {
            List<String> recipients = new ArrayList<>(byDomain.getValue().size());
            for (MailAddress recipient : byDomain.getValue()) {
                recipients.add(recipient.asString());
            }
            DeliveryPart part = new DeliveryPart(mail.getName() + "-to-" + byDomain.getKey().asString(),
                byDomain.getKey().asString(), reversePath, recipients, content, sendPartial,
                dnsFailures < maxDnsProblemRetries, MailDsn.forRecipients(mail, byDomain.getValue()), requireTls);
            TimeMetric attempt = metrics.startAttempt();
            CompletableFuture<Map<String, Outcome>> outcome = engine.deliver(part);
            outcome.whenComplete((ignored, error) -> attempt.stopAndPublish());
            parts.add(outcome);
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0]))
            .thenAcceptAsync(ignored -> {
                Map<String, Outcome> outcomes = new LinkedHashMap<>();
                parts.forEach(part -> outcomes.putAll(part.join()));
                finish(item, mail, () -> dispose(mail, previous, outcomes));
            }, dispositions);
    }

    /**
     * Whether a mail held back by flow control (SUSPENDED, DYNAMIC_FLOW_CONTROL) may go before its next attempt time
     * because its destination is NORMAL again (an operator resumed it, say): it goes when the queue hands it back,
     * at once if the queue is flushed.
     */
    private boolean releasedByFlowControl(DeferralRecord record) {
        if (record.reason() != DeferralReason.SUSPENDED && record.reason() != DeferralReason.DYNAMIC_FLOW_CONTROL) {
            return false;
        }
        return governor.find(record.destination())
            .map(destination -> destination.flowControl().state().kind() == FlowState.Kind.NORMAL)
            .orElse(true);
    }

    private static Map<Domain, List<MailAddress>> recipientsByDomain(Collection<MailAddress> recipients) {
        Map<Domain, List<MailAddress>> byDomain = new LinkedHashMap<>();
        for (MailAddress recipient : recipients) {
            byDomain.computeIfAbsent(recipient.getDomain(), domain -> new ArrayList<>()).add(recipient);
        }
        return byDomain;
    }

    /**
     * Gives each recipient its end: delivered ones go to {@code onSuccess} when set, bounced ones to the bounce
     * processor, deferred ones back on the queue with the updated record (or bounce when they may not wait).
     */
    private void dispose(Mail mail, Optional<DeferralRecord> previous, Map<String, Outcome> outcomes)
            throws MessagingException {
        Map<Outcome.Kind, Map<String, Outcome>> byKind = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> entry : outcomes.entrySet()) {
            byKind.computeIfAbsent(entry.getValue().kind(), kind -> new LinkedHashMap<>())
                .put(entry.getKey(), entry.getValue());
        }
        Map<String, Outcome> delivered = byKind.getOrDefault(Outcome.Kind.DELIVERED, Map.of());
        Map<String, Outcome> bounced = new LinkedHashMap<>(byKind.getOrDefault(Outcome.Kind.BOUNCED, Map.of()));
        Map<String, Outcome> deferred = byKind.getOrDefault(Outcome.Kind.DEFERRED, Map.of());
        if (debug) {
            LOGGER.debug("Mail {}: {}", mail.getName(), outcomes);
        }
        noteReplies(outcomes);
        metrics.delivered(delivered.size());

        if (debug) {
            delivered.forEach((recipient, outcome) -> LOGGER.debug("Mail {} delivered to {} via {}: {}",
                mail.getName(), recipient, outcome.destination(), outcome.tls().map(TlsReport::fields).orElse(Map.of())));
        }
        if (!delivered.isEmpty() && onSuccess.isPresent()) {
            for (Map.Entry<Optional<TlsReport>, List<String>> group : groupByTls(delivered).entrySet()) {
                Mail copy = copyFor(mail, group.getValue());
                previous.ifPresent(record -> DeferralAttributes.write(copy, record.delivered(clock.instant())));
                group.getKey().ifPresent(report -> copy.setAttribute(tlsAttribute(report)));
                sendAndDispose(copy, onSuccess.get());
            }
        }

        Map<String, RetryPolicy.Decision> giveUps = new LinkedHashMap<>();
        Map<RetryPolicy.Decision, List<String>> retries = new LinkedHashMap<>();
        for (Map.Entry<Outcome, List<String>> group : groupByOutcome(deferred).entrySet()) {
            RetryPolicy.Decision decision = retryPolicy.onDeferred(previous, group.getKey());
            if (decision.retries()) {
                retries.put(decision, group.getValue());
            } else {
                group.getValue().forEach(recipient -> giveUps.put(recipient, decision));
            }
        }

        for (Map.Entry<RetryPolicy.Decision, List<String>> retry : retries.entrySet()) {
            requeue(mail, retry.getKey(), retry.getValue());
            metrics.deferred(retry.getKey().record().reason(), retry.getValue().size());
        }
        for (Map.Entry<Outcome, List<String>> group : groupByOutcome(bounced).entrySet()) {
            Outcome outcome = group.getKey();
            DeferralRecord record = previous.map(existing -> existing.bounced(clock.instant(), outcome.message(),
                outcome.reply())).orElse(null);
            bounce(mail, group.getValue(), outcome.message(), outcome.reply(), Optional.ofNullable(record));
            metrics.bounced(group.getValue().size());
        }
        for (Map.Entry<String, RetryPolicy.Decision> giveUp : giveUps.entrySet()) {
            RetryPolicy.Decision decision = giveUp.getValue();
            Outcome last = deferred.get(giveUp.getKey());
            bounce(mail, List.of(giveUp.getKey()), decision.bounceMessage(), last.reply(),
                Optional.of(decision.record().bounced(clock.instant(), decision.bounceMessage(), last.reply())));
            metrics.bounced(1);
        }
    }

    /** Each destination's last reply, for operators: one per distinct outcome, the servers' own replies only. */
    private void noteReplies(Map<String, Outcome> outcomes) {
        Instant now = clock.instant();
        for (Outcome outcome : new HashSet<>(outcomes.values())) {
            outcome.reply().ifPresent(reply -> governor.find(outcome.destination())
                .ifPresent(destination -> destination.recordReply(reply, now)));
        }
    }

    private void requeue(Mail mail, RetryPolicy.Decision decision, List<String> recipients)
            throws MessagingException {
        Mail copy = copyFor(mail, recipients);
        copy.setName(originalName(mail.getName()));
        try {
            DeferralAttributes.write(copy, decision.record());
            if (usePriority && !decision.record().reason().isLocal()) {
                copy.setAttribute(MailPrioritySupport.LOW_PRIORITY_ATTRIBUTE);
            }
            LOGGER.info("Mail {} to {} deferred for {}: {} ({})", mail.getName(), recipients, decision.delay(),
                decision.record().message(), decision.record().destination());
            queue.enQueue(copy, decision.delay());
        } finally {
            LifecycleUtil.dispose(copy);
        }
    }

    private void bounce(Mail mail, List<String> recipients, String message, Optional<SmtpReply> reply,
                        Optional<DeferralRecord> record) throws MessagingException {
        LOGGER.info("Mail {} to {} bounced: {}", mail.getName(), recipients, message);
        if (!mail.hasSender()) {
            LOGGER.info("Null sender: no bounce is generated for mail {}", mail.getName());
            return;
        }
        Mail copy = copyFor(mail, recipients);
        record.ifPresent(value -> DeferralAttributes.write(copy, value));
        copy.setAttribute(new Attribute(IS_DELIVERY_PERMANENT_ERROR, AttributeValue.of(true)));
        String error = reply.map(value -> message.contains(value.toString()) ? message : message + ": " + value)
            .orElse(message);
        if (bounceProcessor.isPresent()) {
            reply.ifPresent(value -> copy.setAttribute(new Attribute(DELIVERY_ERROR_CODE,
                AttributeValue.of(value.code()))));
            copy.setAttribute(new Attribute(DELIVERY_ERROR, AttributeValue.of(error)));
            sendAndDispose(copy, bounceProcessor.get());
        } else {
            try {
                getMailetContext().bounce(copy, error);
            } finally {
                LifecycleUtil.dispose(copy);
            }
        }
    }

    private void sendAndDispose(Mail copy, ProcessingState processor) throws MessagingException {
        try {
            getMailetContext().sendMail(copy, processor.getValue());
        } finally {
            LifecycleUtil.dispose(copy);
        }
    }

    /** Delivered recipients by the session that carried them: each {@code onSuccess} copy has one TLS report. */
    private static Map<Optional<TlsReport>, List<String>> groupByTls(Map<String, Outcome> delivered) {
        Map<Optional<TlsReport>, List<String>> groups = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> entry : delivered.entrySet()) {
            groups.computeIfAbsent(entry.getValue().tls(), report -> new ArrayList<>()).add(entry.getKey());
        }
        return groups;
    }

    /** The {@code mxgovernor.tls} attribute: a map of strings, which every mail queue can serialise. */
    static Attribute tlsAttribute(TlsReport report) {
        Map<String, AttributeValue<?>> fields = new LinkedHashMap<>();
        report.fields().forEach((name, value) -> fields.put(name, AttributeValue.of(value)));
        return new Attribute(TLS_REPORT, AttributeValue.of(fields));
    }

    /** Whether the mail carries James's REQUIRETLS mark with the value true. */
    static boolean requiresTls(Mail mail) {
        return mail.getAttribute(REQUIRE_TLS)
            .map(attribute -> Boolean.TRUE.equals(attribute.getValue().value()))
            .orElse(false);
    }

    private static Map<Outcome, List<String>> groupByOutcome(Map<String, Outcome> outcomes) {
        Map<Outcome, List<String>> groups = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> entry : outcomes.entrySet()) {
            groups.computeIfAbsent(entry.getValue(), outcome -> new ArrayList<>()).add(entry.getKey());
        }
        return groups;
    }

    /**
     * The mail's name without the {@code -!suffix} parts James appends on every copy: a mail deferred many
     * times would otherwise outgrow James's loop detection, which refuses to copy a name with more than
     * seven of them.
     */
    static String originalName(String name) {
        int derived = name.indexOf("-!");
        return derived > 0 ? name.substring(0, derived) : name;
    }

    private static Mail copyFor(Mail mail, Collection<String> recipients) throws MessagingException {
        Mail copy = MailImpl.duplicate(mail);
        ImmutableList.Builder<MailAddress> addresses = ImmutableList.builder();
        for (String recipient : recipients) {
            addresses.add(new MailAddress(recipient));
        }
        copy.setRecipients(addresses.build());
        return copy;
    }

    /** Runs the end of a mail, then acknowledges its queue item; a failure leaves it on the queue instead. */
    private void finish(MailQueue.MailQueueItem item, Mail mail, Disposal disposal) {
        try {
            disposal.run();
            item.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        } catch (Exception e) {
            LOGGER.error("Could not finish mail {}: left on the queue for a retry", mail.getName(), e);
            retryLater(item, mail);
        } finally {
            LifecycleUtil.dispose(mail);
        }
    }

    private static void retryLater(MailQueue.MailQueueItem item, Mail mail) {
        try {
            item.done(MailQueue.MailQueueItem.CompletionStatus.RETRY);
        } catch (Exception e) {
            LOGGER.error("Could not hand mail {} back to the queue", mail.getName(), e);
        }
    }

    @FunctionalInterface
    private interface Disposal {
        void run() throws Exception;
    }

    @Override
    public void destroy() {
        if (rulesSource != null) {
            SharedGovernor.removeRulesSource(rulesSource);
            rulesSource = null;
        }
        if (dequeueing != null) {
            dequeueing.dispose();
        }
        if (dequeueScheduler != null) {
            dequeueScheduler.dispose();
        }
        if (engine != null) {
            engine.close(Duration.ofSeconds(5));
        }
        if (engineThreads != null) {
            engineThreads.close();
        }
        if (sessionThreads != null) {
            sessionThreads.shutdownNow();
        }
        if (dispositions != null) {
            dispositions.shutdown();
        }
        if (mtaStsThreads != null) {
            mtaStsThreads.shutdownNow();
        }
        if (governorAcquired) {
            SharedGovernor.release();
            governorAcquired = false;
        }
        if (queue != null) {
            try {
                queue.close();
            } catch (Exception e) {
                LOGGER.debug("Error closing the outgoing queue", e);
            }
        }
    }

    @Override
    public String getMailetInfo() {
        return "mx-governor governed remote delivery";
    }

    @Override
    public Collection<ProcessingState> requiredProcessingState() {
        List<ProcessingState> states = new ArrayList<>();
        bounceProcessor.ifPresent(states::add);
        onSuccess.ifPresent(states::add);
        return states;
    }

    /** The engine, for tests in this package. */
    DeliveryEngine engine() {
        return engine;
    }
}

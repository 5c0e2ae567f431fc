package io.github.mxgovernor.james;

import io.github.mxgovernor.cluster.MailReleaseLeases;
import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.delivery.DeliveryEngine;
import io.github.mxgovernor.delivery.ReturnSchedule;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.DequeueRow;
import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.TlsReport;
import io.github.mxgovernor.waiting.ReleaseLeases;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Predicate;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.mailrepository.api.MailRepositoryStore;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.james.mailrepository.api.Protocol;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.queue.api.MailPrioritySupport;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.AttributeName;
import org.apache.mailet.Mail;
import org.apache.mailet.ProcessingState;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Governed remote delivery: a drop-in replacement for James's {@code RemoteDelivery} that delivers under
 * per-MX rules (connection quotas, messages per connection, messages per hour) and records why a mail waits.
 *
 * <p>Like RemoteDelivery, {@link #service(Mail)} puts the mail on the outgoing queue and ghosts it. A
 * {@link QueueRunner} takes mails from that queue and hands each recipient domain's part to the core; a
 * {@link Disposer} gives each recipient its end (delivered, re-enqueued with a delay and the {@code mxgovernor.deferral}
 * record, or bounced) and only then completes the queue item. A recipient that got a 2xx is never sent the mail again,
 * whatever fails afterwards (see {@link Disposer} and {@link DeliveryLedger}).
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
 * {@code gateway}, and the credentials are only sent to a gateway whose certificate passed the PKIX and host-name
 * checks or matched its DANE records, so give the gateways an MX rule with {@code tls} VERIFY: otherwise the mail
 * is deferred with {@code TLS_POLICY_FAILURE}).
 * {@code sslEnable=true} is refused at start-up: implicit TLS is not supported.
 *
 * <p>Ours: {@code rules} (the MX rules file: a path or a James file URI such as
 * {@code file://conf/mx-rules.xml}; built-in default rule when absent), {@code deliveryThreads}
 * (accepted for RemoteDelivery's sake and without effect: connections hold no thread), {@code maxInFlight} (mails taken from the queue at once, default 512),
 * {@code maxLaneWait} (how long a mail waits for a connection or token before a local deferral, default
 * 30 seconds), {@code laneCapacity} (mails one destination holds waiting, default a quarter of {@code maxInFlight};
 * beyond, its mails are deferred at once so that one slow destination never takes every queue slot),
 * {@code localDeferralDelay} (base delay of a quota deferral, jittered, default 10 seconds), {@code lookupThreads}
 * (name lookups in flight at once, MX and address records, MTA-STS TXT and TLSA, 1 to 1000, default 128: a lookup
 * holds a thread while it waits for its answer), {@code maxAge}
 * (how long a mail may keep being deferred after its first deferral, default 5 days; it bounces for its age only
 * once that time has passed), {@code shutdownGrace} (how long transactions in progress may go on when James stops,
 * default 30 seconds; then every connection is closed and the mail not delivered goes back on the queue).
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
 * Any other parameter is an error. The parameters are read by {@link DeliveryConfiguration}.
 *
 * <p>Where deferred mail waits: {@code waitingRepository} (a James mail repository URL such as
 * {@code memory://var/mail/mxgovernor-waiting/} or {@code cassandra://var/mail/mxgovernor-waiting/}, opened through
 * James's {@code MailRepositoryStore}; default {@code var/mail/mxgovernor-waiting/} under James's default protocol, with
 * the queue's name appended for a queue other than {@code outgoing}; {@code off} to keep every deferred mail on the
 * queue), {@code waitingThreshold} (waits longer than this go to the repository on any queue, default 5 minutes; on a
 * queue that ignores delays, James's RabbitMQ queue, every wait longer than a second does), {@code waitingReleaseRate}
 * (mails put back on the queue per second at most, default 200). See {@link WaitingRoom}.
 *
 * <p>Several James nodes share their caps, rates and flow-control states through a Redis server: {@code store}
 * ({@code host:port} or a {@code redis://}, {@code rediss://}, {@code redis-sentinel://} URI), {@code storeNodes}
 * (required with it: each node's share, 1/N, while the store is unreachable), {@code storeKeyPrefix},
 * {@code storeNodeName} (default the host name), {@code storeTimeout} (200 ms), {@code storeLeaseTime} (60 s),
 * {@code storeRateHorizon} (5 s), {@code storeCluster}; read by {@link StoreConfiguration}, the same for every governed
 * mailet of one James (see {@link SharedGovernor}). A rule's {@code clusterScope="node"} keeps its limits per node.
 *
 * <p>Operators watch and steer delivery over JMX ({@code io.github.mxgovernor:type=Governor}, which also shows how
 * each governed mailet takes mail from its queue and the mail waiting in the waiting places, and one
 * {@code type=Destination} bean per active destination; {@code reloadRules} re-reads the {@code rules} file of every
 * governed mailet). Outcomes are also counted in James's metrics, see {@link DeliveryMetrics}. Mail deferred by flow
 * control waits for its destination's backoff or suspension to end, or for its maximum age, whichever comes first;
 * when the state ends early (an operator resumed the destination, say), mail held in the waiting place goes at once;
 * {@code releaseWaiting} and {@code releaseAllWaiting} send waiting mail now.
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
    public static final String LOOKUP_THREADS = "lookupThreads";
    public static final String LOCAL_DEFERRAL_DELAY = "localDeferralDelay";
    public static final String MAX_AGE = "maxAge";
    public static final String SHUTDOWN_GRACE = "shutdownGrace";
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
    public static final String WAITING_REPOSITORY = "waitingRepository";
    public static final String WAITING_THRESHOLD = "waitingThreshold";
    public static final String WAITING_RELEASE_RATE = "waitingReleaseRate";

    /** RemoteDelivery's bounce attributes, read by James's {@code DSNBounce}. */
    public static final AttributeName DELIVERY_ERROR = DisposalStep.DELIVERY_ERROR;
    public static final AttributeName DELIVERY_ERROR_CODE = DisposalStep.DELIVERY_ERROR_CODE;
    public static final AttributeName IS_DELIVERY_PERMANENT_ERROR = DisposalStep.IS_DELIVERY_PERMANENT_ERROR;
    /**
     * The REQUIRETLS mark (RFC 8689) James's SMTP server puts on a mail whose sender asked for it (Boolean true),
     * under the name James's own RemoteDelivery reads.
     */
    public static final AttributeName REQUIRE_TLS = AttributeName.of("REQUIRETLS");
    /** How a delivered mail travelled (see {@link TlsReport#fields()}): set on the {@code onSuccess} copies. */
    public static final AttributeName TLS_REPORT = DisposalStep.TLS_REPORT;

    private static final Logger LOGGER = LoggerFactory.getLogger(GovernedRemoteDelivery.class);
    private static final int DISPOSITION_THREADS = 4;
    /** A refused enqueue in {@code service()} is tried again a little on the spooler's thread, then James's error path. */
    private static final Backoff SERVICE_ENQUEUE = new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), 3);

    private final DNSService dns;
    private final DomainList domainList;
    private final MailQueueFactory<?> queueFactory;
    private final FileSystem fileSystem;
    private final MetricFactory metricFactory;
    private final Clock clock;
    private final RecoveryTiming timing;
    private final DeliveryLedger ledger;
    /** Absent only for tests that run without a waiting place. */
    private final Optional<MailRepositoryStore> repositories;
    private final Predicate<MailQueue> ignoresDelays;
    private final DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();

    private DeliveryConfiguration configuration;
    private DeliveryMetrics metrics;
    private MailQueue queue;
    private Governor governor;
    private DeliveryCore core;
    private RulesSource rulesSource;
    private QueueRunner runner;
    private Optional<WaitingRoom> waitingRoom = Optional.empty();
    private ScheduledExecutorService timer;
    private ExecutorService dispositions;

    /** James builds it (Guice), with the collaborators its own {@code RemoteDelivery} and {@code ToRepository} get. */
    @Inject
    public GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                                  FileSystem fileSystem, MetricFactory metricFactory,
                                  MailRepositoryStore mailRepositoryStore) {
        this(dns, domainList, queueFactory, fileSystem, metricFactory, Clock.systemUTC(), RecoveryTiming.DEFAULT,
            DeliveryLedger.jvmWide(), Optional.of(mailRepositoryStore), WaitingRoom::ignoresDelays);
    }

    /** Without a mail repository store (tests): no waiting place unless {@code waitingRepository} asks for one. */
    GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                           FileSystem fileSystem, MetricFactory metricFactory) {
        this(dns, domainList, queueFactory, fileSystem, metricFactory, Clock.systemUTC(), RecoveryTiming.DEFAULT,
            DeliveryLedger.jvmWide(), Optional.empty(), WaitingRoom::ignoresDelays);
    }

    GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                           FileSystem fileSystem, MetricFactory metricFactory, Clock clock, RecoveryTiming timing,
                           DeliveryLedger ledger) {
        this(dns, domainList, queueFactory, fileSystem, metricFactory, clock, timing, ledger, Optional.empty(),
            WaitingRoom::ignoresDelays);
    }

    /**
     * @param repositories  where the waiting place's repository is opened; empty for none
     * @param ignoresDelays whether the outgoing queue ignores enqueue delays (tests model James's RabbitMQ queue)
     */
    GovernedRemoteDelivery(DNSService dns, DomainList domainList, MailQueueFactory<?> queueFactory,
                           FileSystem fileSystem, MetricFactory metricFactory, Clock clock, RecoveryTiming timing,
                           DeliveryLedger ledger, Optional<MailRepositoryStore> repositories,
                           Predicate<MailQueue> ignoresDelays) {
        this.dns = dns;
        this.domainList = domainList;
        this.queueFactory = queueFactory;
        this.fileSystem = fileSystem;
        this.metricFactory = metricFactory;
        this.clock = clock;
        this.timing = timing;
        this.ledger = ledger;
        this.repositories = repositories;
        this.ignoresDelays = ignoresDelays;
    }

    @Override
    public void init() throws MessagingException {
        configuration = DeliveryConfiguration.read(getMailetConfig(), fileSystem, this::defaultHeloName, clock);
        metrics = new DeliveryMetrics(metricFactory);
        governor = SharedGovernor.acquire(metrics, clock, configuration.store());
        try {
            queue = queueFactory.createQueue(MailQueueName.of(configuration.outgoingQueue()),
                MailQueueFactory.prefetchCount(configuration.maxInFlight()));
            waitingRoom = openWaitingRoom();
            startDelivery();
        } catch (MessagingException | RuntimeException e) {
            destroy();
            throw e;
        }
        LOGGER.info("Governed remote delivery started: {}; DANE resolver {}", configuration, core.daneLookup());
    }

    private void startDelivery() {
        core = DeliveryCore.start(configuration, governor, dns, clock);
        rulesSource = new RulesSource(configuration.rulesFile(), configuration.parser(), core::useRules);
        SharedGovernor.addRulesSource(rulesSource);
        timer = Executors.newSingleThreadScheduledExecutor(new DaemonThreadFactory("mx-governor-recovery"));
        dispositions = Executors.newFixedThreadPool(DISPOSITION_THREADS,
            new DaemonThreadFactory("mx-governor-disposition"));
        Disposer disposer = new Disposer(new DisposalStep.Targets(queue, getMailetContext(),
            configuration.bounceProcessor(), configuration.onSuccess(), configuration.usePriority(), clock,
            waitingRoom),
            ledger, timing.steps(), timer, dispositions, random, configuration.debug());
        runner = new QueueRunner(queue, core.delivery(), disposer, ledger,
            ReturnSchedule.of(configuration.engineSettings(), clock), governor, metrics,
            new QueueRunner.Parts(configuration.maxInFlight(), configuration.sendPartial(),
                configuration.maxDnsProblemRetries()), timing, timer, dispositions, clock, random);
        SharedGovernor.addQueueRunner(runner);
        runner.start();
    }

    /**
     * Opens the waiting place {@code waitingRepository} names (by default {@value WaitingSettings#DEFAULT_PATH} under
     * James's default protocol), unless it is off. An unknown protocol, or a repository James cannot open, stops the
     * start with the parameter and the URL named.
     */
    private Optional<WaitingRoom> openWaitingRoom() throws MessagingException {
        WaitingSettings settings = configuration.waiting();
        boolean queueIgnoresDelays = ignoresDelays.test(queue);
        if (!settings.enabled() || repositories.isEmpty() && settings.repository().isEmpty()) {
            if (queueIgnoresDelays) {
                LOGGER.warn("Queue {} ignores delays and no waiting place is set ({}={}): deferred mail comes back at"
                    + " once and is put back again and again until it is due", configuration.outgoingQueue(),
                    WAITING_REPOSITORY, WaitingSettings.OFF);
            }
            return Optional.empty();
        }
        if (repositories.isEmpty()) {
            throw new MessagingException("Invalid mailet parameter " + WAITING_REPOSITORY + ": no James mail repository"
                + " store to open '" + settings.repository().get() + "' with");
        }
        MailRepositoryStore store = repositories.get();
        String url = settings.repository().orElseGet(() -> WaitingSettings.defaultUrl(
            store.defaultProtocol().map(Protocol::getValue).orElse("memory"), configuration.outgoingQueue()));
        String named = WAITING_REPOSITORY + (settings.repository().isPresent() ? "" : " (default)");
        Optional<String> takenBy = WaitingRooms.jvmWide().takenBy(url);
        if (takenBy.isPresent()) {
            throw new MessagingException("Invalid mailet parameter " + named + ": '" + url + "' is already the waiting"
                + " place of the governed mailet of queue " + takenBy.get() + "; give each its own");
        }
        MailRepository repository;
        try {
            repository = store.select(MailRepositoryUrl.from(url));
        } catch (Exception e) {
            throw new MessagingException("Invalid mailet parameter " + named + ": James cannot open mail repository '"
                + url + "': " + e.getMessage() + " (mailrepositorystore.xml maps protocols to repositories; '"
                + WaitingSettings.OFF + "' turns the waiting place off)", e);
        }
        // With a store, the nodes may share one repository: a lease per mail, and a rescan for what the others stored.
        ReleaseLeases leases = governor.clusterStore().<ReleaseLeases>map(MailReleaseLeases::on)
            .orElse(ReleaseLeases.LOCAL);
        WaitingRoom room = WaitingRoom.open(repository, url, queue, !queueIgnoresDelays, settings, leases,
            governor.clusterStore().map(cluster -> WaitingRoom.RESCAN_EVERY), governor, ledger, clock,
            WaitingThreads.start());
        WaitingRooms.jvmWide().add(room);
        LOGGER.info("Deferred mail of queue {} waits in {} when the wait is longer than {}",
            configuration.outgoingQueue(), url, queueIgnoresDelays ? WaitingRoom.MIN_WAIT + " (the queue ignores delays)" : settings.threshold());
        return Optional.of(room);
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
        if (configuration.usePriority()) {
            mail.setAttribute(MailPrioritySupport.HIGH_PRIORITY_ATTRIBUTE);
        }
        if (configuration.debug()) {
            LOGGER.debug("Queueing mail {} for remote delivery to {}", mail.getName(), mail.getRecipients());
        }
        DeliveryLedger.stamp(mail, DeliveryLedger.newEntry());
        for (int failures = 0; ; failures++) {
            try {
                queue.enQueue(mail);
                break;
            } catch (MailQueue.MailQueueException e) {
                if (!SERVICE_ENQUEUE.allowsAnotherTry(failures + 1)) {
                    throw e;
                }
                LOGGER.warn("Mail {} could not be put on queue {} ({}): trying again", mail.getName(),
                    configuration.outgoingQueue(), e.getMessage());
                pause(SERVICE_ENQUEUE.delayAfter(failures + 1, random));
            }
        }
        mail.setState(Mail.GHOST);
    }

    private static void pause(Duration wait) throws MessagingException {
        try {
            Thread.sleep(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MessagingException("interrupted while putting a mail on the queue", e);
        }
    }

    /** Whether the mail carries James's REQUIRETLS mark with the value true. */
    static boolean requiresTls(Mail mail) {
        return mail.getAttribute(REQUIRE_TLS)
            .map(attribute -> Boolean.TRUE.equals(attribute.getValue().value()))
            .orElse(false);
    }

    private String defaultHeloName() {
        try {
            return domainList.getDefaultDomain().asString();
        } catch (Exception e) {
            return "localhost";
        }
    }

    /**
     * Stops in order (see {@link QueueRunner#stop}): no more mail taken, transactions in progress finish within
     * {@code shutdownGrace}, every item taken is completed once; when this returns no byte goes to any server.
     */
    @Override
    public void destroy() {
        // no more releases onto the queue; mail deferred while delivery stops is still stored, for the next start
        waitingRoom.ifPresent(room -> {
            WaitingRooms.jvmWide().remove(room);
            room.close();
        });
        waitingRoom = Optional.empty();
        if (rulesSource != null) {
            SharedGovernor.removeRulesSource(rulesSource);
            rulesSource = null;
        }
        if (runner != null) {
            runner.stop(configuration.shutdownGrace());
            SharedGovernor.removeQueueRunner(runner);
            runner = null;
        } else if (core != null) {
            core.delivery().close(Duration.ZERO);
        }
        if (core != null) {
            core.close();
            core = null;
        }
        if (timer != null) {
            timer.shutdownNow();
        }
        if (dispositions != null) {
            dispositions.shutdown();
        }
        if (governor != null) {
            SharedGovernor.release();
            governor = null;
        }
        if (queue != null) {
            try {
                queue.close();
            } catch (Exception e) {
                LOGGER.debug("Error closing the outgoing queue", e);
            }
            queue = null;
        }
    }

    @Override
    public String getMailetInfo() {
        return "mx-governor governed remote delivery";
    }

    @Override
    public Collection<ProcessingState> requiredProcessingState() {
        List<ProcessingState> states = new ArrayList<>();
        configuration.bounceProcessor().ifPresent(states::add);
        configuration.onSuccess().ifPresent(states::add);
        return states;
    }

    /** The engine, for tests in this package. */
    DeliveryEngine engine() {
        return core.engine();
    }

    /** The DANE lookup the engine uses (tests look up through it). */
    DaneLookup daneLookup() {
        return core.daneLookup();
    }

    /** How this mailet takes mail from its queue, for tests in this package. */
    DequeueRow dequeueState() {
        return runner.status();
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.delivery.DeliveryEngine;
import io.github.mxgovernor.delivery.EngineThreads;
import io.github.mxgovernor.delivery.PartDelivery;
import io.github.mxgovernor.delivery.ReplyClassifier;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.PeriodicTask;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.NettySmtpSessionFactory;
import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.HttpsPolicyFetcher;
import io.github.mxgovernor.tls.MtaStsPolicyCache;
import io.github.mxgovernor.tls.PlaintextFallbacks;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.dane.TlsaDaneLookup;
import io.github.mxgovernor.tls.dane.ValidatingTlsaLookup;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.apache.james.dnsservice.api.DNSService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The core as one governed mailet runs it, built in this one place from the mailet's configuration: the TLS policy
 * (MTA-STS policies and the threads that fetch them, DANE) and the delivery engine, seen by the edge as a
 * {@link PartDelivery}, with the threads it runs on and its non-blocking SMTP client. The queue runner closes the
 * engine; {@link #close()} then stops the SMTP client and every thread.
 */
final class DeliveryCore implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryCore.class);
    private static final Duration MTA_STS_RECHECK = Duration.ofMinutes(5);
    private static final Duration MTA_STS_REFRESH = Duration.ofMinutes(1);
    private static final int MTA_STS_DOMAINS = 100_000;

    /** Threads that read message content for the SMTP sessions (blocking reads of James's message store). */
    private static final int CONTENT_THREADS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

    private final DeliveryEngine engine;
    private final DaneLookup daneLookup;
    private final EngineThreads engineThreads;
    private final NettySmtpSessionFactory sessions;
    private final ExecutorService contentThreads;
    private final Optional<ScheduledExecutorService> mtaStsRefresh;

    private DeliveryCore(DeliveryEngine engine, DaneLookup daneLookup, EngineThreads engineThreads,
                         NettySmtpSessionFactory sessions, ExecutorService contentThreads,
                         Optional<ScheduledExecutorService> mtaStsRefresh) {
        this.engine = engine;
        this.daneLookup = daneLookup;
        this.engineThreads = engineThreads;
        this.sessions = sessions;
        this.contentThreads = contentThreads;
        this.mtaStsRefresh = mtaStsRefresh;
    }

    static DeliveryCore start(DeliveryConfiguration configuration, Governor governor, DNSService dns, Clock clock) {
        TlsConfiguration tls = configuration.tls();
        DaneLookup dane = new LazyDaneLookup(tls.daneResolver(), clock);
        PlaintextFallbacks fallbacks = new PlaintextFallbacks(tls.fallbackMemory(), clock);
        EngineThreads threads = EngineThreads.start(configuration.engineSettings());
        Optional<ScheduledExecutorService> refresh = Optional.empty();
        TlsPolicyResolver policy;
        if (configuration.mtaSts()) {
            ScheduledExecutorService mtaSts = Executors.newSingleThreadScheduledExecutor(
                new DaemonThreadFactory("mx-governor-mta-sts"));
            MtaStsPolicyCache policies = new MtaStsPolicyCache(dns::findTXTRecords,
                new HttpsPolicyFetcher(tls.trust().clientContext(), configuration.mtaStsTimeout()), clock,
                threads.lookups(), MTA_STS_RECHECK, MTA_STS_DOMAINS);
            PeriodicTask.schedule(mtaSts, "MTA-STS background refresh", MTA_STS_REFRESH, policies::refreshExpiring);
            policy = new TlsPolicyResolver(Optional.of(policies), dane, fallbacks, configuration.mtaStsTimeout());
            refresh = Optional.of(mtaSts);
        } else {
            policy = new TlsPolicyResolver(Optional.empty(), dane, fallbacks, configuration.mtaStsTimeout());
        }
        ExecutorService content = Executors.newFixedThreadPool(CONTENT_THREADS,
            new DaemonThreadFactory("mx-governor-content"));
        NettySmtpSessionFactory sessions = new NettySmtpSessionFactory(tls.trust().trustManager(), content,
            NettySmtpSessionFactory.defaultIoThreads());
        DeliveryEngine engine = new DeliveryEngine(governor, configuration.rules(),
            new JamesMxResolver(dns, configuration.gateways(), configuration.loadBalancing()), sessions,
            new ReplyClassifier(), configuration.engineSettings(), policy, threads);
        return new DeliveryCore(engine, dane, threads, sessions, content, refresh);
    }

    PartDelivery delivery() {
        return engine;
    }

    /** Gives the engine reloaded rules. */
    void useRules(RuleSet rules) {
        engine.useRules(rules);
    }

    /** The engine, for tests. */
    DeliveryEngine engine() {
        return engine;
    }

    DaneLookup daneLookup() {
        return daneLookup;
    }

    /** Stops the threads and the SMTP client; call once the engine was closed (the queue runner closes it). */
    @Override
    public void close() {
        mtaStsRefresh.ifPresent(ScheduledExecutorService::shutdownNow);
        sessions.close();
        contentThreads.shutdownNow();
        engineThreads.close();
    }

    /**
     * TLSA lookups through our own DNSSEC-validating resolver, built on the first lookup: only MX hosts whose rule
     * says {@code dane="true"} are asked, and a resolver that cannot be built (no system name server, say) makes
     * their verdict unusable (deferred), never plaintext.
     */
    private static final class LazyDaneLookup implements DaneLookup {
        private final ValidatingTlsaLookup.Builder settings;
        private final Clock clock;
        private DaneLookup resolver;
        private String description = "not built yet (built on the first lookup of a rule with dane=\"true\")";

        LazyDaneLookup(ValidatingTlsaLookup.Builder settings, Clock clock) {
            this.settings = settings;
            this.clock = clock;
        }

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
    }
}

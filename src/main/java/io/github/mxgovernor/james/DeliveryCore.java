package io.github.mxgovernor.james;

import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.delivery.DeliveryEngine;
import io.github.mxgovernor.delivery.PartDelivery;
import io.github.mxgovernor.delivery.ReplyClassifier;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.PeriodicTask;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SocketSmtpSessionFactory;
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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.apache.james.dnsservice.api.DNSService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The core as one governed mailet runs it, built in this one place from the mailet's configuration: the TLS policy
 * (MTA-STS policies and the threads that fetch them, DANE) and the delivery engine, seen by the edge as a
 * {@link PartDelivery}. The queue runner closes the engine; {@link #close()} then stops the MTA-STS threads.
 */
final class DeliveryCore implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeliveryCore.class);
    private static final Duration MTA_STS_RECHECK = Duration.ofMinutes(5);
    private static final Duration MTA_STS_REFRESH = Duration.ofMinutes(1);
    private static final int MTA_STS_DOMAINS = 100_000;

    private final DeliveryEngine engine;
    private final DaneLookup daneLookup;
    private final Optional<ScheduledExecutorService> mtaStsThreads;

    private DeliveryCore(DeliveryEngine engine, DaneLookup daneLookup, Optional<ScheduledExecutorService> mtaStsThreads) {
        this.engine = engine;
        this.daneLookup = daneLookup;
        this.mtaStsThreads = mtaStsThreads;
    }

    static DeliveryCore start(DeliveryConfiguration configuration, Governor governor, DNSService dns, Clock clock) {
        TlsConfiguration tls = configuration.tls();
        DaneLookup dane = new LazyDaneLookup(tls.daneResolver(), clock);
        PlaintextFallbacks fallbacks = new PlaintextFallbacks(tls.fallbackMemory(), clock);
        Optional<ScheduledExecutorService> threads = Optional.empty();
        TlsPolicyResolver policy;
        if (configuration.mtaSts()) {
            ScheduledExecutorService mtaSts = Executors.newScheduledThreadPool(4,
                new DaemonThreadFactory("mx-governor-mta-sts"));
            MtaStsPolicyCache policies = new MtaStsPolicyCache(dns::findTXTRecords,
                new HttpsPolicyFetcher(tls.trust().clientContext(), configuration.mtaStsTimeout()), clock, mtaSts,
                MTA_STS_RECHECK, MTA_STS_DOMAINS);
            PeriodicTask.schedule(mtaSts, "MTA-STS background refresh", MTA_STS_REFRESH, policies::refreshExpiring);
            policy = new TlsPolicyResolver(Optional.of(policies), dane, fallbacks);
            threads = Optional.of(mtaSts);
        } else {
            policy = new TlsPolicyResolver(Optional.empty(), dane, fallbacks);
        }
        DeliveryEngine engine = new DeliveryEngine(governor, configuration.rules(),
            new JamesMxResolver(dns, configuration.gateways(), configuration.loadBalancing()),
            new SocketSmtpSessionFactory(tls.trust().trustManager()), new ReplyClassifier(),
            configuration.engineSettings(), policy);
        return new DeliveryCore(engine, dane, threads);
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

    @Override
    public void close() {
        mtaStsThreads.ifPresent(ScheduledExecutorService::shutdownNow);
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

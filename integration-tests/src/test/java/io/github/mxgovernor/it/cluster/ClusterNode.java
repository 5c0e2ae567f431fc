package io.github.mxgovernor.it.cluster;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.delivery.DaemonThreadFactory;
import io.github.mxgovernor.delivery.DeliveryEngine;
import io.github.mxgovernor.delivery.DeliveryPart;
import io.github.mxgovernor.delivery.EngineSettings;
import io.github.mxgovernor.delivery.MxResolution;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.delivery.ReplyClassifier;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.NettySmtpSessionFactory;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.time.Ticker;
import io.github.mxgovernor.tls.TlsTrust;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One James node as far as the governor goes: its own cluster store connection, governor and delivery engine (real
 * SMTP sessions), delivering every domain to one fake MX.
 */
final class ClusterNode implements AutoCloseable {
    final String name;
    final ClusterStore store;
    final Governor governor;
    private final ExecutorService content;
    private final NettySmtpSessionFactory sessions;
    private final DeliveryEngine engine;

    ClusterNode(String name, StoreSettings settings, MxRule rule, SmtpEndpoint mx, Duration maxLaneWait) {
        this.name = name;
        this.store = ClusterStore.open(settings);
        this.governor = new Governor(Clock.systemUTC(), Ticker.SYSTEM, () -> ThreadLocalRandom.current().nextDouble(),
            Optional.of(store));
        this.content = Executors.newFixedThreadPool(2, new DaemonThreadFactory("cluster-it-content-" + name));
        this.sessions = new NettySmtpSessionFactory(TlsTrust.jdkDefault().trustManager(), content, 1);
        this.engine = new DeliveryEngine(governor, RuleSet.of(rule, List.of()),
            domain -> MxResolution.found(List.of(mx)), sessions, new ReplyClassifier(),
            EngineSettings.builder().heloName(name + ".cluster.test").maxLaneWait(maxLaneWait).build());
    }

    /** One mail to {@code recipient}, its Message-ID {@code id}. */
    CompletableFuture<Map<String, Outcome>> send(String id, String recipient) {
        byte[] message = ("Message-ID: <" + id + "@cluster.test>\r\nSubject: " + id + "\r\n\r\nhello\r\n")
            .getBytes(StandardCharsets.US_ASCII);
        String domain = recipient.substring(recipient.indexOf('@') + 1);
        return engine.deliver(new DeliveryPart(id, domain, new SmtpTransaction("sender@cluster.test",
            List.of(recipient), out -> out.write(message), false), false, Optional.empty()));
    }

    Optional<Destination> destination(String name) {
        return governor.find(name);
    }

    @Override
    public void close() {
        engine.close(Duration.ofSeconds(2));
        sessions.close();
        content.shutdownNow();
        store.close();
    }
}

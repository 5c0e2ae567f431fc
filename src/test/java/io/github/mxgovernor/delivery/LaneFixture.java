package io.github.mxgovernor.delivery;

import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.FakeScheduler;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SecuredSession;
import io.github.mxgovernor.tls.SessionOpener;
import io.github.mxgovernor.tls.SessionSecurity;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsRequirement;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One lane, or one pool, with everything around them real but the sessions (fake, their futures held or completed by
 * hand) and the time (a fake scheduler and ticker, a fake wall clock). Work runs on the thread that triggers it.
 */
final class LaneFixture {
    final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    final FakeScheduler time = new FakeScheduler();
    final FakeSmtpSessions sessions = new FakeSmtpSessions();
    final Governor governor = new Governor(clock, time, () -> 0.5);
    final TlsPolicyResolver tlsPolicy = TlsPolicyResolver.rulesOnly(clock);
    final InFlight inFlight = new InFlight();
    final List<PendingPart> rerouted = Collections.synchronizedList(new ArrayList<>());
    final EngineSettings settings;
    final AttemptRecorder recorder;
    final AttemptRunner runner;

    LaneFixture() {
        this(EngineHarness.settings().build());
    }

    LaneFixture(EngineSettings settings) {
        this.settings = settings;
        this.recorder = new AttemptRecorder(new ReturnSchedule(settings.retrySchedule(), settings.maxAge(),
            settings.localDeferralDelay(), clock, () -> 0.5), tlsPolicy, governor);
        SessionOpener opener = new SessionOpener(new SessionWatchdog(sessions, time), tlsPolicy, Runnable::run, time,
            settings.lookupTimeout(), settings.heloName(), Optional.empty(), Optional.empty());
        this.runner = new AttemptRunner(opener, new ReplyClassifier(), recorder, tlsPolicy, inFlight, Runnable::run,
            rerouted::add);
    }

    Destination destination(MxRule rule, String host) {
        return governor.destination(rule, host);
    }

    DeliveryLane lane(Destination destination) {
        return new DeliveryLane(destination, settings, new SmtpSessionPool(destination, tlsPolicy), runner, recorder,
            inFlight, time, time, clock, Runnable::run);
    }

    /** Lowers (or raises) the rule's caps as a rules reload does. */
    void reload(MxRule rule) {
        governor.applyRules(List.of(RuleSet.of(MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").build(),
            List.of(rule))));
    }

    /** A routed part to {@code hosts}, in the order given, without MTA-STS. */
    static PendingPart part(String localPart, boolean requireTls, String... hosts) {
        DeliveryPart part = EngineHarness.part(localPart + "-to-example.com", "example.com", new SmtpTransaction(
            "sender@local.test", List.of(localPart + "@example.com"), out -> out.write('x'), false,
            io.github.mxgovernor.smtp.DsnRequest.NONE, requireTls), false);
        PendingPart pending = new PendingPart(part, new CompletableFuture<>());
        List<SmtpEndpoint> endpoints = new ArrayList<>();
        for (String host : hosts) {
            endpoints.add(endpoint(host));
        }
        pending.routeTo(endpoints, DomainTlsPolicy.none("example.com", "MTA-STS not used"));
        return pending;
    }

    static PendingPart part(String localPart, String... hosts) {
        return part(localPart, false, hosts);
    }

    static SmtpEndpoint endpoint(String host) {
        try {
            return new SmtpEndpoint(host, InetAddress.getByName("127.0.0.2"), 25);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An open session to {@code host} on a slot of {@code destination}, as plaintext or verified TLS. */
    PooledSession session(Destination destination, String host, boolean verified, List<PooledSession> gone) {
        FakeSmtpSessions.FakeSession fake = (FakeSmtpSessions.FakeSession) sessions.open(endpoint(host),
            null).join();
        TlsRequirement requirement = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'all'"),
            DaneVerdict.notAsked());
        SessionSecurity security = verified
            ? SessionSecurity.encrypted(host, SessionSecurity.Protection.VERIFIED, "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                requirement, CertificateCheck.valid())
            : SessionSecurity.plaintext(host, requirement, false);
        ConnectionSlot slot = ConnectionSlot.tryAcquire(destination, null);
        if (slot == null) {
            throw new IllegalStateException("no slot left at " + destination);
        }
        return new PooledSession(new SecuredSession(fake, security), slot, (session, wasClosing) -> gone.add(session));
    }

    static Outcome outcome(PendingPart part) {
        return EngineHarness.outcome(part.result());
    }
}

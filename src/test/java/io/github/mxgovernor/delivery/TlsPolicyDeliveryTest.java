package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.governor.TlsOutcome;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.smtp.SmtpEndpoint;
import io.github.mxgovernor.smtp.NettySmtpSessionFactory;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.StartTlsServer;
import io.github.mxgovernor.testing.StartTlsServer.Behaviour;
import io.github.mxgovernor.testing.TestPki;
import io.github.mxgovernor.tls.DaneLookup;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.MtaStsException;
import io.github.mxgovernor.tls.MtaStsPolicyCache;
import io.github.mxgovernor.tls.PlaintextFallbacks;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsTrust;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The engine under every TLS policy, against real loopback servers and certificates from a test CA: what each mode
 * does with each server, plaintext fallback, REQUIRETLS, MTA-STS and DANE, and that a session is never reused for a
 * part that needs more than it has.
 */
class TlsPolicyDeliveryTest {
    private static final String MX = "mx.tls.test";
    private static final String DOMAIN = "example.test";
    private static final String RULE = "tls-test";
    private static final String MARKER = "confidential-marker-7f3a";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final FakeClock clock = FakeClock.at("2025-03-01T10:00:00Z");
    private final TestPki pki = TestPki.authority();
    private final ExecutorService contentThreads = Executors.newFixedThreadPool(2);
    private NettySmtpSessionFactory sessions;
    private StartTlsServer server;
    private DeliveryEngine engine;
    private Optional<io.github.mxgovernor.smtp.SmtpCredentials> credentials = Optional.empty();

    @AfterEach
    void tearDown() throws Exception {
        if (engine != null) {
            engine.close(Duration.ofSeconds(1));
        }
        if (server != null) {
            server.close();
        }
        if (sessions != null) {
            sessions.close();
        }
        contentThreads.shutdownNow();
    }

    @ParameterizedTest(name = "{0} against {1}/{2}: {3}")
    @CsvSource({
        "DISABLED,      NO_STARTTLS,     none,        plaintext",
        "DISABLED,      REFUSE_STARTTLS, none,        plaintext",
        "DISABLED,      BREAK_HANDSHAKE, none,        plaintext",
        "DISABLED,      TLS,             valid,       plaintext",
        "DISABLED,      TLS,             self-signed, plaintext",
        "DISABLED,      TLS,             expired,     plaintext",
        "DISABLED,      TLS,             wrong-host,  plaintext",
        "OPPORTUNISTIC, NO_STARTTLS,     none,        plaintext",
        "OPPORTUNISTIC, REFUSE_STARTTLS, none,        plaintext",
        "OPPORTUNISTIC, BREAK_HANDSHAKE, none,        plaintext-fallback",
        "OPPORTUNISTIC, TLS,             valid,       encrypted",
        "OPPORTUNISTIC, TLS,             self-signed, encrypted",
        "OPPORTUNISTIC, TLS,             expired,     encrypted",
        "OPPORTUNISTIC, TLS,             wrong-host,  encrypted",
        "REQUIRED,      NO_STARTTLS,     none,        NO_STARTTLS",
        "REQUIRED,      REFUSE_STARTTLS, none,        STARTTLS_REFUSED",
        "REQUIRED,      BREAK_HANDSHAKE, none,        HANDSHAKE",
        "REQUIRED,      TLS,             valid,       encrypted",
        "REQUIRED,      TLS,             self-signed, encrypted",
        "REQUIRED,      TLS,             expired,     encrypted",
        "REQUIRED,      TLS,             wrong-host,  encrypted",
        "VERIFY,        NO_STARTTLS,     none,        NO_STARTTLS",
        "VERIFY,        REFUSE_STARTTLS, none,        STARTTLS_REFUSED",
        "VERIFY,        BREAK_HANDSHAKE, none,        HANDSHAKE",
        "VERIFY,        TLS,             valid,       verified",
        "VERIFY,        TLS,             self-signed, UNTRUSTED_CHAIN",
        "VERIFY,        TLS,             expired,     EXPIRED_CERTIFICATE",
        "VERIFY,        TLS,             wrong-host,  HOST_NAME_MISMATCH",
    })
    void everyModeShouldMeetEveryServerAsItsPolicySays(TlsMode mode, Behaviour behaviour, String certificate,
                                                       String expected) throws Exception {
        server = StartTlsServer.start(behaviour, certificate(certificate));
        engine = engine(rule(mode), TlsPolicyResolver.rulesOnly(clock));

        Outcome outcome = deliver(part(false));

        if (expected.startsWith("plaintext") || expected.equals("encrypted") || expected.equals("verified")) {
            assertThat(outcome.kind()).as(outcome.toString()).isEqualTo(Outcome.Kind.DELIVERED);
            Map<String, String> report = outcome.tls().orElseThrow().fields();
            boolean plaintext = expected.startsWith("plaintext");
            assertThat(report.get("protection")).isEqualTo(plaintext ? "plaintext" : expected);
            assertThat(server.messages()).hasSize(1);
            assertThat(server.messages().get(0).overTls).isEqualTo(!plaintext);
            assertThat(server.plaintextReceived().contains(MARKER)).isEqualTo(plaintext);
            if (plaintext) {
                assertThat(report).doesNotContainKeys("protocol", "cipher", "certificate");
            } else {
                assertThat(report.get("protocol")).startsWith("TLSv1.");
                assertThat(report.get("cipher")).startsWith("TLS_");
                // checked in every encrypted session, enforced only in VERIFY
                assertThat(report.get("certificate")).startsWith(checkFound(certificate));
            }
            assertThat(report.containsKey("fallback")).isEqualTo(expected.equals("plaintext-fallback"));
        } else {
            TlsProblem problem = TlsProblem.valueOf(expected);
            assertDeferredForTls(outcome, problem, "rule '" + RULE + "'");
            assertThat(destination().stats().tlsCount(TlsOutcome.FAILED)).isEqualTo(1);
        }
        if (mode == TlsMode.DISABLED) {
            assertThat(server.commands()).doesNotContain("STARTTLS");
        }
    }

    @Test
    void aDestinationShouldCountSessionsByProtection() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.VERIFY), TlsPolicyResolver.rulesOnly(clock));

        deliver(part(false));

        Destination destination = destination();
        assertThat(destination.stats().tlsCount(TlsOutcome.VERIFIED)).isEqualTo(1);
        assertThat(destination.stats().tlsCount(TlsOutcome.ENCRYPTED)).isZero();
        assertThat(destination.stats().tlsCount(TlsOutcome.PLAINTEXT)).isZero();
        assertThat(server.serverNames()).containsExactly(MX);
    }

    @Test
    void aFailedOpportunisticHandshakeShouldBeRememberedForTheConfiguredTimeOnly() throws Exception {
        server = StartTlsServer.start(Behaviour.BREAK_HANDSHAKE, null);
        TlsPolicyResolver resolver = new TlsPolicyResolver(Optional.empty(), DaneLookup.NOT_CONFIGURED,
            new PlaintextFallbacks(Duration.ofMinutes(30), clock));
        engine = engine(rule(TlsMode.OPPORTUNISTIC).maxMessagesPerConnection(1), resolver);

        assertThat(deliver(part(false)).tls().orElseThrow().fields()).containsKey("fallback");
        assertThat(server.commands()).containsOnlyOnce("STARTTLS");

        clock.advance(Duration.ofMinutes(29));
        assertThat(deliver(part(false)).tls().orElseThrow().fields()).containsKey("fallback");
        assertThat(server.commands()).containsOnlyOnce("STARTTLS");

        clock.advance(Duration.ofMinutes(2));
        assertThat(deliver(part(false)).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(server.commands().stream().filter("STARTTLS"::equals)).hasSize(2);
        assertThat(server.messages()).hasSize(3).allMatch(message -> !message.overTls);
    }

    @Test
    void requireTlsShouldRaiseAnOpportunisticRuleToVerifiedTls() throws Exception {
        server = StartTlsServer.start(Behaviour.NO_STARTTLS, null);
        engine = engine(rule(TlsMode.OPPORTUNISTIC), TlsPolicyResolver.rulesOnly(clock));

        assertDeferredForTls(deliver(part(true)), TlsProblem.NO_STARTTLS, "REQUIRETLS requires verified TLS");
    }

    @Test
    void requireTlsShouldBeMetByAVerifiedSession() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), TlsPolicyResolver.rulesOnly(clock));

        Outcome outcome = deliver(part(true));

        assertThat(outcome.tls().orElseThrow().fields()).containsEntry("protection", "verified")
            .containsEntry("policy", "REQUIRETLS requires verified TLS (PKIX chain and host name)");
        assertThat(server.mailFromLines()).containsExactly("MAIL FROM:<sender@local.test> REQUIRETLS");
    }

    @Test
    void requireTlsShouldBounceAtAServerThatDoesNotOfferIt() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        server.requireTlsOffered(false);
        engine = engine(rule(TlsMode.OPPORTUNISTIC), TlsPolicyResolver.rulesOnly(clock));

        Outcome outcome = deliver(part(true));

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.BOUNCED);
        assertThat(outcome.message()).isEqualTo("not sent: 5.7.30 the sender asked for REQUIRETLS and " + MX
            + " does not offer it");
        assertThat(server.mailFromLines()).isEmpty();
    }

    @Test
    void aMailWithoutRequireTlsShouldNotAskForIt() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.VERIFY), TlsPolicyResolver.rulesOnly(clock));

        deliver(part(false));

        assertThat(server.mailFromLines()).containsExactly("MAIL FROM:<sender@local.test>");
    }

    @Test
    void aSessionShouldNeverCarryAPartThatNeedsMoreTlsThanItHas() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), TlsPolicyResolver.rulesOnly(clock));

        Outcome opportunistic = deliver(part(false));
        Outcome required = deliver(part(true));
        Outcome again = deliver(part(false));

        assertThat(opportunistic.tls().orElseThrow().fields()).containsEntry("protection", "encrypted");
        assertThat(required.tls().orElseThrow().fields()).containsEntry("protection", "verified");
        // the third reuses one of the two idle sessions: both protect it enough
        assertThat(again.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void aLaneAtItsConnectionCapShouldReplaceAnIdleSessionTooWeakForTheNextPart() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC).maxConnections(1), TlsPolicyResolver.rulesOnly(clock));

        deliver(part(false));
        Outcome required = deliver(part(true));

        assertThat(required.tls().orElseThrow().fields()).containsEntry("protection", "verified");
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void mtaStsEnforceShouldRequireVerifiedTlsOfAnOpportunisticRule() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: enforce\nmx: *.tls.test\n"));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.tls().orElseThrow().fields())
            .containsEntry("protection", "verified")
            .containsEntry("policy", "MTA-STS enforce policy of " + DOMAIN
                + " requires verified TLS (PKIX chain and host name)")
            .hasEntrySatisfying("mtaSts", status -> assertThat(status).startsWith("enforce (id 20250301"));
    }

    @Test
    void mtaStsEnforceShouldDeferWhenTheCertificateIsNotTrusted() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.selfSigned(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: enforce\nmx: mx.tls.test\n"));

        Outcome outcome = deliver(part(false));

        assertDeferredForTls(outcome, TlsProblem.UNTRUSTED_CHAIN,
            "MTA-STS enforce policy of " + DOMAIN + " requires verified TLS");
        assertThat(outcome.message()).contains("[MTA-STS of " + DOMAIN + ": enforce (id 20250301T000000, until ");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"NO_STARTTLS, NO_STARTTLS", "REFUSE_STARTTLS, STARTTLS_REFUSED", "BREAK_HANDSHAKE, HANDSHAKE"})
    void mtaStsEnforceShouldNeverSendAByteOfTheMailInPlaintext(Behaviour behaviour, TlsProblem problem)
            throws Exception {
        server = StartTlsServer.start(behaviour, null);
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: enforce\nmx: *.tls.test\n"));

        assertDeferredForTls(deliver(part(false)), problem, "MTA-STS enforce policy of " + DOMAIN
            + " requires verified TLS");
    }

    @Test
    void aTlsFailureShouldSayWhenTheMtaStsPolicyCouldNotBeFetched() throws Exception {
        server = StartTlsServer.start(Behaviour.NO_STARTTLS, null);
        MtaStsPolicyCache cache = new MtaStsPolicyCache(name -> List.of("v=STSv1; id=1;"), domain -> {
            throw new MtaStsException("https://mta-sts." + domain + "/.well-known/mta-sts.txt: HTTP 503");
        }, clock, Runnable::run, Duration.ofMinutes(5), 100);
        engine = engine(rule(TlsMode.REQUIRED), new TlsPolicyResolver(Optional.of(cache), DaneLookup.NOT_CONFIGURED,
            new PlaintextFallbacks(Duration.ofHours(1), clock)));

        Outcome outcome = deliver(part(false));

        assertDeferredForTls(outcome, TlsProblem.NO_STARTTLS, "rule '" + RULE + "' requires TLS");
        assertThat(outcome.message()).endsWith("[MTA-STS of " + DOMAIN + ": policy fetch failed: https://mta-sts."
            + DOMAIN + "/.well-known/mta-sts.txt: HTTP 503]");
    }

    @Test
    void mtaStsEnforceShouldSkipMxHostsItDoesNotList() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: enforce\nmx: mx.other.test\n"));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).startsWith("TLS policy not met for " + DOMAIN + ": its MTA-STS enforce policy")
            .endsWith("lists [mx.other.test]; MX host not listed in the MTA-STS policy: " + MX);
        assertThat(server.connections()).isZero();
    }

    @Test
    void mtaStsTestingShouldDeliverAndRecordWhatEnforceWouldRefuse() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.selfSigned(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: testing\nmx: mx.other.test\n"));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.tls().orElseThrow().fields())
            .containsEntry("protection", "encrypted")
            .hasEntrySatisfying("mtaStsTesting", text -> assertThat(text)
                .startsWith("MTA-STS testing: " + MX + " is not in [mx.other.test]; certificate chain not trusted: "));
    }

    @ParameterizedTest(name = "{0} against {1}/{2}: {3}")
    @CsvSource(delimiter = '|', value = {
        "OPPORTUNISTIC | TLS             | valid       | ",
        "OPPORTUNISTIC | TLS             | self-signed | MTA-STS testing: certificate chain not trusted: ",
        "OPPORTUNISTIC | TLS             | expired     | MTA-STS testing: certificate expired or not yet valid: ",
        "OPPORTUNISTIC | TLS             | wrong-host  | MTA-STS testing: certificate does not name the MX host: ",
        "OPPORTUNISTIC | NO_STARTTLS     | none        | MTA-STS testing: the session was not encrypted",
        "OPPORTUNISTIC | BREAK_HANDSHAKE | none        | MTA-STS testing: the session was not encrypted (plaintext"
            + " after a failed TLS handshake)",
        "REQUIRED      | TLS             | valid       | ",
        "REQUIRED      | TLS             | self-signed | MTA-STS testing: certificate chain not trusted: ",
        "REQUIRED      | TLS             | expired     | MTA-STS testing: certificate expired or not yet valid: ",
        "REQUIRED      | TLS             | wrong-host  | MTA-STS testing: certificate does not name the MX host: ",
        "VERIFY        | TLS             | valid       | ",
    })
    void mtaStsTestingShouldRecordTheCertificateFailuresEnforceWouldRefuse(TlsMode mode, Behaviour behaviour,
                                                                          String certificate, String recorded)
            throws Exception {
        server = StartTlsServer.start(behaviour, certificate(certificate));
        engine = engine(rule(mode), mtaSts("mode: testing\nmx: *.tls.test\n"));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.kind()).as(outcome.toString()).isEqualTo(Outcome.Kind.DELIVERED);
        Map<String, String> report = outcome.tls().orElseThrow().fields();
        assertThat(report.get("mtaSts")).startsWith("testing (id 20250301T000000");
        if (recorded == null) {
            assertThat(report).doesNotContainKey("mtaStsTesting")
                .containsEntry("certificate", "valid (PKIX chain, validity dates and host name)");
            assertThat(destination().stats().tlsCount(TlsOutcome.MTA_STS_TESTING_FAILED)).isZero();
        } else {
            assertThat(report.get("mtaStsTesting")).startsWith(recorded);
            assertThat(destination().stats().tlsCount(TlsOutcome.MTA_STS_TESTING_FAILED)).isEqualTo(1);
        }
        assertThat(server.messages()).hasSize(1);
    }

    @Test
    void mtaStsTestingFailuresShouldBeCountedOncePerSessionAndEveryNewSessionChecked() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue("other.test"));
        engine = engine(rule(TlsMode.OPPORTUNISTIC).maxMessagesPerConnection(2), mtaSts("mode: testing\nmx:"
            + " *.tls.test\n"));

        // two mails on the first connection, the third on a second one, which resumes the first one's TLS session
        // (no certificate in its handshake): the check of the first handshake still applies
        List<Outcome> outcomes = List.of(deliver(part(false)), deliver(part(false)), deliver(part(false)));

        assertThat(server.connections()).isEqualTo(2);
        assertThat(outcomes).allSatisfy(outcome -> assertThat(outcome.tls().orElseThrow().fields().get(
            "mtaStsTesting")).startsWith("MTA-STS testing: certificate does not name the MX host: "));
        assertThat(destination().stats().tlsCount(TlsOutcome.MTA_STS_TESTING_FAILED)).isEqualTo(2);
        assertThat(destination().stats().tlsCount(TlsOutcome.ENCRYPTED)).isEqualTo(2);
    }

    @Test
    void aDomainWithoutTestingPolicyShouldRecordTheCertificateButNoTestingFailure() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.selfSigned(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), TlsPolicyResolver.rulesOnly(clock));

        Map<String, String> report = deliver(part(false)).tls().orElseThrow().fields();

        assertThat(report.get("certificate")).startsWith("certificate chain not trusted: ");
        assertThat(report).doesNotContainKey("mtaStsTesting");
        assertThat(destination().stats().tlsCount(TlsOutcome.MTA_STS_TESTING_FAILED)).isZero();
    }

    @Test
    void aMalformedMtaStsPolicyShouldLeaveTheMailToTheRuleAndSaySo() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.selfSigned(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC), mtaSts("mode: enforce\nmx: *.tls.test\nmax_age: forever\n"));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(outcome.tls().orElseThrow().fields())
            .containsEntry("protection", "encrypted")
            .containsEntry("mtaSts", "policy of " + DOMAIN + " malformed: max_age must be 1 to 10 digits (seconds),"
                + " was 'forever'");
    }

    @Test
    void daneShouldAcceptACertificateMatchingTheTlsaRecordsWithoutPkix() throws Exception {
        TestPki.ServerCertificate selfSigned = pki.selfSigned(MX);
        server = StartTlsServer.start(Behaviour.TLS, selfSigned);
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true), dane((host, port) -> DaneVerdict.required("3 1 1 aa",
            (chain, mxHost) -> chain.get(0).equals(selfSigned.certificate()) && mxHost.equals(MX))));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.tls().orElseThrow().fields())
            .containsEntry("protection", "dane-verified")
            .containsEntry("policy", "DANE requires a certificate matching TLSA 3 1 1 aa")
            .containsEntry("dane", "TLSA 3 1 1 aa");
    }

    @Test
    void daneShouldDeferWhenTheCertificateMatchesNoRecord() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true),
            dane((host, port) -> DaneVerdict.required("3 1 1 bb", (chain, mxHost) -> false)));

        assertDeferredForTls(deliver(part(false)), TlsProblem.TLSA_MISMATCH,
            "DANE requires a certificate matching TLSA 3 1 1 bb");
    }

    @Test
    void daneShouldNeverFallBackToPlaintextWhenTlsaRecordsExist() throws Exception {
        server = StartTlsServer.start(Behaviour.NO_STARTTLS, null);
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true),
            dane((host, port) -> DaneVerdict.required("3 1 1 cc", (chain, mxHost) -> true)));

        assertDeferredForTls(deliver(part(false)), TlsProblem.NO_STARTTLS, "DANE requires");
    }

    @Test
    void aBogusTlsaLookupShouldDeferWithoutConnecting() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true),
            dane((host, port) -> DaneVerdict.unusable("bogus: RRSIG expired")));

        Outcome outcome = deliver(part(false));

        assertDeferredForTls(outcome, TlsProblem.TLSA_LOOKUP, "DANE cannot be evaluated (bogus: RRSIG expired)");
        assertThat(server.connections()).isZero();
    }

    @Test
    void anInsecureTlsaAnswerShouldLeaveTheRuleModeInForce() throws Exception {
        server = StartTlsServer.start(Behaviour.NO_STARTTLS, null);
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true),
            dane((host, port) -> DaneVerdict.notApplicable("insecure: unsigned zone")));

        Outcome outcome = deliver(part(false));

        assertThat(outcome.tls().orElseThrow().fields()).containsEntry("protection", "plaintext")
            .containsEntry("dane", "not applicable: insecure: unsigned zone");
    }

    @Test
    void daneShouldLookUpTheEndpointsTlsaPortNotTheOneItConnectsTo() throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, pki.issue(MX));
        List<String> asked = new CopyOnWriteArrayList<>();
        engine = engine(rule(TlsMode.OPPORTUNISTIC).dane(true), dane((host, port) -> {
            asked.add(host + ":" + port);
            return DaneVerdict.notApplicable("insecure: unsigned zone");
        }), new SmtpEndpoint(MX, server.address(), server.port(), SmtpEndpoint.SMTP_PORT));

        assertThat(deliver(part(false)).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(asked).containsExactly(MX + ":25");
        assertThat(server.port()).isNotEqualTo(25);
    }

    @Test
    void aRuleWithoutDaneShouldNeverLookUpTlsa() throws Exception {
        server = StartTlsServer.start(Behaviour.NO_STARTTLS, null);
        AtomicInteger lookups = new AtomicInteger();
        engine = engine(rule(TlsMode.OPPORTUNISTIC), dane((host, port) -> {
            lookups.incrementAndGet();
            return DaneVerdict.unusable("should not be asked");
        }));

        assertThat(deliver(part(false)).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(lookups).hasValue(0);
    }

    @ParameterizedTest(name = "{0} gateway with a {1} certificate: AUTH sent {2}")
    @CsvSource({
        "OPPORTUNISTIC, self-signed, false",
        "REQUIRED,      self-signed, false",
        "OPPORTUNISTIC, wrong-host,  false",
        "OPPORTUNISTIC, valid,       true",
        "VERIFY,        valid,       true",
    })
    void credentialsShouldGoOnlyToAGatewayWhoseCertificatePassedTheChecks(TlsMode mode, String certificate,
                                                                        boolean sent) throws Exception {
        server = StartTlsServer.start(Behaviour.TLS, certificate(certificate));
        credentials = Optional.of(new io.github.mxgovernor.smtp.SmtpCredentials("relay-user", "relay-secret"));
        engine = engine(rule(mode), TlsPolicyResolver.rulesOnly(clock));

        Outcome outcome = deliver(part(false));

        if (sent) {
            assertThat(outcome.kind()).as(outcome.toString()).isEqualTo(Outcome.Kind.DELIVERED);
            assertThat(server.authLines()).singleElement().satisfies(line -> assertThat(line).startsWith("AUTH "));
        } else {
            assertDeferredForTls(outcome, certificate.equals("self-signed") ? TlsProblem.UNTRUSTED_CHAIN
                : TlsProblem.HOST_NAME_MISMATCH, "SMTP AUTH credentials not sent to " + MX);
            assertThat(server.commands()).doesNotContain("AUTH");
            assertThat(server.authLines()).isEmpty();
            assertThat(server.plaintextReceived()).doesNotContain("relay-secret");
        }
    }

    private void assertDeferredForTls(Outcome outcome, TlsProblem problem, String policy) {
        assertThat(outcome.kind()).as(outcome.toString()).isEqualTo(Outcome.Kind.DEFERRED);
        assertThat(outcome.reason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(outcome.message()).contains(policy).contains(problem.description());
        assertThat(server.messages()).isEmpty();
        assertThat(server.commands()).doesNotContain("MAIL", "RCPT", "DATA");
        assertThat(server.plaintextReceived()).doesNotContain(MARKER).doesNotContain("sender@local.test");
    }

    /** The start of what the certificate check finds of a server certificate of this kind. */
    private static String checkFound(String kind) {
        switch (kind) {
            case "valid":
                return "valid (PKIX chain, validity dates and host name)";
            case "self-signed":
                return "certificate chain not trusted: ";
            case "expired":
                return "certificate expired or not yet valid: ";
            case "wrong-host":
                return "certificate does not name the MX host: ";
            default:
                throw new IllegalArgumentException(kind);
        }
    }

    private TestPki.ServerCertificate certificate(String kind) {
        switch (kind) {
            case "valid":
                return pki.issue(MX);
            case "self-signed":
                return pki.selfSigned(MX);
            case "expired":
                return pki.expired(MX);
            case "wrong-host":
                return pki.issue("other.test");
            default:
                return null;
        }
    }

    private static MxRule.Builder rule(TlsMode mode) {
        return MxRule.builder(RULE).mxMasks("*.tls.test").tlsMode(mode).connectTimeout(TIMEOUT)
            .commandTimeout(TIMEOUT).dataTimeout(TIMEOUT);
    }

    private TlsPolicyResolver dane(DaneLookup lookup) {
        return new TlsPolicyResolver(Optional.empty(), lookup, new PlaintextFallbacks(Duration.ofHours(1), clock));
    }

    /** MTA-STS for {@link #DOMAIN}, serving {@code policy} after a version and max_age line. */
    private TlsPolicyResolver mtaSts(String policy) {
        String file = policy.contains("max_age") ? "version: STSv1\n" + policy
            : "version: STSv1\n" + policy + "max_age: 86400\n";
        Function<String, List<String>> txt = name -> name.equals("_mta-sts." + DOMAIN)
            ? List.of("v=STSv1; id=20250301T000000;") : List.of();
        MtaStsPolicyCache cache = new MtaStsPolicyCache(txt::apply, domain -> {
            if (!domain.equals(DOMAIN)) {
                throw new MtaStsException("unexpected domain " + domain);
            }
            return file;
        }, clock, Runnable::run, Duration.ofMinutes(5), 100);
        return new TlsPolicyResolver(Optional.of(cache), DaneLookup.NOT_CONFIGURED,
            new PlaintextFallbacks(Duration.ofHours(1), clock));
    }

    private DeliveryEngine engine(MxRule.Builder rule, TlsPolicyResolver resolver) throws Exception {
        return engine(rule, resolver, new SmtpEndpoint(MX, server.address(), server.port()));
    }

    private DeliveryEngine engine(MxRule.Builder rule, TlsPolicyResolver resolver, SmtpEndpoint endpoint)
            throws Exception {
        RuleSet rules = RuleSet.of(MxRule.builder(MxRule.DEFAULT_RULE_NAME).mxMasks("*").build(), List.of(rule.build()));
        if (sessions == null) {
            sessions = new NettySmtpSessionFactory(TlsTrust.of(pki.trustStore(), "test CA").trustManager(),
                contentThreads, 1);
        }
        return new DeliveryEngine(new Governor(clock), rules, domain -> MxResolution.found(List.of(endpoint)),
            sessions,
            new ReplyClassifier(), EngineSettings.builder().heloName("client.test").maxLaneWait(TIMEOUT)
                .gatewayCredentials(credentials).build(), resolver);
    }

    private Destination destination() {
        return engine.governor().destinations().iterator().next();
    }

    private static DeliveryPart part(boolean requireTls) {
        byte[] content = ("Subject: tls test\r\n\r\n" + MARKER + "\r\n").getBytes(StandardCharsets.US_ASCII);
        return EngineHarness.part("mail-to-" + DOMAIN, DOMAIN, new SmtpTransaction("sender@local.test",
            List.of("rcpt@" + DOMAIN), out -> out.write(content), false, io.github.mxgovernor.smtp.DsnRequest.NONE,
            requireTls), false);
    }

    private Outcome deliver(DeliveryPart part) throws Exception {
        Map<String, Outcome> outcomes = engine.deliver(part).get(20, TimeUnit.SECONDS);
        return outcomes.values().iterator().next();
    }
}

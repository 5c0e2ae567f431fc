package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.NettySmtpSessionTest.ehloReply;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.NettySmtpSessionTest.transaction;
import static io.github.mxgovernor.smtp.NettyFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.testing.TestPki;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsTrust;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NettySmtpSessionTlsTest {
    private static final String GREETING = "220 mx.test ESMTP ready";
    private static final String EHLO = "EHLO client.test";
    private static TestCertificate certificate;

    private final NettyFixture fixture = new NettyFixture();
    private ScriptedSmtpServer server;
    private SmtpSession session;

    @BeforeAll
    static void createCertificate() throws Exception {
        certificate = TestCertificate.mxTest();
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            NettyFixture.closeQuietly(session);
            if (server != null) {
                server.close();
            }
        } finally {
            fixture.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsMode.class, names = {"OPPORTUNISTIC", "REQUIRED"})
    void unverifiedTlsShouldAcceptAnUntrustedCertificateAndSayEhloAgain(TlsMode mode) throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING", "AUTH PLAIN"))
            .expectBurst("MAIL FROM:<sender@example.org>", "RCPT TO:<a@mx.test>", "DATA")
            .reply("250 ok", "250 ok", "354 go ahead")
            .expectBytes("Subject: hi\r\n\r\nbody\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        // the JDK's default trust store does not know the test certificate
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(mode)));

        TransactionResult result = await(session.send(transaction("a@mx.test")));

        TlsInfo tls = session.tls().orElseThrow();
        assertThat(tls.protocol()).startsWith("TLSv1.");
        assertThat(tls.cipherSuite()).startsWith("TLS_");
        assertThat(tls.peerCertificates()).containsExactly(certificate.certificate());
        // checked, not enforced
        assertThat(tls.certificateCheck().kind()).isEqualTo(CertificateCheck.Kind.FAILED);
        assertThat(tls.certificateCheck().problem()).contains(TlsProblem.UNTRUSTED_CHAIN);
        assertThat(session.extensions()).containsExactlyInAnyOrder("PIPELINING", "AUTH");
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void verifyShouldAcceptATrustedCertificateNamingTheMxHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING"))
            .expect("QUIT").reply("221 bye").expectClosed());

        session = await(fixture.verifyingWith(certificate.trustingClientContext())
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY)));

        assertThat(session.tls().orElseThrow().certificateCheck()).isEqualTo(CertificateCheck.valid());
        assertThat(session.extensions()).containsExactly("PIPELINING");
        assertThat(server.requestedServerNames()).containsExactly(new SNIHostName(TestCertificate.HOST_NAME));
    }

    @Test
    void aFactoryGivenOnlyAVerifyingContextShouldSayItDidNotCheckUnverifiedSessions() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING"))
            .expect("QUIT").reply("221 bye").expectClosed());

        session = await(fixture.verifyingWith(certificate.trustingClientContext())
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.OPPORTUNISTIC)));

        assertThat(session.tls().orElseThrow().certificateCheck())
            .isEqualTo(CertificateCheck.notChecked("no trust anchors to check it against"));
    }

    @Test
    void verifyShouldRefuseACertificateForAnotherHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());
        NettySmtpSessionFactory factory = fixture.verifyingWith(certificate.trustingClientContext());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(factory.open(server.endpoint("other.test"), settings(TlsMode.VERIFY))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure.tlsProblem()).contains(TlsProblem.HOST_NAME_MISMATCH);
        assertThat(failure).hasMessageStartingWith("other.test[127.0.0.1]:" + server.endpoint().port()
            + ": certificate does not name the MX host (TLS mode VERIFY): ")
            .hasCauseInstanceOf(SSLHandshakeException.class);
        assertThat(server.received()).doesNotContain("MAIL");
    }

    @Test
    void verifyShouldRefuseAnUntrustedCertificate() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.VERIFY))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure.tlsProblem()).contains(TlsProblem.UNTRUSTED_CHAIN);
        assertThat(failure).hasMessageContaining("certificate chain not trusted (TLS mode VERIFY)");
    }

    @Test
    void verifyShouldSayWhenTheCertificateExpired() throws Exception {
        TestPki pki = TestPki.authority();
        server = ScriptedSmtpServer.startWithTls(pki.expired(TestCertificate.HOST_NAME).serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());

        SmtpSessionException failure = catchThrowableOfType(() -> await(verifyingTestCa()
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY))), SmtpSessionException.class);

        assertThat(failure.tlsProblem()).contains(TlsProblem.EXPIRED_CERTIFICATE);
        assertThat(failure).hasMessageContaining("certificate expired or not yet valid (TLS mode VERIFY)");
    }

    @Test
    void verifyShouldSayWhenTheCertificateIsSelfSigned() throws Exception {
        server = ScriptedSmtpServer.startWithTls(
            TestPki.authority().selfSigned(TestCertificate.HOST_NAME).serverContext(), offeringTls()
                .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());

        SmtpSessionException failure = catchThrowableOfType(() -> await(verifyingTestCa()
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY))), SmtpSessionException.class);

        assertThat(failure.tlsProblem()).contains(TlsProblem.UNTRUSTED_CHAIN);
    }

    @Test
    void verifyShouldAcceptACertificateTheTrustedCaIssuedForTheHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(
            TestPki.authority().issue(TestCertificate.HOST_NAME).serverContext(), offeringTls()
                .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
                .expect(EHLO).reply(ehloReply("PIPELINING"))
                .expect("QUIT").reply("221 bye").expectClosed());

        session = await(verifyingTestCa().open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY)));

        assertThat(session.tls().orElseThrow().peerCertificates()).hasSize(2);
    }

    @Test
    void verifyShouldSayWhenTheCaIssuedTheCertificateForAnotherHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(TestPki.authority().issue("other.test").serverContext(),
            offeringTls().expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());

        SmtpSessionException failure = catchThrowableOfType(() -> await(verifyingTestCa()
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY))), SmtpSessionException.class);

        assertThat(failure.tlsProblem()).contains(TlsProblem.HOST_NAME_MISMATCH);
    }

    @Test
    void requiredShouldSayWhenStartTlsIsNotOffered() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO).reply(ehloReply("PIPELINING"))
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.REQUIRED))),
            SmtpSessionException.class);

        assertThat(failure.tlsProblem()).contains(TlsProblem.NO_STARTTLS);
    }

    @Test
    void requiredShouldSayWhenStartTlsIsRefused() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("454 4.7.0 TLS not available")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.REQUIRED))),
            SmtpSessionException.class);

        assertThat(failure.tlsProblem()).contains(TlsProblem.STARTTLS_REFUSED);
        assertThat(failure.reply()).contains(SmtpReply.of(454, "4.7.0 TLS not available"));
    }

    @Test
    void requireTlsShouldRideOnMailFromOverTlsToAServerThatOffersIt() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("REQUIRETLS"))
            .expect("MAIL FROM:<sender@example.org> REQUIRETLS").reply("250 ok")
            .expect("RCPT TO:<a@mx.test>").reply("250 ok")
            .expect("DATA").reply("354 go ahead")
            .expectBytes("Subject: hi\r\n\r\nbody\r\n.\r\n").reply("250 queued")
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.REQUIRED)));

        TransactionResult result = await(session.send(requiringTls()));

        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void requireTlsShouldNotBeSentToAServerThatDoesNotOfferIt() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING"))
            .expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.REQUIRED)));

        TransactionResult result = await(session.send(requiringTls()));

        assertThat(result.localRefusal()).contains(new LocalRefusal(LocalRefusal.Reason.REQUIRETLS_NOT_SUPPORTED,
            "the sender asked for REQUIRETLS and mx.test does not offer it"));
    }

    @Test
    void requireTlsShouldNeverBeSentInPlaintext() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO)
            .reply(ehloReply("REQUIRETLS")).expect("QUIT").reply("221 bye").expectClosed());
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)));

        TransactionResult result = await(session.send(requiringTls()));

        assertThat(result.localRefusal().map(LocalRefusal::toString)).contains("5.7.30 the sender asked for"
            + " REQUIRETLS and mx.test was reached without TLS");
    }

    private static SmtpTransaction requiringTls() {
        return new SmtpTransaction("sender@example.org", List.of("a@mx.test"),
            transaction("a@mx.test").content(), false, DsnRequest.NONE, true);
    }

    private NettySmtpSessionFactory verifyingTestCa() throws Exception {
        return fixture.keep(new NettySmtpSessionFactory(TlsTrust.of(TestPki.authority().trustStore(), "test CA")
            .trustManager(), fixture.contentExecutor(), NettyFixture.IO_THREADS));
    }

    @Test
    void opportunisticHandshakeFailureShouldBeATlsFailure() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready")
            .readSome().sendRaw("this is not TLS\r\n").discardUntilClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> await(fixture.jdkTrust().open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC))),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure.tlsProblem()).contains(TlsProblem.HANDSHAKE);
        assertThat(failure).hasMessageContaining("TLS handshake failed (TLS mode OPPORTUNISTIC)");
    }

    @Test
    void authPlainShouldFollowTheEhloAfterStartTls() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING", "AUTH LOGIN PLAIN"))
            .expect("AUTH PLAIN " + base64("\0me\0s3cret pass")).reply("235 2.7.0 authenticated")
            .expect("QUIT").reply("221 bye").expectClosed());

        openAndAuthenticate(TlsMode.REQUIRED);

        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void authLoginShouldBeUsedWhenPlainIsNotOffered() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("AUTH=LOGIN"))
            .expect("AUTH LOGIN").reply("334 VXNlcm5hbWU6")
            .expect(base64("me")).reply("334 UGFzc3dvcmQ6")
            .expect(base64("s3cret pass")).reply("235 2.7.0 authenticated")
            .expect("QUIT").reply("221 bye").expectClosed());

        openAndAuthenticate(TlsMode.OPPORTUNISTIC);

        assertThat(session.isReusable()).isTrue();
    }

    @Test
    void refusedCredentialsShouldEndTheSession() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("AUTH PLAIN"))
            .expect("AUTH PLAIN " + base64("\0me\0s3cret pass")).reply("535 5.7.8 bad credentials")
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(() -> openAndAuthenticate(TlsMode.REQUIRED),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.AUTH);
        assertThat(failure.kind()).isEqualTo(Kind.AUTHENTICATION_FAILED);
        assertThat(failure.reply()).contains(SmtpReply.of(535, "5.7.8 bad credentials"));
        assertThat(failure).hasMessage(server.endpoint() + ": AUTH PLAIN as me refused: 535 5.7.8 bad credentials")
            .hasMessageNotContaining("s3cret");
        assertThat(session.isReusable()).isFalse();
    }

    @Test
    void noKnownMechanismShouldEndTheSessionNamingWhatIsOffered() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("AUTH XOAUTH2 CRAM-MD5"))
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(() -> openAndAuthenticate(TlsMode.REQUIRED),
            SmtpSessionException.class);

        assertThat(failure.kind()).isEqualTo(Kind.AUTHENTICATION_FAILED);
        assertThat(failure).hasMessageEndingWith(
            "the server offers no SMTP AUTH mechanism this client knows (PLAIN, LOGIN); it offers CRAM-MD5 XOAUTH2");
    }

    @Test
    void credentialsShouldNeverGoOverPlaintext() throws Exception {
        server = ScriptedSmtpServer.start(Script.create().reply(GREETING).expect(EHLO)
            .reply(ehloReply("PIPELINING", "AUTH PLAIN LOGIN"))
            .expect("QUIT").reply("221 bye").expectClosed());

        SmtpSessionException failure = catchThrowableOfType(() -> openAndAuthenticate(TlsMode.OPPORTUNISTIC),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.AUTH);
        assertThat(failure.kind()).isEqualTo(Kind.AUTHENTICATION_FAILED);
        assertThat(failure).hasMessage(server.endpoint() + ": the session is not encrypted, and SMTP AUTH credentials"
            + " are only sent over TLS (give this server a rule with tls REQUIRED or VERIFY)");
    }

    @Test
    void credentialsShouldBeValidated() {
        assertThatThrownBy(() -> new SmtpCredentials("", "x"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("the SMTP AUTH user name is empty");
        assertThatThrownBy(() -> new SmtpCredentials("me", "a\0b"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("the SMTP AUTH user name and password cannot contain NUL");
        assertThat(new SmtpCredentials("me", "s3cret")).hasToString("me:****");
    }

    /** Opens a session and authenticates as the caller decides to: SMTP AUTH is not part of opening. */
    private void openAndAuthenticate(TlsMode mode) throws Exception {
        session = await(fixture.jdkTrust().open(server.endpoint(), settings(mode)));
        await(session.authenticate(new SmtpCredentials("me", "s3cret pass")));
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static Script offeringTls() {
        return Script.create().reply(GREETING).expect(EHLO).reply(ehloReply("PIPELINING", "STARTTLS"));
    }
}

package io.github.mxgovernor.smtp;

import static io.github.mxgovernor.smtp.SocketSmtpSessionTest.ehloReply;
import static io.github.mxgovernor.smtp.SocketSmtpSessionTest.settings;
import static io.github.mxgovernor.smtp.SocketSmtpSessionTest.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.github.mxgovernor.smtp.ScriptedSmtpServer.Script;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SocketSmtpSessionTlsTest {
    private static final String GREETING = "220 mx.test ESMTP ready";
    private static final String EHLO = "EHLO client.test";
    private static TestCertificate certificate;

    private ScriptedSmtpServer server;
    private SmtpSession session;

    @BeforeAll
    static void createCertificate() throws Exception {
        certificate = TestCertificate.mxTest();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (session != null) {
            session.close();
        }
        if (server != null) {
            server.close();
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
        session = new SocketSmtpSessionFactory().open(server.endpoint(), settings(mode));

        TransactionResult result = session.send(transaction("a@mx.test"));

        TlsInfo tls = session.tls().orElseThrow();
        assertThat(tls.protocol()).startsWith("TLSv1.");
        assertThat(tls.cipherSuite()).startsWith("TLS_");
        assertThat(tls.peerCertificates()).containsExactly(certificate.certificate());
        assertThat(session.extensions()).containsExactlyInAnyOrder("PIPELINING", "AUTH");
        assertThat(result.dataReply()).contains(SmtpReply.of(250, "queued"));
    }

    @Test
    void verifyShouldAcceptATrustedCertificateNamingTheMxHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").startTls()
            .expect(EHLO).reply(ehloReply("PIPELINING"))
            .expect("QUIT").reply("221 bye").expectClosed());

        session = new SocketSmtpSessionFactory(certificate.trustingClientContext())
            .open(server.endpoint(TestCertificate.HOST_NAME), settings(TlsMode.VERIFY));

        assertThat(session.tls()).isPresent();
        assertThat(session.extensions()).containsExactly("PIPELINING");
        assertThat(server.requestedServerNames()).containsExactly(new SNIHostName(TestCertificate.HOST_NAME));
    }

    @Test
    void verifyShouldRefuseACertificateForAnotherHost() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());
        SocketSmtpSessionFactory factory = new SocketSmtpSessionFactory(certificate.trustingClientContext());

        SmtpSessionException failure = catchThrowableOfType(
            () -> factory.open(server.endpoint("other.test"), settings(TlsMode.VERIFY)),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure).hasMessageStartingWith("other.test[127.0.0.1]:" + server.endpoint().port()
            + ": TLS handshake failed (TLS mode VERIFY): ")
            .hasCauseInstanceOf(SSLHandshakeException.class);
        assertThat(server.received()).doesNotContain("MAIL");
    }

    @Test
    void verifyShouldRefuseAnUntrustedCertificate() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready").tlsHandshakeRefusedByClient());

        SmtpSessionException failure = catchThrowableOfType(
            () -> new SocketSmtpSessionFactory().open(server.endpoint(), settings(TlsMode.VERIFY)),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure).hasMessageContaining("TLS handshake failed (TLS mode VERIFY)");
    }

    @Test
    void opportunisticHandshakeFailureShouldBeATlsFailure() throws Exception {
        server = ScriptedSmtpServer.startWithTls(certificate.serverContext(), offeringTls()
            .expect("STARTTLS").reply("220 2.0.0 ready")
            .readSome().sendRaw("this is not TLS\r\n").discardUntilClosed());

        SmtpSessionException failure = catchThrowableOfType(
            () -> new SocketSmtpSessionFactory().open(server.endpoint(), settings(TlsMode.OPPORTUNISTIC)),
            SmtpSessionException.class);

        assertThat(failure.stage()).isEqualTo(Stage.STARTTLS);
        assertThat(failure.kind()).isEqualTo(Kind.TLS_FAILURE);
        assertThat(failure).hasMessageContaining("TLS handshake failed (TLS mode OPPORTUNISTIC)");
    }

    private static Script offeringTls() {
        return Script.create().reply(GREETING).expect(EHLO).reply(ehloReply("PIPELINING", "STARTTLS"));
    }
}

package io.github.mxgovernor.tls.dane;

import static io.github.mxgovernor.tls.dane.DaneCertificates.MX_HOST;
import static io.github.mxgovernor.tls.dane.DaneCertificates.PASSWORD;
import static io.github.mxgovernor.tls.dane.DaneCertificates.tlsa;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DaneTrustManagerTest {
    private static DaneCertificates certificates;
    private static SSLContext serverContext;

    private final ExecutorService serverThread = Executors.newSingleThreadExecutor();

    @BeforeAll
    static void createCertificates() throws Exception {
        certificates = DaneCertificates.get();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("mx", certificates.leafKey, PASSWORD, new Certificate[] {certificates.leaf, certificates.ca});
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, PASSWORD);
        serverContext = SSLContext.getInstance("TLS");
        serverContext.init(keyManagers.getKeyManagers(), null, null);
    }

    @AfterEach
    void stopServer() throws InterruptedException {
        serverThread.shutdownNow();
        assertThat(serverThread.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void handshakeShouldSucceedWhenTheChainMatchesWithoutAnyHostNameCheck() throws Exception {
        DaneTrustManager trust = trustManager(tlsa(3, 1, 1, certificates.leaf));

        // the client connects to an address: a PKIX host name check would refuse mx.example's certificate
        try (SSLServerSocket server = listen(); SSLSocket client = connect(trust, server)) {
            client.startHandshake();

            assertThat(client.getSession().getPeerCertificates()).containsExactly(certificates.leaf, certificates.ca);
        }
    }

    @Test
    void handshakeShouldSucceedWithADaneTaRecordForTheIssuer() throws Exception {
        DaneTrustManager trust = trustManager(tlsa(2, 0, 1, certificates.ca));

        try (SSLServerSocket server = listen(); SSLSocket client = connect(trust, server)) {
            client.startHandshake();

            assertThat(client.getSession().getProtocol()).startsWith("TLSv1.");
        }
    }

    @Test
    void handshakeShouldFailWhenTheChainMatchesNoRecord() throws Exception {
        DaneTrustManager trust = trustManager(tlsa(3, 1, 1, certificates.otherLeaf));

        try (SSLServerSocket server = listen(); SSLSocket client = connect(trust, server)) {
            assertThatThrownBy(client::startHandshake)
                .isInstanceOf(SSLHandshakeException.class)
                .hasRootCauseInstanceOf(CertificateException.class)
                .rootCause()
                .hasMessageContaining("matches no TLSA record");
        }
    }

    @Test
    void checkServerTrustedShouldRefuseAnEmptyChain() throws Exception {
        DaneTrustManager trust = trustManager(tlsa(3, 1, 1, certificates.leaf));

        assertThatThrownBy(() -> trust.checkServerTrusted(new X509Certificate[0], "ECDHE_ECDSA"))
            .isInstanceOf(CertificateException.class)
            .hasMessage("the server presented no certificate");
    }

    @Test
    void checkClientTrustedShouldRefuseEveryClient() throws Exception {
        DaneTrustManager trust = trustManager(tlsa(3, 1, 1, certificates.leaf));

        assertThatThrownBy(() -> trust.checkClientTrusted(new X509Certificate[] {certificates.leaf}, "EC"))
            .isInstanceOf(CertificateException.class)
            .hasMessage("DANE authenticates servers; no client certificate is expected here");
        assertThat(trust.getAcceptedIssuers()).isEmpty();
    }

    private static DaneTrustManager trustManager(TlsaRecord record) {
        return new DaneTrustManager(new TlsaMatcher(List.of(record), Set.of(MX_HOST), Clock.systemUTC()));
    }

    private SSLServerSocket listen() throws IOException {
        SSLServerSocket server = (SSLServerSocket) serverContext.getServerSocketFactory()
            .createServerSocket(0, 1, InetAddress.getLoopbackAddress());
        serverThread.submit(() -> {
            try (SSLSocket accepted = (SSLSocket) server.accept()) {
                accepted.setSoTimeout(10_000);
                accepted.startHandshake();
                // wait for the client to close, so that it can read the session first
                accepted.getInputStream().read();
            } catch (IOException clientRefusedTheServer) {
                // the failing tests end the handshake from the client side
            }
            return null;
        });
        return server;
    }

    private static SSLSocket connect(DaneTrustManager trust, SSLServerSocket server) throws IOException {
        SSLSocket socket = (SSLSocket) trust.sslContext().getSocketFactory()
            .createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        socket.setSoTimeout(10_000);
        return socket;
    }
}

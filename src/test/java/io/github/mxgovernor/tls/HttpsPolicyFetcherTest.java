package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.testing.TestPki;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The policy fetch against an HTTPS server on loopback, with certificates from the test CA. */
class HttpsPolicyFetcherTest {
    private static final String POLICY = "version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n";
    /** For fetches that must succeed: a cold JVM's first TLS handshake can take most of a second on a busy CI. */
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** For servers that stall or never answer: the fetch must give up this soon. */
    private static final Duration STALL_TIMEOUT = Duration.ofMillis(800);

    private final TestPki pki = TestPki.authority();
    private final CountDownLatch stalled = new CountDownLatch(1);
    private final AtomicInteger goodRequests = new AtomicInteger();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private HttpsServer server;
    private ExecutorService handlers;

    @AfterEach
    void stop() throws Exception {
        stalled.countDown();
        if (server != null) {
            server.stop(0);
        }
        if (handlers != null) {
            handlers.shutdownNow();
        }
        for (AutoCloseable closeable : closeables) {
            closeable.close();
        }
    }

    @Test
    void policyLocationShouldBeTheWellKnownUriOfTheMtaStsHost() {
        assertThat(HttpsPolicyFetcher.policyLocation("Example.COM."))
            .isEqualTo(URI.create("https://mta-sts.example.com/.well-known/mta-sts.txt"));
    }

    @Test
    void fetchShouldReturnAPolicyServedAsPlainText() throws Exception {
        start(pki.issue("localhost"));

        assertThat(fetcher().fetch("good.test")).isEqualTo(POLICY);
        assertThat(goodRequests).hasValue(1);
    }

    @Test
    void fetchShouldAcceptAPolicyOfExactlyTheLargestSize() throws Exception {
        start(pki.issue("localhost"));

        assertThat(fetcher().fetch("largest.test")).hasSize(HttpsPolicyFetcher.MAX_POLICY_BYTES);
    }

    @Test
    void fetchShouldRefuseAnOversizedPolicy() throws Exception {
        start(pki.issue("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("oversized.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("oversized.test") + ": policy larger than 65536 bytes");
    }

    @Test
    void fetchShouldNotFollowARedirect() throws Exception {
        start(pki.issue("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("redirecting.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("redirecting.test") + ": HTTP 301 redirect to " + location("good.test")
                + " (redirects are not followed)");
        assertThat(goodRequests).hasValue(0);
    }

    @Test
    void fetchShouldRefuseAnythingButA200() throws Exception {
        start(pki.issue("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("missing.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("missing.test") + ": HTTP 404 (only 200 counts)");
    }

    @Test
    void fetchShouldRefuseAnotherMediaType() throws Exception {
        start(pki.issue("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("html.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("html.test") + ": media type 'text/html; charset=utf-8', must be text/plain");
    }

    @Test
    void fetchShouldRefuseABodyThatIsNotUtf8() throws Exception {
        start(pki.issue("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("binary.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("binary.test") + ": policy is not UTF-8 text");
    }

    @Test
    void fetchShouldGiveUpOnAServerThatStallsInTheBody() throws Exception {
        start(pki.issue("localhost"));
        long started = System.nanoTime();

        assertThatThrownBy(() -> new HttpsPolicyFetcher(pki.clientContext(), STALL_TIMEOUT, this::location)
            .fetch("slow.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(location("slow.test") + ": no complete answer within 800 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void fetchShouldGiveUpOnAHostThatAcceptsAndNeverAnswers() throws Exception {
        ServerSocket silent = new ServerSocket();
        closeables.add(silent);
        silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        List<Socket> accepted = new ArrayList<>();
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        URI uri = URI.create("https://localhost:" + silent.getLocalPort() + "/.well-known/mta-sts.txt");
        HttpsPolicyFetcher fetcher = new HttpsPolicyFetcher(pki.clientContext(), STALL_TIMEOUT, domain -> uri);

        assertThatThrownBy(() -> fetcher.fetch("hanging.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessage(uri + ": no complete answer within 800 ms");
    }

    @Test
    void twelveHangingPolicyHostsShouldNotDelayAnotherDomainsDiscovery() throws Exception {
        start(pki.issue("localhost"));
        URI silent = silentServer();
        ExecutorService txtThreads = Executors.newFixedThreadPool(4);
        closeables.add(txtThreads::shutdownNow);
        // A long time limit: the hanging fetches must still run when the other domain's policy is had.
        HttpsPolicyFetcher fetcher = new HttpsPolicyFetcher(pki.clientContext(), Duration.ofSeconds(60),
            domain -> domain.startsWith("hanging") ? silent : location(domain));
        MtaStsPolicyCache cache = new MtaStsPolicyCache(name -> List.of("v=STSv1; id=1;"), fetcher,
            java.time.Clock.systemUTC(), txtThreads, Duration.ofMinutes(5), 100);
        List<CompletableFuture<DomainTlsPolicy>> hanging = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            hanging.add(cache.lookup("hanging" + i + ".test"));
        }

        DomainTlsPolicy good = cache.lookup("good.test").get(5, TimeUnit.SECONDS);

        assertThat(good.enforces()).isTrue();
        assertThat(hanging).allSatisfy(lookup -> assertThat(lookup).isNotDone());
    }

    /** A TCP server on loopback that accepts connections and never answers; its URI. */
    private URI silentServer() throws IOException {
        ServerSocket silent = new ServerSocket();
        closeables.add(silent);
        silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        List<Socket> accepted = new ArrayList<>();
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        return URI.create("https://localhost:" + silent.getLocalPort() + "/.well-known/mta-sts.txt");
    }

    @Test
    void fetchShouldRefuseAnUntrustedCertificate() throws Exception {
        start(pki.selfSigned("localhost"));

        assertThatThrownBy(() -> fetcher().fetch("good.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessageStartingWith(location("good.test") + ": SSLHandshakeException: ");
        assertThat(goodRequests).hasValue(0);
    }

    @Test
    void fetchShouldRefuseACertificateForAnotherHost() throws Exception {
        start(pki.issue("mta-sts.other.test"));

        assertThatThrownBy(() -> fetcher().fetch("good.test"))
            .isInstanceOf(MtaStsException.class)
            .hasMessageStartingWith(location("good.test") + ": SSLHandshakeException: ")
            .hasMessageContaining("localhost");
    }

    @Test
    void fetchShouldRefuseADomainThatIsNoHostName() {
        HttpsPolicyFetcher fetcher = new HttpsPolicyFetcher(pki.clientContext(), TIMEOUT);

        assertThatThrownBy(() -> fetcher.fetch("exa mple.com"))
            .isInstanceOf(MtaStsException.class)
            .hasMessageStartingWith("no policy location for 'exa mple.com': ");
    }

    @Test
    void aZeroTimeoutShouldBeRefused() {
        assertThatThrownBy(() -> new HttpsPolicyFetcher(pki.clientContext(), Duration.ZERO))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("timeout must be positive, was PT0S");
    }

    private HttpsPolicyFetcher fetcher() {
        return new HttpsPolicyFetcher(pki.clientContext(), TIMEOUT, this::location);
    }

    private URI location(String domain) {
        return URI.create("https://localhost:" + server.getAddress().getPort() + "/" + domain
            + "/.well-known/mta-sts.txt");
    }

    private void start(TestPki.ServerCertificate certificate) throws IOException {
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(certificate.serverContext()));
        handlers = Executors.newCachedThreadPool();
        server.setExecutor(handlers);
        server.createContext("/good.test/", exchange -> {
            goodRequests.incrementAndGet();
            respond(exchange, 200, "text/plain; charset=utf-8", POLICY.getBytes(StandardCharsets.US_ASCII));
        });
        server.createContext("/largest.test/", exchange -> respond(exchange, 200, "text/plain",
            "a".repeat(HttpsPolicyFetcher.MAX_POLICY_BYTES).getBytes(StandardCharsets.US_ASCII)));
        server.createContext("/oversized.test/", exchange -> respond(exchange, 200, "text/plain",
            "a".repeat(HttpsPolicyFetcher.MAX_POLICY_BYTES + 1).getBytes(StandardCharsets.US_ASCII)));
        server.createContext("/redirecting.test/", exchange -> {
            exchange.getResponseHeaders().add("Location", location("good.test").toString());
            respond(exchange, 301, "text/plain", new byte[0]);
        });
        server.createContext("/missing.test/", exchange -> respond(exchange, 404, "text/plain", new byte[0]));
        server.createContext("/html.test/", exchange -> respond(exchange, 200, "text/html; charset=utf-8",
            POLICY.getBytes(StandardCharsets.US_ASCII)));
        server.createContext("/binary.test/", exchange -> respond(exchange, 200, "text/plain",
            new byte[] {'m', 'o', 'd', 'e', ':', (byte) 0xff, (byte) 0xfe}));
        server.createContext("/slow.test/", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "text/plain");
            exchange.sendResponseHeaders(200, POLICY.length());
            try (OutputStream body = exchange.getResponseBody()) {
                body.write(POLICY.substring(0, 10).getBytes(StandardCharsets.US_ASCII));
                body.flush();
                stalled.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    private static void respond(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}

package io.github.mxgovernor.tls;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import javax.net.ssl.SSLContext;

/**
 * Fetches {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} with the JDK's {@link HttpClient}: the server's
 * certificate must be PKIX-valid for {@code mta-sts.<domain>} (against the given trust), redirects are not followed,
 * only a 200 with media type {@code text/plain} counts, the body may not exceed {@link #MAX_POLICY_BYTES}, and the
 * whole exchange, body included, must end within the time limit. Thread-safe.
 */
public final class HttpsPolicyFetcher implements PolicyFetcher {
    /** RFC 8461's largest policy file. */
    public static final int MAX_POLICY_BYTES = 64 * 1024;

    private final HttpClient client;
    private final Duration timeout;
    private final Function<String, URI> location;

    /** Fetches from the RFC's location ({@link #policyLocation(String)}). */
    public HttpsPolicyFetcher(SSLContext trust, Duration timeout) {
        this(trust, timeout, HttpsPolicyFetcher::policyLocation);
    }

    /** For tests: fetches from {@code location.apply(domain)} instead, such as a loopback server. */
    HttpsPolicyFetcher(SSLContext trust, Duration timeout, Function<String, URI> location) {
        Objects.requireNonNull(trust, "trust");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        this.location = Objects.requireNonNull(location, "location");
        this.client = HttpClient.newBuilder()
            .sslContext(trust)
            .followRedirects(HttpClient.Redirect.NEVER)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .build();
    }

    /** Where RFC 8461 puts a domain's policy: {@code https://mta-sts.<domain>/.well-known/mta-sts.txt}. */
    public static URI policyLocation(String domain) {
        String host = domain.toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        return URI.create("https://mta-sts." + host + "/.well-known/mta-sts.txt");
    }

    /** Blocks until {@link #fetchAsync} ends, at most the time limit. */
    @Override
    public String fetch(String domain) throws MtaStsException {
        try {
            return fetchAsync(domain).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof MtaStsException) {
                throw (MtaStsException) e.getCause();
            }
            throw new MtaStsException(describe(e.getCause()), e.getCause());
        }
    }

    /**
     * Starts the exchange and returns at once; no thread waits on the server meanwhile. The future completes within
     * the time limit, body included: past it the exchange is cancelled and the future fails.
     */
    @Override
    public CompletableFuture<String> fetchAsync(String domain) {
        URI uri;
        try {
            uri = location.apply(domain);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new MtaStsException("no policy location for '"
                + MtaStsPolicy.shorten(domain) + "': " + e.getMessage()));
        }
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new MtaStsException(uri + ": " + e.getMessage()));
        }
        CompletableFuture<HttpResponse<byte[]>> exchange = client.sendAsync(request, HttpsPolicyFetcher::body);
        CompletableFuture<String> result = new CompletableFuture<>();
        exchange.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((response, error) -> {
            if (error != null) {
                exchange.cancel(true);
                result.completeExceptionally(failure(uri, error));
                return;
            }
            try {
                result.complete(policyText(uri, response));
            } catch (MtaStsException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private MtaStsException failure(URI uri, Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof TimeoutException) {
            return new MtaStsException(uri + ": no complete answer within " + timeout.toMillis() + " ms");
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof PolicyTooLarge) {
                return new MtaStsException(uri + ": policy larger than " + MAX_POLICY_BYTES + " bytes");
            }
        }
        return new MtaStsException(uri + ": " + describe(cause), cause);
    }

    private static String policyText(URI uri, HttpResponse<byte[]> response) throws MtaStsException {
        int status = response.statusCode();
        if (status >= 300 && status < 400) {
            throw new MtaStsException(uri + ": HTTP " + status + " redirect to "
                + response.headers().firstValue("Location").orElse("nowhere") + " (redirects are not followed)");
        }
        if (status != 200) {
            throw new MtaStsException(uri + ": HTTP " + status + " (only 200 counts)");
        }
        String mediaType = response.headers().firstValue("Content-Type").orElse("");
        int semicolon = mediaType.indexOf(';');
        String type = (semicolon < 0 ? mediaType : mediaType.substring(0, semicolon)).trim();
        if (!type.equalsIgnoreCase("text/plain")) {
            throw new MtaStsException(uri + ": media type '" + MtaStsPolicy.shorten(mediaType)
                + "', must be text/plain");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(response.body()))
                .toString();
        } catch (CharacterCodingException e) {
            throw new MtaStsException(uri + ": policy is not UTF-8 text");
        }
    }

    private static String describe(Throwable failure) {
        String message = failure.getMessage();
        return failure.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** Reads the body of a 200 up to the cap; for any other status, nothing. */
    private static HttpResponse.BodySubscriber<byte[]> body(HttpResponse.ResponseInfo info) {
        if (info.statusCode() != 200) {
            return HttpResponse.BodySubscribers.replacing(new byte[0]);
        }
        return new CappedBody();
    }

    /** The body, cancelled as soon as it grows past {@link #MAX_POLICY_BYTES}. */
    private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final byte[] bytes = new byte[MAX_POLICY_BYTES];
        private Flow.Subscription subscription;
        private int size;

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            for (ByteBuffer buffer : buffers) {
                int remaining = buffer.remaining();
                if (size + remaining > MAX_POLICY_BYTES) {
                    subscription.cancel();
                    result.completeExceptionally(new PolicyTooLarge());
                    return;
                }
                buffer.get(bytes, size, remaining);
                size += remaining;
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable throwable) {
            result.completeExceptionally(throwable);
        }

        @Override
        public void onComplete() {
            byte[] body = new byte[size];
            System.arraycopy(bytes, 0, body, 0, size);
            result.complete(body);
        }
    }

    private static final class PolicyTooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        PolicyTooLarge() {
            super("policy too large", null);
        }
    }
}

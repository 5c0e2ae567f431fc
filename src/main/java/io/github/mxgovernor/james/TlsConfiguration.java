package io.github.mxgovernor.james;

import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_RESOLVER;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_TIMEOUT;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.DANE_TRUST_ANCHORS;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TLS_FALLBACK_MEMORY;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TRUST_STORE;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TRUST_STORE_PASSWORD;
import static io.github.mxgovernor.james.GovernedRemoteDelivery.TRUST_STORE_TYPE;

import io.github.mxgovernor.tls.TlsPolicyResolver;
import io.github.mxgovernor.tls.TlsTrust;
import io.github.mxgovernor.tls.dane.ValidatingTlsaLookup;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.filesystem.api.FileSystem;
import org.apache.mailet.MailetConfig;

/**
 * The governed mailet's TLS parameters: the trust anchors ({@code trustStore}, {@code trustStorePassword},
 * {@code trustStoreType}), {@code tlsFallbackMemory}, and DANE's validating resolver ({@code daneResolver},
 * {@code daneTrustAnchors}, {@code daneTimeout}), checked at start-up even when no rule uses DANE.
 */
final class TlsConfiguration {
    static final String DEFAULT_TRUST_STORE_TYPE = "PKCS12";
    private static final int DNS_PORT = 53;

    private final TlsTrust trust;
    private final Duration fallbackMemory;
    private final ValidatingTlsaLookup.Builder daneResolver;

    private TlsConfiguration(TlsTrust trust, Duration fallbackMemory, ValidatingTlsaLookup.Builder daneResolver) {
        this.trust = trust;
        this.fallbackMemory = fallbackMemory;
        this.daneResolver = daneResolver;
    }

    static TlsConfiguration read(MailetParameters parameters, MailetConfig config, FileSystem fileSystem, Clock clock)
            throws MessagingException {
        TlsTrust trust = trust(parameters, config, fileSystem);
        Duration fallbackMemory = parameters.optionalDuration(TLS_FALLBACK_MEMORY)
            .orElse(TlsPolicyResolver.DEFAULT_PLAINTEXT_FALLBACK_MEMORY);
        return new TlsConfiguration(trust, fallbackMemory, daneResolver(parameters, fileSystem, clock));
    }

    /** Trust anchors for {@code verify} and for MTA-STS fetches. */
    TlsTrust trust() {
        return trust;
    }

    /** How long a server whose opportunistic handshake failed gets plaintext at once. */
    Duration fallbackMemory() {
        return fallbackMemory;
    }

    /** The settings DANE's resolver is built from, on its first lookup. */
    ValidatingTlsaLookup.Builder daneResolver() {
        return daneResolver;
    }

    /** The trust store named by {@code trustStore}, or the JDK's default. */
    private static TlsTrust trust(MailetParameters parameters, MailetConfig config, FileSystem fileSystem)
            throws MessagingException {
        Optional<String> location = parameters.optionalString(TRUST_STORE);
        Optional<String> type = parameters.optionalString(TRUST_STORE_TYPE);
        String password = config.getInitParameter(TRUST_STORE_PASSWORD);
        if (location.isEmpty()) {
            if (type.isPresent() || password != null) {
                throw new MessagingException("Invalid mailet parameter " + (type.isPresent() ? TRUST_STORE_TYPE
                    : TRUST_STORE_PASSWORD) + ": it needs " + TRUST_STORE);
            }
            return TlsTrust.jdkDefault();
        }
        File file = file(fileSystem, location.get(), "Trust store");
        return parameters.parse(TRUST_STORE, () -> TlsTrust.load(file.toPath(),
            password == null ? null : password.toCharArray(), type.orElse(DEFAULT_TRUST_STORE_TYPE)));
    }

    /**
     * The DNSSEC-validating resolver's settings from {@code daneResolver} (the upstream name server; default the
     * system's first name server), {@code daneTrustAnchors} (a file of DS or DNSKEY records in zone-file form, a path
     * or a James file URI; default the root zone's KSKs) and {@code daneTimeout} (one lookup, key fetches included;
     * default 10 seconds).
     */
    private static ValidatingTlsaLookup.Builder daneResolver(MailetParameters parameters, FileSystem fileSystem,
                                                             Clock clock) throws MessagingException {
        ValidatingTlsaLookup.Builder builder = ValidatingTlsaLookup.builder().clock(clock);
        Optional<String> resolver = parameters.optionalString(DANE_RESOLVER);
        if (resolver.isPresent()) {
            InetSocketAddress upstream = nameServer(resolver.get());
            parameters.parse(DANE_RESOLVER, () -> builder.upstream(upstream));
        }
        Optional<String> anchors = parameters.optionalString(DANE_TRUST_ANCHORS);
        if (anchors.isPresent()) {
            File file = file(fileSystem, anchors.get(), "DANE trust anchors file");
            String text;
            try {
                text = Files.readString(file.toPath(), StandardCharsets.UTF_8);
            } catch (IOException | UncheckedIOException e) {
                throw new MessagingException("Invalid mailet parameter " + DANE_TRUST_ANCHORS + ": " + file
                    + " cannot be read: " + e);
            }
            parameters.parse(DANE_TRUST_ANCHORS, () -> builder.trustAnchors(text));
        }
        Optional<Duration> timeout = parameters.optionalDuration(DANE_TIMEOUT);
        if (timeout.isPresent()) {
            parameters.parse(DANE_TIMEOUT, () -> builder.timeout(timeout.get()));
        }
        return builder;
    }

    /** {@code host}, {@code host:port}, an IPv6 literal alone or as {@code [address]:port}; port 53 by default. */
    static InetSocketAddress nameServer(String value) throws MessagingException {
        String host = value;
        String port = null;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || (close + 1 < value.length() && value.charAt(close + 1) != ':')) {
                throw invalidNameServer(value, "an IPv6 address in brackets is followed by nothing or ':port'");
            }
            host = value.substring(1, close);
            port = close + 1 < value.length() ? value.substring(close + 2) : null;
        } else if (value.indexOf(':') >= 0 && value.indexOf(':') == value.lastIndexOf(':')) {
            host = value.substring(0, value.indexOf(':'));
            port = value.substring(value.indexOf(':') + 1);
        }
        int number = DNS_PORT;
        if (port != null) {
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 1 || number > 65535) {
                throw invalidNameServer(value, "the port must be 1 to 65535");
            }
        }
        if (host.isEmpty()) {
            throw invalidNameServer(value, "no host");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), number);
        } catch (UnknownHostException e) {
            throw invalidNameServer(value, "unknown host '" + host + "'");
        }
    }

    private static MessagingException invalidNameServer(String value, String why) {
        return new MessagingException("Invalid mailet parameter " + DANE_RESOLVER + ": expected a name server as host,"
            + " host:port or [IPv6]:port, was '" + value + "' (" + why + ")");
    }

    /** A path, or a James URI such as {@code file://conf/mx-rules.xml}. */
    static File file(FileSystem fileSystem, String location, String what) throws MessagingException {
        try {
            return location.contains("://") ? fileSystem.getFile(location) : new File(location);
        } catch (FileNotFoundException e) {
            throw new MessagingException(what + " " + location + " not found: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "certificates verified against " + trust;
    }
}

package io.github.mxgovernor.smtp;

import io.github.mxgovernor.tls.TlsMode;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** How to open and drive one SMTP session. Immutable. */
public final class SessionSettings {
    /** The {@link #transactionTimeout()} unless {@link #withTransactionTimeout(Duration)} sets another. */
    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(30);

    private final String heloName;
    private final Optional<InetAddress> bindAddress;
    private final Duration connectTimeout;
    private final Duration commandTimeout;
    private final Duration dataTimeout;
    private final Duration transactionTimeout;
    private final Duration openTimeout;
    private final TlsMode tlsMode;
    private final Optional<SmtpCredentials> credentials;

    /** Settings without SMTP AUTH. */
    public SessionSettings(String heloName, Optional<InetAddress> bindAddress, Duration connectTimeout,
                           Duration commandTimeout, Duration dataTimeout, TlsMode tlsMode) {
        this(heloName, bindAddress, connectTimeout, commandTimeout, dataTimeout, tlsMode, Optional.empty());
    }

    /** @param credentials for SMTP AUTH after EHLO (a gateway); sent only over TLS */
    public SessionSettings(String heloName, Optional<InetAddress> bindAddress, Duration connectTimeout,
                           Duration commandTimeout, Duration dataTimeout, TlsMode tlsMode,
                           Optional<SmtpCredentials> credentials) {
        this(heloName, bindAddress, connectTimeout, commandTimeout, dataTimeout, DEFAULT_TRANSACTION_TIMEOUT,
            Optional.empty(), tlsMode, credentials);
    }

    private SessionSettings(String heloName, Optional<InetAddress> bindAddress, Duration connectTimeout,
                            Duration commandTimeout, Duration dataTimeout, Duration transactionTimeout,
                            Optional<Duration> openTimeout, TlsMode tlsMode, Optional<SmtpCredentials> credentials) {
        this.transactionTimeout = positive(transactionTimeout, "transactionTimeout");
        this.openTimeout = positive(openTimeout.orElseGet(() -> connectTimeout.plus(commandTimeout)), "openTimeout");
        this.heloName = Objects.requireNonNull(heloName, "heloName");
        this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
        this.connectTimeout = positive(connectTimeout, "connectTimeout");
        this.commandTimeout = positive(commandTimeout, "commandTimeout");
        this.dataTimeout = positive(dataTimeout, "dataTimeout");
        this.tlsMode = Objects.requireNonNull(tlsMode, "tlsMode");
        this.credentials = Objects.requireNonNull(credentials, "credentials");
    }

    private static Duration positive(Duration value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return value;
    }

    public String heloName() {
        return heloName;
    }

    public Optional<InetAddress> bindAddress() {
        return bindAddress;
    }

    /** Time allowed for the TCP connect. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Time allowed for each reply to a command (greeting, EHLO, MAIL, RCPT, RSET, QUIT). */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** Time allowed for the final reply after the message content has been sent. */
    public Duration dataTimeout() {
        return dataTimeout;
    }

    /** Time allowed for one whole transaction, from its first command to the final reply to its content. */
    public Duration transactionTimeout() {
        return transactionTimeout;
    }

    /** These settings with another {@link #transactionTimeout()}. */
    public SessionSettings withTransactionTimeout(Duration timeout) {
        return new SessionSettings(heloName, bindAddress, connectTimeout, commandTimeout, dataTimeout, timeout,
            Optional.of(openTimeout), tlsMode, credentials);
    }

    /**
     * Time allowed for opening a session as a whole: connect, greeting, EHLO, STARTTLS with its handshake, and EHLO
     * again, however the server paces each step. {@code connectTimeout + commandTimeout} unless
     * {@link #withOpenTimeout(Duration)} sets another.
     */
    public Duration openTimeout() {
        return openTimeout;
    }

    /** These settings with another {@link #openTimeout()}. */
    public SessionSettings withOpenTimeout(Duration timeout) {
        return new SessionSettings(heloName, bindAddress, connectTimeout, commandTimeout, dataTimeout,
            transactionTimeout, Optional.of(timeout), tlsMode, credentials);
    }

    public TlsMode tlsMode() {
        return tlsMode;
    }

    /** Credentials for SMTP AUTH, when the server is a gateway that wants them. */
    public Optional<SmtpCredentials> credentials() {
        return credentials;
    }
}

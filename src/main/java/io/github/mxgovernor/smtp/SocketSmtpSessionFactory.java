package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsTrust;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Opens {@link BlockingSmtpSession}s over plain JDK sockets.
 *
 * <h2>Opening</h2>
 * Connects within {@code connectTimeout} (from {@code bindAddress} when one is set), reads the greeting
 * (anything but 220 is {@link Kind#REFUSED_BY_SERVER} at {@link Stage#GREETING}; the connection closing or
 * resetting before the greeting is {@link Kind#CONNECTION_REFUSED}), says EHLO and falls back to HELO when EHLO
 * gets a 5xx (both refused, or EHLO refused with a 4xx, is {@code REFUSED_BY_SERVER} at {@link Stage#EHLO}).
 * When the server refused in good order (not 421), the session says QUIT before closing.
 *
 * <h2>TLS</h2>
 * <ul>
 *   <li>{@link TlsMode#DISABLED}: never STARTTLS.</li>
 *   <li>{@link TlsMode#OPPORTUNISTIC}: STARTTLS when offered, certificate not checked; when not offered or
 *       refused (for example 454) the session goes on in plaintext, but a failed handshake is
 *       {@link Kind#TLS_FAILURE} (the caller decides whether to retry in plaintext).</li>
 *   <li>{@link TlsMode#REQUIRED}: STARTTLS must be offered, accepted and negotiated, certificate not checked;
 *       otherwise {@code TLS_FAILURE} at {@link Stage#STARTTLS} and no mail is sent.</li>
 *   <li>{@link TlsMode#VERIFY}: as REQUIRED, and the chain must validate (PKIX) against the verifying
 *       {@link SSLContext} and name the MX host ({@link SmtpEndpoint#hostName()}, HTTPS rules, also sent as
 *       SNI).</li>
 * </ul>
 * In OPPORTUNISTIC and REQUIRED the certificate is checked as VERIFY would check it, but only to record what was
 * found ({@link TlsInfo#certificateCheck()}): the session goes on whatever the result.
 * A TLS failure says what failed in {@link SmtpSessionException#tlsProblem()}: STARTTLS not offered or refused,
 * the handshake, or (in VERIFY) an expired certificate, an untrusted chain or another host's name.
 * After the handshake the session says EHLO again and replaces the extensions with the new answer. Bytes the
 * server sends after its 220 to STARTTLS and before the handshake are a {@link Kind#PROTOCOL_ERROR}.
 *
 * <h2>Transactions</h2>
 * <ul>
 *   <li>Before a transaction, the session says RSET when an earlier MAIL FROM left state at the server (every
 *       transaction does, except one whose content was not sent and that the session reset already). A
 *       refused RSET is {@code REFUSED_BY_SERVER} at {@link Stage#RSET}.</li>
 *   <li>With PIPELINING (RFC 2920), RSET, MAIL FROM, every RCPT TO and DATA go out in one write and their
 *       replies are read in order. Without partial delivery and with more than one recipient, DATA is held
 *       back until the RCPT replies are known. Without PIPELINING, one command at a time.</li>
 *   <li>With PIPELINING and CHUNKING (RFC 3030), BDAT replaces DATA and rides in the same write: RSET, MAIL
 *       FROM, RCPT TO and {@code BDAT n LAST} with the content, so a reused connection carries a one-recipient
 *       mail in one round trip (DATA takes two). A mail larger than {@link #CONTENT_BUFFER_BYTES} goes in
 *       chunks of that size, all pipelined. The reply to the content is the first refused chunk's, else the
 *       last chunk's. CHUNKING without PIPELINING is not used: alone it saves nothing worth a second code
 *       path.</li>
 *   <li>The content is sent only when MAIL FROM and at least one RCPT TO were accepted, and with partial
 *       delivery off only when every RCPT TO was. When the content will not be sent and DATA was not already
 *       pipelined, the session says RSET at once. When DATA was pipelined and got 354 anyway, the session
 *       sends only the terminating dot and ignores the answer.</li>
 *   <li>Duplicate recipients are sent once. Addresses with control characters are refused with an
 *       {@link IllegalArgumentException} before anything is sent.</li>
 *   <li>Before anything is sent, the content is written once into the session's buffer, line endings made
 *       CRLF and a last line closed: that tells its size and whether it has 8-bit bytes, and a mail of up to
 *       {@link #CONTENT_BUFFER_BYTES} is then sent from the buffer, so it is read once. A larger one is only
 *       counted, and read a second time while it is sent. DATA doubles leading dots on the way out.</li>
 *   <li>{@code MAIL FROM} carries {@code BODY=8BITMIME} when the content has a byte above 0x7F and the server
 *       offers 8BITMIME, {@code SIZE=n} when the server offers SIZE, {@code SMTPUTF8} when an address is not
 *       ASCII, and {@code RET} and {@code ENVID} (xtext) when the server offers DSN (RFC 3461) and the
 *       transaction has them; {@code RCPT TO} then carries that recipient's {@code NOTIFY} and
 *       {@code ORCPT=rfc822;...}.</li>
 *   <li>A transaction the server declared it cannot take is not sent: it returns
 *       {@link TransactionResult#refusedLocally} with a {@link LocalRefusal} and the session stays as it was
 *       (not counted in {@link BlockingSmtpSession#transactionCount()}): a message larger than the SIZE the server
 *       announced; 8-bit content for a server without 8BITMIME, unless {@link MessageContent#sevenBitForm()}
 *       gives a 7-bit form (which is then sent instead); a non-ASCII address for a server without
 *       SMTPUTF8; a REQUIRETLS transaction (RFC 8689) on a session without TLS or to a server that does not
 *       offer REQUIRETLS (otherwise {@code MAIL FROM} carries {@code REQUIRETLS}).</li>
 * </ul>
 *
 * <h2>What a transaction returns</h2>
 * <ul>
 *   <li>{@link TransactionResult#mailFromReply()}: the reply to MAIL FROM.</li>
 *   <li>{@link TransactionResult#recipientReplies()}: each recipient's reply in the order sent. Without
 *       pipelining it is empty when MAIL FROM was refused (no RCPT TO was sent); with pipelining the
 *       RCPT TO were already sent, so it holds the server's actual replies to them (typically 503).</li>
 *   <li>{@link TransactionResult#dataReply()}: the reply after the content when it was sent; the refusal of
 *       the DATA command itself (4xx or 5xx) when the content would have been sent but DATA was refused; empty
 *       when the content was not to be sent (MAIL FROM refused, no recipient accepted, or partial delivery
 *       off and a recipient refused).</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * A 421 to any command, the connection closing, a reply not within {@code commandTimeout} (or
 * {@code dataTimeout} after the content), or bytes that are not a well-formed reply throw
 * {@link SmtpSessionException} with the stage of the command that was waiting; the session is then closed and
 * not reusable. {@link Stage#CONTENT} means the content was being sent or its final reply awaited, so the
 * mail's fate is unknown. A reply of the wrong class (3xx to MAIL FROM, RCPT TO or the end of data, anything
 * but 354, 4xx and 5xx to DATA) is a {@link Kind#PROTOCOL_ERROR}.
 * When {@link MessageContent#writeTo} itself fails while the content is being sent, the connection is closed
 * without the terminating dot (so the server drops the partial message) and the failure is thrown as an
 * {@link java.io.UncheckedIOException}; when it fails before anything was sent (while sizing), the session
 * is left as it was. A write to the socket that does not return within {@code dataTimeout} (a peer that stopped
 * reading) closes the connection and is a {@link Kind#TIMEOUT}.
 *
 * <h2>Servers that lie</h2>
 * The factory remembers, for an hour, servers (address and port) that broke an extension they announced:
 * a pipelined burst answered in part and then silence until {@code commandTimeout} (PIPELINING), and a BDAT
 * answered 500, 502 or 504 or not answered within {@code dataTimeout} (CHUNKING). The failing session ends
 * with a {@link Kind#TIMEOUT} or {@link Kind#PROTOCOL_ERROR} (the mail is deferred, never lost); later
 * sessions to that server do without the extension.
 */
public final class SocketSmtpSessionFactory implements BlockingSmtpSessionFactory {
    /** The most content bytes a session holds in memory: a larger mail is read twice (see above). */
    public static final int CONTENT_BUFFER_BYTES = 1024 * 1024;
    /** The largest content buffer a session keeps between transactions. */
    static final int RETAINED_BUFFER_BYTES = 128 * 1024;

    private final SSLSocketFactory verifyingSockets;
    private final SSLSocketFactory unverifiedSockets;
    private final Optional<CheckingTrustManager> checks;
    private final PeerQuirks quirks;
    private final int contentBufferBytes;

    /** Verifies certificates (in {@link TlsMode#VERIFY}) against the JDK's default trust store. */
    public SocketSmtpSessionFactory() {
        this(TlsTrust.jdkDefault().trustManager());
    }

    /**
     * Verifies certificates (in {@link TlsMode#VERIFY}) with {@code trust}: the leaf's dates, the PKIX chain, then
     * the host name, so that a refusal's {@link SmtpSessionException#tlsProblem()} says which failed. Sessions that
     * do not verify make the same checks without enforcing them, and {@link TlsInfo#certificateCheck()} tells what
     * they found.
     */
    public SocketSmtpSessionFactory(X509ExtendedTrustManager trust) {
        this(context(new VerifyingTrustManager(trust)), Optional.of(new CheckingTrustManager(
            new VerifyingTrustManager(trust))), Clock.systemUTC(), CONTENT_BUFFER_BYTES);
    }

    /**
     * Verifies certificates (in {@link TlsMode#VERIFY}) with {@code verifyingContext}; what a refusal says failed is
     * then read from the JDK's exceptions. Sessions that do not verify do not check certificates either
     * ({@link TlsInfo#certificateCheck()} says so).
     */
    public SocketSmtpSessionFactory(SSLContext verifyingContext) {
        this(verifyingContext, Clock.systemUTC(), CONTENT_BUFFER_BYTES);
    }

    /** For tests: the clock that ages what is remembered of servers, and a smaller content buffer. */
    SocketSmtpSessionFactory(SSLContext verifyingContext, Clock clock, int contentBufferBytes) {
        this(verifyingContext, Optional.empty(), clock, contentBufferBytes);
    }

    private SocketSmtpSessionFactory(SSLContext verifyingContext, Optional<CheckingTrustManager> checks, Clock clock,
                                     int contentBufferBytes) {
        this.verifyingSockets = Objects.requireNonNull(verifyingContext, "verifyingContext").getSocketFactory();
        this.checks = checks;
        SSLContext unverified = context(checks.<TrustManager>map(check -> check).orElseGet(AnyCertificate::new));
        if (checks.isPresent()) {
            unverified.getClientSessionContext().setSessionTimeout((int) CheckingTrustManager.RETAINED.getSeconds());
        }
        this.unverifiedSockets = unverified.getSocketFactory();
        this.quirks = new PeerQuirks(Objects.requireNonNull(clock, "clock"));
        if (contentBufferBytes < 1) {
            throw new IllegalArgumentException("contentBufferBytes must be positive, was " + contentBufferBytes);
        }
        this.contentBufferBytes = contentBufferBytes;
    }

    @Override
    public BlockingSmtpSession open(SmtpEndpoint endpoint, SessionSettings settings) throws SmtpSessionException {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(settings, "settings");
        Socket socket = connect(endpoint, settings);
        SSLSocketFactory tlsSockets = settings.tlsMode() == TlsMode.VERIFY ? verifyingSockets : unverifiedSockets;
        return SocketSmtpSession.start(socket, endpoint, settings, tlsSockets, checks, quirks,
            new ContentBuffer(contentBufferBytes, RETAINED_BUFFER_BYTES));
    }

    private static Socket connect(SmtpEndpoint endpoint, SessionSettings settings) throws SmtpSessionException {
        Socket socket = new Socket();
        int timeoutMillis = SocketSmtpSession.millis(settings.connectTimeout());
        try {
            socket.setTcpNoDelay(true);
            if (settings.bindAddress().isPresent()) {
                socket.bind(new InetSocketAddress(settings.bindAddress().get(), 0));
            }
            socket.connect(new InetSocketAddress(endpoint.address(), endpoint.port()), timeoutMillis);
            return socket;
        } catch (SocketTimeoutException e) {
            closeQuietly(socket);
            throw new SmtpSessionException(Stage.CONNECT, Kind.TIMEOUT,
                endpoint + ": no connection within " + timeoutMillis + " ms", Optional.empty(), e);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new SmtpSessionException(Stage.CONNECT, Kind.CONNECTION_REFUSED,
                endpoint + ": could not connect: " + e.getMessage(), Optional.empty(), e);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // never connected, nothing to release
        }
    }

    private static SSLContext context(TrustManager trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot create a TLS context", e);
        }
    }

    /**
     * Accepts every server certificate: OPPORTUNISTIC and REQUIRED encrypt without authenticating, as most MTAs
     * do (RFC 7435). Extended, so the JDK does not wrap it with checks of its own.
     */
    private static final class AnyCertificate extends X509ExtendedTrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // accepted by design, see the class comment
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            // accepted by design, see the class comment
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            // accepted by design, see the class comment
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("no client certificates are expected on the client side");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("no client certificates are expected on the client side");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("no client certificates are expected on the client side");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}

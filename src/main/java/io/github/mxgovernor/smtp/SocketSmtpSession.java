package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * An SMTP client session over a blocking socket. The behaviour is documented on {@link SocketSmtpSessionFactory}.
 */
final class SocketSmtpSession implements BlockingSmtpSession {
    private static final int OUTPUT_BUFFER_BYTES = 16 * 1024;

    private final SmtpEndpoint endpoint;
    private final int commandTimeoutMillis;
    private final int dataTimeoutMillis;
    private final int transactionTimeoutMillis;
    private final PeerQuirks quirks;
    private final ContentBuffer buffer;
    private final Socket tcpSocket;
    private Socket socket;
    private ReplyReader replies;
    private OutputStream out;
    private Set<String> extensions = Set.of();
    private boolean pipelining;
    private boolean chunking;
    private boolean eightBitMime;
    private boolean smtpUtf8;
    private boolean dsn;
    private boolean sizeDeclared;
    private long sizeLimit;
    private Set<String> authMechanisms = Set.of();
    private Optional<TlsInfo> tls = Optional.empty();
    private int transactionCount;
    private boolean resetNeeded;
    private boolean reusable = true;
    private boolean closed;

    private SocketSmtpSession(Socket socket, SmtpEndpoint endpoint, SessionSettings settings, PeerQuirks quirks,
                              ContentBuffer buffer) {
        this.tcpSocket = socket;
        this.socket = socket;
        this.endpoint = endpoint;
        this.commandTimeoutMillis = millis(settings.commandTimeout());
        this.dataTimeoutMillis = millis(settings.dataTimeout());
        this.transactionTimeoutMillis = millis(settings.transactionTimeout());
        this.quirks = quirks;
        this.buffer = buffer;
    }

    /**
     * Greets the server on a connected socket, says EHLO and negotiates TLS as {@code settings} say. The socket
     * is closed when this fails.
     */
    static SocketSmtpSession start(Socket socket, SmtpEndpoint endpoint, SessionSettings settings,
                                   SSLSocketFactory tlsSockets, Optional<CheckingTrustManager> checks,
                                   PeerQuirks quirks, ContentBuffer buffer)
        throws SmtpSessionException {
        SocketSmtpSession session = new SocketSmtpSession(socket, endpoint, settings, quirks, buffer);
        try {
            session.attach(socket, Stage.GREETING);
            session.greet(settings.heloName());
            session.negotiateTls(settings, tlsSockets, checks);
            if (settings.credentials().isPresent()) {
                session.authenticate(settings.credentials().get());
            }
            return session;
        } catch (RuntimeException e) {
            session.abandon();
            throw e;
        }
    }

    /** A socket timeout in milliseconds: never 0, which would mean no timeout at all. */
    static int millis(Duration duration) {
        if (duration.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) >= 0) {
            return Integer.MAX_VALUE;
        }
        return (int) Math.max(1, duration.toMillis());
    }

    @Override
    public SmtpEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public Set<String> extensions() {
        return extensions;
    }

    @Override
    public Optional<TlsInfo> tls() {
        return tls;
    }

    @Override
    public int transactionCount() {
        return transactionCount;
    }

    @Override
    public boolean isReusable() {
        return reusable && !closed;
    }

    @Override
    public TransactionResult send(SmtpTransaction transaction) throws SmtpSessionException {
        if (closed) {
            throw new IllegalStateException(endpoint + ": session is closed");
        }
        if (!reusable) {
            throw new IllegalStateException(endpoint + ": session failed earlier and cannot carry a transaction");
        }
        checkAddress("reverse-path", transaction.reversePath());
        List<String> recipients = distinctRecipients(transaction.recipients());
        try {
            Prepared prepared = prepare(transaction, recipients);
            if (prepared.refusal != null) {
                return TransactionResult.refusedLocally(prepared.refusal);
            }
            transactionCount++;
            WriteWatchdog.Deadline deadline = WriteWatchdog.SHARED.deadline(tcpSocket, transactionTimeoutMillis);
            try {
                return pipelining
                    ? sendPipelined(transaction, prepared, recipients)
                    : sendStepByStep(transaction, prepared, recipients);
            } catch (SmtpSessionException e) {
                if (deadline.passed()) {
                    throw new SmtpSessionException(e.stage(), Kind.TIMEOUT, endpoint + ": the transaction took more"
                        + " than " + transactionTimeoutMillis + " ms in all (" + e.getMessage() + ")",
                        Optional.empty(), e);
                }
                throw e;
            } catch (RuntimeException e) {
                abandon();
                throw e;
            } finally {
                deadline.cancel();
                if (deadline.passed()) {
                    // the socket was closed under a transaction that just made it
                    abandon();
                }
            }
        } finally {
            buffer.release();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (reusable) {
            reusable = false;
            quitQuietly();
        }
        closeSocket();
    }

    private void attach(Socket connected, Stage stage) throws SmtpSessionException {
        socket = connected;
        try {
            replies = new ReplyReader(connected.getInputStream(), connected::setSoTimeout);
            out = new BufferedOutputStream(
                WriteWatchdog.SHARED.watch(connected.getOutputStream(), tcpSocket, dataTimeoutMillis),
                OUTPUT_BUFFER_BYTES);
        } catch (IOException e) {
            throw fail(stage, Kind.CONNECTION_LOST, "could not use the connection: " + e.getMessage(), null, e);
        }
    }

    private void greet(String heloName) throws SmtpSessionException {
        SmtpReply greeting = await(Stage.GREETING, "greeting", commandTimeoutMillis);
        if (greeting.code() != 220) {
            throw refuseOrderly(Stage.GREETING, Kind.REFUSED_BY_SERVER, "server refused the session", greeting);
        }
        hello(heloName);
    }

    private void hello(String heloName) throws SmtpSessionException {
        SmtpReply ehlo = command("EHLO " + heloName, Stage.EHLO);
        if (ehlo.isPositiveCompletion()) {
            readExtensions(ehlo.lines());
            return;
        }
        if (!ehlo.isPermanentFailure()) {
            throw refuseOrderly(Stage.EHLO, Kind.REFUSED_BY_SERVER, "EHLO refused", ehlo);
        }
        SmtpReply helo = command("HELO " + heloName, Stage.EHLO);
        if (!helo.isPositiveCompletion()) {
            throw refuseOrderly(Stage.EHLO, Kind.REFUSED_BY_SERVER, "EHLO and HELO refused", helo);
        }
        readExtensions(List.of());
    }

    private void readExtensions(List<String> ehloLines) {
        Set<String> keywords = new HashSet<>();
        Set<String> mechanisms = new HashSet<>();
        long declaredSize = 0;
        // the first line is the server's greeting name, not an extension
        for (String line : ehloLines.subList(Math.min(1, ehloLines.size()), ehloLines.size())) {
            String trimmed = line.trim();
            int space = trimmed.indexOf(' ');
            String keyword = (space < 0 ? trimmed : trimmed.substring(0, space)).toUpperCase(Locale.ROOT);
            if (!keyword.isEmpty()) {
                keywords.add(keyword);
            }
            if (keyword.equals("SIZE") && space > 0) {
                declaredSize = sizeLimit(trimmed.substring(space + 1).trim());
            }
            // "AUTH=" is how servers that predate RFC 4954 announce it
            if ((keyword.equals("AUTH") || keyword.startsWith("AUTH=")) && trimmed.length() > 5) {
                for (String mechanism : trimmed.substring(5).trim().split(" +")) {
                    mechanisms.add(mechanism.toUpperCase(Locale.ROOT));
                }
            }
        }
        authMechanisms = Set.copyOf(mechanisms);
        extensions = Set.copyOf(keywords);
        pipelining = extensions.contains("PIPELINING")
            && !quirks.distrusts(endpoint, PeerQuirks.Extension.PIPELINING);
        // BDAT saves a round trip only when it rides in the pipelined burst; alone, DATA does as well
        chunking = pipelining && extensions.contains("CHUNKING")
            && !quirks.distrusts(endpoint, PeerQuirks.Extension.CHUNKING);
        eightBitMime = extensions.contains("8BITMIME");
        smtpUtf8 = extensions.contains("SMTPUTF8");
        dsn = extensions.contains("DSN");
        sizeDeclared = extensions.contains("SIZE");
        sizeLimit = declaredSize;
    }

    /** The SIZE parameter (RFC 1870): a limit in bytes, or 0 for none declared; a malformed one sets none. */
    private static long sizeLimit(String parameter) {
        if (parameter.isEmpty() || parameter.length() > 18) {
            return 0;
        }
        for (int i = 0; i < parameter.length(); i++) {
            if (parameter.charAt(i) < '0' || parameter.charAt(i) > '9') {
                return 0;
            }
        }
        return Long.parseLong(parameter);
    }

    private void negotiateTls(SessionSettings settings, SSLSocketFactory tlsSockets,
                              Optional<CheckingTrustManager> checks) throws SmtpSessionException {
        TlsMode mode = settings.tlsMode();
        if (mode == TlsMode.DISABLED) {
            return;
        }
        if (!extensions.contains("STARTTLS")) {
            if (mode.allowsPlaintext()) {
                return;
            }
            throw refuseTls("STARTTLS not offered, but TLS mode " + mode + " requires it", null,
                TlsProblem.NO_STARTTLS);
        }
        SmtpReply reply = command("STARTTLS", Stage.STARTTLS);
        if (reply.code() != 220) {
            if (mode.allowsPlaintext()) {
                return;
            }
            throw refuseTls("STARTTLS refused, but TLS mode " + mode + " requires it", reply,
                TlsProblem.STARTTLS_REFUSED);
        }
        if (replies.hasUnreadBytes()) {
            // plaintext sent after the 220 would be read as if it came through TLS (CVE-2011-0411 style)
            throw fail(Stage.STARTTLS, Kind.PROTOCOL_ERROR, "server sent data after its STARTTLS reply", null, null);
        }
        SSLSocket tlsSocket;
        try {
            tlsSocket = handshake(tlsSockets, mode, checks);
        } catch (IOException e) {
            TlsProblem problem = VerifyingTrustManager.problemOf(e);
            abandon();
            throw new SmtpSessionException(Stage.STARTTLS, endpoint + ": " + problem.description() + " (TLS mode "
                + mode + "): " + e.getMessage(), Optional.empty(), e, problem);
        }
        attach(tlsSocket, Stage.STARTTLS);
        hello(settings.heloName());
    }

    /** Ends the session, in good order, because TLS cannot be had. */
    private SmtpSessionException refuseTls(String message, SmtpReply reply, TlsProblem problem) {
        reusable = false;
        quitQuietly();
        abandon();
        String detail = reply == null ? message : message + ": " + reply;
        return new SmtpSessionException(Stage.STARTTLS, endpoint + ": " + detail, Optional.ofNullable(reply), null,
            problem);
    }

    /**
     * SMTP AUTH (RFC 4954) with PLAIN, else LOGIN, and only over TLS: over plaintext the password would be
     * readable by anyone on the path, so the session ends instead.
     */
    void authenticate(SmtpCredentials credentials) throws SmtpSessionException {
        if (tls.isEmpty()) {
            throw refuseOrderly(Stage.AUTH, Kind.AUTHENTICATION_FAILED, "the session is not encrypted, and SMTP AUTH"
                + " credentials are only sent over TLS (give this server a rule with tls REQUIRED or VERIFY)", null);
        }
        SmtpReply reply;
        String mechanism;
        if (authMechanisms.contains("PLAIN")) {
            mechanism = "PLAIN";
            reply = command("AUTH PLAIN " + base64("\0" + credentials.username() + "\0" + credentials.password()),
                Stage.AUTH);
        } else if (authMechanisms.contains("LOGIN")) {
            mechanism = "LOGIN";
            reply = command("AUTH LOGIN", Stage.AUTH);
            if (reply.code() == 334) {
                reply = command(base64(credentials.username()), Stage.AUTH);
            }
            if (reply.code() == 334) {
                reply = command(base64(credentials.password()), Stage.AUTH);
            }
        } else {
            throw refuseOrderly(Stage.AUTH, Kind.AUTHENTICATION_FAILED, "the server offers no SMTP AUTH mechanism"
                + " this client knows (PLAIN, LOGIN); it offers " + (authMechanisms.isEmpty() ? "none"
                    : String.join(" ", new TreeSet<>(authMechanisms))), null);
        }
        if (reply.code() != 235) {
            throw refuseOrderly(Stage.AUTH, Kind.AUTHENTICATION_FAILED, "AUTH " + mechanism + " as "
                + credentials.username() + " refused", reply);
        }
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private SSLSocket handshake(SSLSocketFactory tlsSockets, TlsMode mode, Optional<CheckingTrustManager> checks)
            throws IOException {
        SSLSocket tlsSocket = (SSLSocket) tlsSockets.createSocket(socket, endpoint.hostName(), endpoint.port(), true);
        tlsSocket.setUseClientMode(true);
        SSLParameters parameters = tlsSocket.getSSLParameters();
        // the host name check, enforced in VERIFY and only recorded otherwise
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        sniHostName(endpoint.hostName()).ifPresent(name -> parameters.setServerNames(List.of(name)));
        tlsSocket.setSSLParameters(parameters);
        tlsSocket.setSoTimeout(commandTimeoutMillis);
        tlsSocket.startHandshake();
        SSLSession tlsSession = tlsSocket.getSession();
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate certificate : tlsSession.getPeerCertificates()) {
            if (certificate instanceof X509Certificate) {
                chain.add((X509Certificate) certificate);
            }
        }
        CertificateCheck check;
        if (mode == TlsMode.VERIFY) {
            check = CertificateCheck.valid();
        } else if (checks.isEmpty()) {
            check = CertificateCheck.notChecked("no trust anchors to check it against");
        } else if (chain.isEmpty()) {
            check = CertificateCheck.notChecked("the server presented no X.509 certificate");
        } else {
            check = checks.get().checkOf(endpoint.hostName(), chain.get(0));
        }
        tls = Optional.of(new TlsInfo(tlsSession.getProtocol(), tlsSession.getCipherSuite(), chain, check));
        return tlsSocket;
    }

    private static Optional<SNIHostName> sniHostName(String hostName) {
        String name = hostName.endsWith(".") ? hostName.substring(0, hostName.length() - 1) : hostName;
        try {
            return Optional.of(new SNIHostName(name));
        } catch (IllegalArgumentException notAHostName) {
            return Optional.empty();
        }
    }

    /** What a transaction sends, once its content has been scanned; or why it is not sent at all. */
    private static final class Prepared {
        private final MessageContent content;
        private final String mailFrom;
        private final LocalRefusal refusal;

        private Prepared(MessageContent content, String mailFrom, LocalRefusal refusal) {
            this.content = content;
            this.mailFrom = mailFrom;
            this.refusal = refusal;
        }
    }

    /**
     * Scans the content once into the session's buffer (size, 8-bit bytes, and the bytes themselves when they
     * fit), and decides what the server's extensions allow before anything is sent.
     */
    private Prepared prepare(SmtpTransaction transaction, List<String> recipients) {
        boolean utf8Addresses = !isAscii(transaction.reversePath())
            || recipients.stream().anyMatch(recipient -> !isAscii(recipient));
        if (utf8Addresses && !smtpUtf8) {
            return refused(LocalRefusal.Reason.UTF8_ADDRESS_NOT_SUPPORTED, "an envelope address has non-ASCII"
                + " characters and " + endpoint.hostName() + " does not offer SMTPUTF8");
        }
        if (transaction.requireTls() && (tls.isEmpty() || !extensions.contains("REQUIRETLS"))) {
            return refused(LocalRefusal.Reason.REQUIRETLS_NOT_SUPPORTED, "the sender asked for REQUIRETLS and "
                + endpoint.hostName() + (tls.isEmpty() ? " was reached without TLS" : " does not offer it"));
        }
        MessageContent content = transaction.content();
        scan(content);
        if (buffer.hasEightBitBytes() && !eightBitMime) {
            Optional<MessageContent> sevenBit;
            try {
                sevenBit = content.sevenBitForm();
            } catch (IOException e) {
                throw new UncheckedIOException(endpoint + ": could not convert the message to 7-bit MIME", e);
            }
            if (sevenBit.isEmpty()) {
                return refused(LocalRefusal.Reason.EIGHT_BIT_NOT_SUPPORTED, "the message has 8-bit data and "
                    + endpoint.hostName() + " does not offer 8BITMIME");
            }
            content = sevenBit.get();
            scan(content);
            if (buffer.hasEightBitBytes()) {
                return refused(LocalRefusal.Reason.EIGHT_BIT_NOT_SUPPORTED, "the message has 8-bit data that"
                    + " cannot be converted to 7-bit MIME (in its headers) and " + endpoint.hostName()
                    + " does not offer 8BITMIME");
            }
        }
        if (sizeLimit > 0 && buffer.size() > sizeLimit) {
            return refused(LocalRefusal.Reason.MESSAGE_TOO_LARGE, "the message is " + buffer.size()
                + " bytes, more than the " + sizeLimit + " bytes " + endpoint.hostName() + " accepts (SIZE)");
        }
        return new Prepared(content, mailFromCommand(transaction, utf8Addresses), null);
    }

    private static Prepared refused(LocalRefusal.Reason reason, String message) {
        return new Prepared(null, null, new LocalRefusal(reason, message));
    }

    private void scan(MessageContent content) {
        buffer.startScan();
        try {
            content.writeTo(buffer);
            buffer.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(endpoint + ": could not read the message content", e);
        }
    }

    private TransactionResult sendPipelined(SmtpTransaction transaction, Prepared prepared, List<String> recipients)
        throws SmtpSessionException {
        boolean reset = resetNeeded;
        // without partial delivery, the content may only go out blind when no other recipient can be refused
        boolean contentPipelined = transaction.partialDelivery() || recipients.size() == 1;
        Stage first = reset ? Stage.RSET : Stage.MAIL;
        int chunks = 0;
        try {
            if (reset) {
                writeCommand("RSET");
            }
            writeCommand(prepared.mailFrom);
            for (String recipient : recipients) {
                writeCommand(rcptCommand(recipient, transaction.dsn()));
            }
            if (contentPipelined) {
                if (chunking) {
                    chunks = writeChunks(prepared.content);
                } else {
                    writeCommand("DATA");
                }
            }
            out.flush();
        } catch (IOException e) {
            throw writeFailed(first, "could not send the transaction", e);
        }
        resetNeeded = true;
        SmtpReply mailReply;
        Map<String, SmtpReply> recipientReplies = new LinkedHashMap<>();
        int accepted = 0;
        int repliesRead = 0;
        try {
            if (reset) {
                requireResetAccepted(await(Stage.RSET, "RSET", commandTimeoutMillis));
                repliesRead++;
            }
            mailReply = requireFinal(await(Stage.MAIL, "MAIL", commandTimeoutMillis), Stage.MAIL);
            repliesRead++;
            for (String recipient : recipients) {
                SmtpReply reply = requireFinal(await(Stage.RCPT, "RCPT", commandTimeoutMillis), Stage.RCPT);
                repliesRead++;
                recipientReplies.put(recipient, reply);
                if (reply.isPositiveCompletion()) {
                    accepted++;
                }
            }
        } catch (SmtpSessionException e) {
            if (e.kind() == Kind.TIMEOUT && repliesRead > 0) {
                // answered the start of the burst, then nothing: it reads one command and drops the rest
                quirks.recordBroken(endpoint, PeerQuirks.Extension.PIPELINING);
            }
            throw e;
        }
        boolean deliverable = deliverable(transaction, mailReply, accepted, recipients.size());
        if (chunking) {
            if (!contentPipelined) {
                if (!deliverable) {
                    if (mailReply.isPositiveCompletion()) {
                        resetNow();
                    }
                    return new TransactionResult(mailReply, recipientReplies, Optional.empty());
                }
                try {
                    chunks = writeChunks(prepared.content);
                    out.flush();
                } catch (IOException e) {
                    throw writeFailed(Stage.CONTENT, "could not send the content", e);
                }
            }
            SmtpReply contentReply = awaitChunkReplies(chunks);
            return new TransactionResult(mailReply, recipientReplies,
                deliverable ? Optional.of(contentReply) : Optional.empty());
        }
        SmtpReply dataReply;
        if (contentPipelined) {
            dataReply = await(Stage.DATA, "DATA", commandTimeoutMillis);
        } else if (deliverable) {
            dataReply = command("DATA", Stage.DATA);
        } else {
            if (mailReply.isPositiveCompletion()) {
                resetNow();
            }
            return new TransactionResult(mailReply, recipientReplies, Optional.empty());
        }
        return afterData(prepared, mailReply, recipientReplies, deliverable, dataReply);
    }

    private TransactionResult sendStepByStep(SmtpTransaction transaction, Prepared prepared, List<String> recipients)
        throws SmtpSessionException {
        if (resetNeeded) {
            resetNow();
        }
        resetNeeded = true;
        SmtpReply mailReply = requireFinal(command(prepared.mailFrom, Stage.MAIL), Stage.MAIL);
        if (!mailReply.isPositiveCompletion()) {
            return new TransactionResult(mailReply, Map.of(), Optional.empty());
        }
        Map<String, SmtpReply> recipientReplies = new LinkedHashMap<>();
        int accepted = 0;
        for (String recipient : recipients) {
            SmtpReply reply = requireFinal(command(rcptCommand(recipient, transaction.dsn()), Stage.RCPT),
                Stage.RCPT);
            recipientReplies.put(recipient, reply);
            if (reply.isPositiveCompletion()) {
                accepted++;
            }
        }
        if (!deliverable(transaction, mailReply, accepted, recipients.size())) {
            resetNow();
            return new TransactionResult(mailReply, recipientReplies, Optional.empty());
        }
        return afterData(prepared, mailReply, recipientReplies, true, command("DATA", Stage.DATA));
    }

    private static boolean deliverable(SmtpTransaction transaction, SmtpReply mailReply, int accepted,
                                       int recipients) {
        return mailReply.isPositiveCompletion() && accepted > 0
            && (transaction.partialDelivery() || accepted == recipients);
    }

    /**
     * Writes the content as BDAT chunks (RFC 3030) without flushing: one {@code BDAT n LAST} when the scan held
     * it whole, else chunks of the buffer's size streamed from a second pass. Returns how many chunks went out.
     */
    private int writeChunks(MessageContent content) throws IOException {
        if (buffer.isHeldWhole()) {
            writeCommand("BDAT " + buffer.length() + " LAST");
            out.write(buffer.bytes(), 0, buffer.length());
            return 1;
        }
        ChunkWriter chunks = new ChunkWriter();
        buffer.startChunking(chunks);
        try {
            content.writeTo(buffer);
            buffer.finish();
        } catch (IOException e) {
            if (chunks.transportFailure != null) {
                throw chunks.transportFailure;
            }
            // leaving without the LAST chunk makes the server drop the half-sent message
            abandon();
            throw new UncheckedIOException(endpoint + ": could not read the message content", e);
        }
        return chunks.count;
    }

    /** Puts each chunk on the wire behind its BDAT command, remembering write failures as the transport's. */
    private final class ChunkWriter implements ContentBuffer.ChunkSink {
        private int count;
        private IOException transportFailure;

        @Override
        public void chunk(byte[] bytes, int length, boolean last) throws IOException {
            try {
                writeCommand(last ? "BDAT " + length + " LAST" : "BDAT " + length);
                out.write(bytes, 0, length);
                count++;
            } catch (IOException e) {
                transportFailure = e;
                throw e;
            }
        }
    }

    /**
     * Reads one reply per BDAT chunk; the first refusal, else the reply to the last chunk, is the content's
     * reply. A BDAT answered as an unknown command means the server does not do CHUNKING, whatever it said: it
     * may read the content as commands, so the session ends and later sessions to it use DATA.
     */
    private SmtpReply awaitChunkReplies(int chunks) throws SmtpSessionException {
        SmtpReply refusal = null;
        SmtpReply reply = null;
        for (int i = 0; i < chunks; i++) {
            String awaited = i == chunks - 1 ? "BDAT LAST" : "BDAT";
            try {
                reply = await(Stage.CONTENT, awaited, dataTimeoutMillis);
            } catch (SmtpSessionException e) {
                if (e.kind() == Kind.TIMEOUT) {
                    quirks.recordBroken(endpoint, PeerQuirks.Extension.CHUNKING);
                }
                throw e;
            }
            if (reply.code() == 500 || reply.code() == 502 || reply.code() == 504) {
                quirks.recordBroken(endpoint, PeerQuirks.Extension.CHUNKING);
                throw fail(Stage.CONTENT, Kind.PROTOCOL_ERROR, "server offers CHUNKING but refused BDAT as a command: "
                    + reply, reply, null);
            }
            if (reply.isPositiveIntermediate()) {
                throw fail(Stage.CONTENT, Kind.PROTOCOL_ERROR, "unexpected reply to " + awaited + ": " + reply, reply,
                    null);
            }
            if (refusal == null && !reply.isPositiveCompletion()) {
                refusal = reply;
            }
        }
        return refusal != null ? refusal : reply;
    }

    private TransactionResult afterData(Prepared prepared, SmtpReply mailReply,
                                        Map<String, SmtpReply> recipientReplies, boolean deliverable,
                                        SmtpReply dataReply) throws SmtpSessionException {
        if (dataReply.code() != 354 && !dataReply.isTransientFailure() && !dataReply.isPermanentFailure()) {
            throw fail(Stage.DATA, Kind.PROTOCOL_ERROR, "unexpected reply to DATA: " + dataReply, dataReply, null);
        }
        if (dataReply.code() != 354) {
            return new TransactionResult(mailReply, recipientReplies,
                deliverable ? Optional.of(dataReply) : Optional.empty());
        }
        if (!deliverable) {
            terminateEmptyData();
            return new TransactionResult(mailReply, recipientReplies, Optional.empty());
        }
        SmtpReply finalReply = sendContent(prepared.content);
        return new TransactionResult(mailReply, recipientReplies, Optional.of(finalReply));
    }

    /** A server that said 354 although no recipient can take the mail gets an empty message it cannot deliver. */
    private void terminateEmptyData() throws SmtpSessionException {
        try {
            writeCommand(".");
            out.flush();
        } catch (IOException e) {
            throw writeFailed(Stage.DATA, "could not end DATA", e);
        }
        await(Stage.DATA, "end of an empty DATA", commandTimeoutMillis);
    }

    /** Sends the content dot-stuffed: from the buffer when the scan held it whole, else streamed once more. */
    private SmtpReply sendContent(MessageContent content) throws SmtpSessionException {
        DotStuffingOutputStream body = new DotStuffingOutputStream(out);
        try {
            if (buffer.isHeldWhole()) {
                body.write(buffer.bytes(), 0, buffer.length());
            } else {
                content.writeTo(body);
            }
        } catch (IOException e) {
            if (body.transportFailure() == null) {
                // leaving without the final dot makes the server drop the half-sent message
                abandon();
                throw new UncheckedIOException(endpoint + ": could not read the message content", e);
            }
        }
        try {
            if (body.transportFailure() != null) {
                throw body.transportFailure();
            }
            body.finish();
            out.flush();
        } catch (IOException e) {
            throw writeFailed(Stage.CONTENT, "could not send the content", e);
        }
        SmtpReply reply = await(Stage.CONTENT, "end of data", dataTimeoutMillis);
        if (reply.isPositiveIntermediate()) {
            throw fail(Stage.CONTENT, Kind.PROTOCOL_ERROR, "unexpected reply to the end of data: " + reply, reply,
                null);
        }
        return reply;
    }

    private void resetNow() throws SmtpSessionException {
        requireResetAccepted(command("RSET", Stage.RSET));
        resetNeeded = false;
    }

    private void requireResetAccepted(SmtpReply reply) throws SmtpSessionException {
        if (!reply.isPositiveCompletion()) {
            throw fail(Stage.RSET, Kind.REFUSED_BY_SERVER, "RSET refused: " + reply, reply, null);
        }
    }

    /** MAIL and RCPT are answered with success or failure; anything else means the peers lost step. */
    private SmtpReply requireFinal(SmtpReply reply, Stage stage) throws SmtpSessionException {
        if (reply.isPositiveIntermediate()) {
            throw fail(stage, Kind.PROTOCOL_ERROR, "unexpected reply to " + stage + ": " + reply, reply, null);
        }
        return reply;
    }

    /** MAIL FROM with what the scanned content and the server's extensions call for. */
    private String mailFromCommand(SmtpTransaction transaction, boolean utf8Addresses) {
        StringBuilder command = new StringBuilder(60 + transaction.reversePath().length())
            .append("MAIL FROM:<").append(transaction.reversePath()).append('>');
        if (eightBitMime && buffer.hasEightBitBytes()) {
            command.append(" BODY=8BITMIME");
        }
        if (sizeDeclared) {
            command.append(" SIZE=").append(buffer.size());
        }
        if (utf8Addresses) {
            command.append(" SMTPUTF8");
        }
        if (transaction.requireTls()) {
            command.append(" REQUIRETLS");
        }
        if (dsn) {
            DsnRequest request = transaction.dsn();
            request.ret().ifPresent(ret -> command.append(" RET=").append(ret));
            request.envelopeId().ifPresent(id -> command.append(" ENVID=").append(DsnRequest.xtext(id)));
        }
        return command.toString();
    }

    private String rcptCommand(String recipient, DsnRequest request) {
        DsnRequest.Recipient parameters = dsn ? request.recipients().get(recipient) : null;
        if (parameters == null) {
            return "RCPT TO:<" + recipient + ">";
        }
        StringBuilder command = new StringBuilder("RCPT TO:<").append(recipient).append('>');
        if (!parameters.notifyOn().isEmpty()) {
            command.append(" NOTIFY=");
            String separator = "";
            for (DsnRequest.Notify notify : parameters.notifyOn()) {
                command.append(separator).append(notify);
                separator = ",";
            }
        }
        parameters.originalRecipient().ifPresent(address -> command.append(" ORCPT=rfc822;")
            .append(DsnRequest.xtext(address)));
        return command.toString();
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static List<String> distinctRecipients(List<String> recipients) {
        for (String recipient : recipients) {
            checkAddress("recipient", recipient);
        }
        if (recipients.size() == 1) {
            return recipients;
        }
        Set<String> distinct = new LinkedHashSet<>(recipients);
        return distinct.size() == recipients.size() ? recipients : List.copyOf(distinct);
    }

    private static void checkAddress(String role, String address) {
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(role + " address contains a control character (0x"
                    + Integer.toHexString(c) + " at index " + i + "): " + address.replaceAll("\\p{Cntrl}", "?"));
            }
        }
    }

    /** Sends one command, flushes, and waits for its reply. */
    private SmtpReply command(String command, Stage stage) throws SmtpSessionException {
        try {
            writeCommand(command);
            out.flush();
        } catch (IOException e) {
            throw writeFailed(stage, "could not send " + stage, e);
        }
        return await(stage, stage.toString(), commandTimeoutMillis);
    }

    /** A write that failed: the watchdog's timeout, or the connection lost. */
    private SmtpSessionException writeFailed(Stage stage, String what, IOException e) {
        Kind kind = e instanceof SocketTimeoutException ? Kind.TIMEOUT : Kind.CONNECTION_LOST;
        return fail(stage, kind, what + ": " + e.getMessage(), null, e);
    }

    private void writeCommand(String command) throws IOException {
        for (int i = 0; i < command.length(); i++) {
            char c = command.charAt(i);
            if (c >= 0x80) {
                // non-ASCII addresses go out as UTF-8 and the server decides
                out.write(command.substring(i).getBytes(StandardCharsets.UTF_8));
                break;
            }
            out.write(c);
        }
        out.write('\r');
        out.write('\n');
    }

    /** Reads one reply; a 421 ends the session whatever command it answers. */
    private SmtpReply await(Stage stage, String awaited, int timeoutMillis) throws SmtpSessionException {
        SmtpReply reply;
        try {
            reply = replies.read(timeoutMillis);
        } catch (SocketTimeoutException e) {
            throw fail(stage, Kind.TIMEOUT, "no reply to " + awaited + " within " + timeoutMillis + " ms", null, e);
        } catch (ReplyReader.MalformedReplyException e) {
            throw fail(stage, Kind.PROTOCOL_ERROR, "malformed reply to " + awaited + ": " + e.getMessage(), null, e);
        } catch (IOException e) {
            Kind kind = stage == Stage.GREETING ? Kind.CONNECTION_REFUSED : Kind.CONNECTION_LOST;
            throw fail(stage, kind, "connection lost awaiting the reply to " + awaited + ": " + e.getMessage(),
                null, e);
        }
        if (reply.isServiceClosing()) {
            throw fail(stage, Kind.REFUSED_BY_SERVER, "server is closing the connection: " + reply, reply, null);
        }
        return reply;
    }

    /** Ends the session after a failure, without QUIT: the connection is not in a state to say anything. */
    private SmtpSessionException fail(Stage stage, Kind kind, String message, SmtpReply reply, Throwable cause) {
        abandon();
        return new SmtpSessionException(stage, kind, endpoint + ": " + message, Optional.ofNullable(reply), cause);
    }

    /** Ends the session after the server refused it in good order: QUIT, then close. */
    private SmtpSessionException refuseOrderly(Stage stage, Kind kind, String message, SmtpReply reply) {
        reusable = false;
        quitQuietly();
        abandon();
        String detail = reply == null ? message : message + ": " + reply;
        return new SmtpSessionException(stage, kind, endpoint + ": " + detail, Optional.ofNullable(reply), null);
    }

    private void abandon() {
        reusable = false;
        closeSocket();
    }

    /** Closes the socket at once, without QUIT; safe from another thread than the one driving the session. */
    @Override
    public void abort() {
        closed = true;
        abandon();
    }

    private void quitQuietly() {
        try {
            writeCommand("QUIT");
            out.flush();
            replies.read(commandTimeoutMillis);
        } catch (IOException | RuntimeException ignored) {
            // the session ends either way; a server that will not say goodbye changes nothing
        }
    }

    private void closeSocket() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}

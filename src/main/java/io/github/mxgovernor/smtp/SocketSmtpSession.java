package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.tls.TlsMode;

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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * An SMTP client session over a blocking socket. The behaviour is documented on {@link SocketSmtpSessionFactory}.
 */
final class SocketSmtpSession implements SmtpSession {
    private static final int OUTPUT_BUFFER_BYTES = 16 * 1024;

    private final SmtpEndpoint endpoint;
    private final int commandTimeoutMillis;
    private final int dataTimeoutMillis;
    private Socket socket;
    private ReplyReader replies;
    private OutputStream out;
    private Set<String> extensions = Set.of();
    private boolean pipelining;
    private boolean eightBitMime;
    private boolean sizeDeclared;
    private Optional<TlsInfo> tls = Optional.empty();
    private int transactionCount;
    private boolean resetNeeded;
    private boolean reusable = true;
    private boolean closed;

    private SocketSmtpSession(Socket socket, SmtpEndpoint endpoint, SessionSettings settings) {
        this.socket = socket;
        this.endpoint = endpoint;
        this.commandTimeoutMillis = millis(settings.commandTimeout());
        this.dataTimeoutMillis = millis(settings.dataTimeout());
    }

    /**
     * Greets the server on a connected socket, says EHLO and negotiates TLS as {@code settings} say. The socket
     * is closed when this fails.
     */
    static SocketSmtpSession start(Socket socket, SmtpEndpoint endpoint, SessionSettings settings,
                                   SSLSocketFactory tlsSockets) throws SmtpSessionException {
        SocketSmtpSession session = new SocketSmtpSession(socket, endpoint, settings);
        try {
            session.attach(socket, Stage.GREETING);
            session.greet(settings.heloName());
            session.negotiateTls(settings, tlsSockets);
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
        String mailFrom = mailFromCommand(transaction);
        transactionCount++;
        try {
            return pipelining
                ? sendPipelined(transaction, mailFrom, recipients)
                : sendStepByStep(transaction, mailFrom, recipients);
        } catch (RuntimeException e) {
            abandon();
            throw e;
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
            out = new BufferedOutputStream(connected.getOutputStream(), OUTPUT_BUFFER_BYTES);
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
        // the first line is the server's greeting name, not an extension
        for (String line : ehloLines.subList(Math.min(1, ehloLines.size()), ehloLines.size())) {
            String trimmed = line.trim();
            int space = trimmed.indexOf(' ');
            String keyword = (space < 0 ? trimmed : trimmed.substring(0, space)).toUpperCase(Locale.ROOT);
            if (!keyword.isEmpty()) {
                keywords.add(keyword);
            }
        }
        extensions = Set.copyOf(keywords);
        pipelining = extensions.contains("PIPELINING");
        eightBitMime = extensions.contains("8BITMIME");
        sizeDeclared = extensions.contains("SIZE");
    }

    private void negotiateTls(SessionSettings settings, SSLSocketFactory tlsSockets) throws SmtpSessionException {
        TlsMode mode = settings.tlsMode();
        if (mode == TlsMode.DISABLED) {
            return;
        }
        if (!extensions.contains("STARTTLS")) {
            if (mode.allowsPlaintext()) {
                return;
            }
            throw refuseOrderly(Stage.STARTTLS, Kind.TLS_FAILURE,
                "server does not offer STARTTLS, which TLS mode " + mode + " requires", null);
        }
        SmtpReply reply = command("STARTTLS", Stage.STARTTLS);
        if (reply.code() != 220) {
            if (mode.allowsPlaintext()) {
                return;
            }
            throw refuseOrderly(Stage.STARTTLS, Kind.TLS_FAILURE,
                "STARTTLS refused, but TLS mode " + mode + " requires it", reply);
        }
        if (replies.hasUnreadBytes()) {
            // plaintext sent after the 220 would be read as if it came through TLS (CVE-2011-0411 style)
            throw fail(Stage.STARTTLS, Kind.PROTOCOL_ERROR, "server sent data after its STARTTLS reply", null, null);
        }
        SSLSocket tlsSocket;
        try {
            tlsSocket = handshake(tlsSockets, mode);
        } catch (IOException e) {
            throw fail(Stage.STARTTLS, Kind.TLS_FAILURE, "TLS handshake failed (TLS mode " + mode + "): "
                + e.getMessage(), null, e);
        }
        attach(tlsSocket, Stage.STARTTLS);
        hello(settings.heloName());
    }

    private SSLSocket handshake(SSLSocketFactory tlsSockets, TlsMode mode) throws IOException {
        SSLSocket tlsSocket = (SSLSocket) tlsSockets.createSocket(socket, endpoint.hostName(), endpoint.port(), true);
        tlsSocket.setUseClientMode(true);
        SSLParameters parameters = tlsSocket.getSSLParameters();
        if (mode == TlsMode.VERIFY) {
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
        }
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
        tls = Optional.of(new TlsInfo(tlsSession.getProtocol(), tlsSession.getCipherSuite(), chain));
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

    private TransactionResult sendPipelined(SmtpTransaction transaction, String mailFrom, List<String> recipients)
        throws SmtpSessionException {
        boolean reset = resetNeeded;
        // without partial delivery, DATA may only go out blind when no other recipient can be refused
        boolean dataPipelined = transaction.partialDelivery() || recipients.size() == 1;
        Stage first = reset ? Stage.RSET : Stage.MAIL;
        try {
            if (reset) {
                writeCommand("RSET");
            }
            writeCommand(mailFrom);
            for (String recipient : recipients) {
                writeCommand(rcptCommand(recipient));
            }
            if (dataPipelined) {
                writeCommand("DATA");
            }
            out.flush();
        } catch (IOException e) {
            throw fail(first, Kind.CONNECTION_LOST, "could not send the transaction: " + e.getMessage(), null, e);
        }
        resetNeeded = true;
        if (reset) {
            requireResetAccepted(await(Stage.RSET, "RSET", commandTimeoutMillis));
        }
        SmtpReply mailReply = requireFinal(await(Stage.MAIL, "MAIL", commandTimeoutMillis), Stage.MAIL);
        Map<String, SmtpReply> recipientReplies = new LinkedHashMap<>();
        int accepted = 0;
        for (String recipient : recipients) {
            SmtpReply reply = requireFinal(await(Stage.RCPT, "RCPT", commandTimeoutMillis), Stage.RCPT);
            recipientReplies.put(recipient, reply);
            if (reply.isPositiveCompletion()) {
                accepted++;
            }
        }
        boolean deliverable = deliverable(transaction, mailReply, accepted, recipients.size());
        SmtpReply dataReply;
        if (dataPipelined) {
            dataReply = await(Stage.DATA, "DATA", commandTimeoutMillis);
        } else if (deliverable) {
            dataReply = command("DATA", Stage.DATA);
        } else {
            if (mailReply.isPositiveCompletion()) {
                resetNow();
            }
            return new TransactionResult(mailReply, recipientReplies, Optional.empty());
        }
        return afterData(transaction, mailReply, recipientReplies, deliverable, dataReply);
    }

    private TransactionResult sendStepByStep(SmtpTransaction transaction, String mailFrom, List<String> recipients)
        throws SmtpSessionException {
        if (resetNeeded) {
            resetNow();
        }
        resetNeeded = true;
        SmtpReply mailReply = requireFinal(command(mailFrom, Stage.MAIL), Stage.MAIL);
        if (!mailReply.isPositiveCompletion()) {
            return new TransactionResult(mailReply, Map.of(), Optional.empty());
        }
        Map<String, SmtpReply> recipientReplies = new LinkedHashMap<>();
        int accepted = 0;
        for (String recipient : recipients) {
            SmtpReply reply = requireFinal(command(rcptCommand(recipient), Stage.RCPT), Stage.RCPT);
            recipientReplies.put(recipient, reply);
            if (reply.isPositiveCompletion()) {
                accepted++;
            }
        }
        if (!deliverable(transaction, mailReply, accepted, recipients.size())) {
            resetNow();
            return new TransactionResult(mailReply, recipientReplies, Optional.empty());
        }
        return afterData(transaction, mailReply, recipientReplies, true, command("DATA", Stage.DATA));
    }

    private static boolean deliverable(SmtpTransaction transaction, SmtpReply mailReply, int accepted,
                                       int recipients) {
        return mailReply.isPositiveCompletion() && accepted > 0
            && (transaction.partialDelivery() || accepted == recipients);
    }

    private TransactionResult afterData(SmtpTransaction transaction, SmtpReply mailReply,
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
        SmtpReply finalReply = sendContent(transaction.content());
        return new TransactionResult(mailReply, recipientReplies, Optional.of(finalReply));
    }

    /** A server that said 354 although no recipient can take the mail gets an empty message it cannot deliver. */
    private void terminateEmptyData() throws SmtpSessionException {
        try {
            writeCommand(".");
            out.flush();
        } catch (IOException e) {
            throw fail(Stage.DATA, Kind.CONNECTION_LOST, "could not end DATA: " + e.getMessage(), null, e);
        }
        await(Stage.DATA, "end of an empty DATA", commandTimeoutMillis);
    }

    private SmtpReply sendContent(MessageContent content) throws SmtpSessionException {
        DotStuffingOutputStream body = new DotStuffingOutputStream(out);
        try {
            content.writeTo(body);
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
            throw fail(Stage.CONTENT, Kind.CONNECTION_LOST, "could not send the content: " + e.getMessage(), null,
                e);
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

    private String mailFromCommand(SmtpTransaction transaction) {
        StringBuilder command = new StringBuilder(40 + transaction.reversePath().length())
            .append("MAIL FROM:<").append(transaction.reversePath()).append('>');
        if (eightBitMime || sizeDeclared) {
            ContentScan scan = new ContentScan();
            try {
                transaction.content().writeTo(scan);
            } catch (IOException e) {
                throw new UncheckedIOException(endpoint + ": could not read the message content", e);
            }
            if (eightBitMime && scan.hasEightBitBytes()) {
                command.append(" BODY=8BITMIME");
            }
            if (sizeDeclared) {
                command.append(" SIZE=").append(scan.normalisedSize());
            }
        }
        return command.toString();
    }

    private static String rcptCommand(String recipient) {
        return "RCPT TO:<" + recipient + ">";
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
            throw fail(stage, Kind.CONNECTION_LOST, "could not send " + stage + ": " + e.getMessage(), null, e);
        }
        return await(stage, stage.toString(), commandTimeoutMillis);
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

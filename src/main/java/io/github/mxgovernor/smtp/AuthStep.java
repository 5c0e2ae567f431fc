package io.github.mxgovernor.smtp;

import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), else LOGIN, each reply within {@code commandTimeout}. Never over
 * plaintext: on a session without TLS the credentials are not sent and the session ends. Whether the server's
 * identity was verified enough to be trusted with them is the caller's decision, made before. A refusal, or no
 * mechanism this client knows, ends the session in good order. Runs on the connection's event loop.
 */
final class AuthStep {
    private final SmtpConnection connection;
    private final EhloCapabilities server;
    private final boolean encrypted;
    private final long commandTimeoutMillis;

    AuthStep(SmtpConnection connection, EhloCapabilities server, boolean encrypted, long commandTimeoutMillis) {
        this.connection = connection;
        this.server = server;
        this.encrypted = encrypted;
        this.commandTimeoutMillis = commandTimeoutMillis;
    }

    CompletableFuture<Void> authenticate(SmtpCredentials credentials) {
        if (!encrypted) {
            return CompletableFuture.failedFuture(refuse("the session is not encrypted, and SMTP AUTH credentials are"
                + " only sent over TLS (give this server a rule with tls REQUIRED or VERIFY)", null));
        }
        String mechanism;
        CompletableFuture<SmtpReply> outcome;
        if (server.offersAuth("PLAIN")) {
            mechanism = "PLAIN";
            outcome = command("AUTH PLAIN " + base64("\0" + credentials.username() + "\0" + credentials.password()));
        } else if (server.offersAuth("LOGIN")) {
            mechanism = "LOGIN";
            outcome = command("AUTH LOGIN")
                .thenCompose(reply -> challenged(reply) ? command(base64(credentials.username())) : completed(reply))
                .thenCompose(reply -> challenged(reply) ? command(base64(credentials.password())) : completed(reply));
        } else {
            return CompletableFuture.failedFuture(refuse("the server offers no SMTP AUTH mechanism this client knows"
                + " (PLAIN, LOGIN); it offers " + server.authMechanismsOffered(), null));
        }
        return outcome.thenAccept(reply -> {
            if (reply.code() != SmtpCodes.AUTHENTICATED) {
                throw new CompletionException(refuse("AUTH " + mechanism + " as " + credentials.username()
                    + " refused", reply));
            }
        });
    }

    private CompletableFuture<SmtpReply> command(String line) {
        return connection.command(line, Stage.AUTH, commandTimeoutMillis);
    }

    private static boolean challenged(SmtpReply reply) {
        return reply.code() == SmtpCodes.AUTH_CHALLENGE;
    }

    private static CompletableFuture<SmtpReply> completed(SmtpReply reply) {
        return CompletableFuture.completedFuture(reply);
    }

    private SmtpSessionException refuse(String message, SmtpReply reply) {
        return connection.refuse(Stage.AUTH, Kind.AUTHENTICATION_FAILED, message, reply);
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }
}

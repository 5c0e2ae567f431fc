package io.github.mxgovernor.it;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Replaces some of {@link FakeMxServer}'s replies. A reply is a complete SMTP reply such as
 * {@code "550 5.1.1 no such user"}; lines of a multi-line reply are separated by CRLF. A reply starting with
 * {@code 421} closes the connection once it is sent, as real servers do.
 */
@FunctionalInterface
public interface ReplyPolicy {
    String TSS04_DEFERRED = "421 4.7.0 [TSS04] Messages temporarily deferred";
    String NO_SUCH_USER = "550 5.1.1 no such user";
    String SERVER_BUSY = "451 4.7.500 Server busy";

    /**
     * @return the reply to send instead of the normal one, or {@code null} to answer normally
     */
    String replyTo(ClientCommand command);

    /** Asks this policy first, then {@code other} when this one answers normally. */
    default ReplyPolicy orElse(ReplyPolicy other) {
        Objects.requireNonNull(other, "other");
        return command -> {
            String reply = replyTo(command);
            return reply != null ? reply : other.replyTo(command);
        };
    }

    /** Answers {@code reply} at every command of {@code stage}. */
    static ReplyPolicy at(SmtpStage stage, String reply) {
        return at(stage, command -> true, reply);
    }

    /** Answers {@code reply} at the commands of {@code stage} that {@code condition} accepts. */
    static ReplyPolicy at(SmtpStage stage, Predicate<ClientCommand> condition, String reply) {
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(condition, "condition");
        Objects.requireNonNull(reply, "reply");
        return command -> command.stage() == stage && condition.test(command) ? reply : null;
    }

    /** Answers {@code reply} to RCPT for the given addresses (compared case-insensitively). */
    static ReplyPolicy rejectRecipients(String reply, Set<String> addresses) {
        Set<String> lowerCase = addresses.stream().map(a -> a.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        return at(SmtpStage.RCPT,
            command -> command.address().map(a -> lowerCase.contains(a.toLowerCase(Locale.ROOT))).orElse(false),
            reply);
    }
}

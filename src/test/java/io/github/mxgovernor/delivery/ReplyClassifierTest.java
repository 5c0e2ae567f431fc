package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.FlowSignal;
import io.github.mxgovernor.flowcontrol.Reaction;
import io.github.mxgovernor.flowcontrol.ResponseRule;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.RecipientVerdict;
import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;
import io.github.mxgovernor.tls.TlsProblem;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ReplyClassifierTest {
    private static final String ALICE = "alice@example.com";
    private static final String BOB = "bob@example.com";
    private static final SmtpReply OK = SmtpReply.of(250, "2.1.0 OK");
    private static final SmtpReply QUEUED = SmtpReply.of(250, "2.0.0 queued as 1234");
    private static final SmtpReply NO_SUCH_USER = SmtpReply.of(550, "5.1.1 no such user");
    private static final SmtpReply TRY_LATER = SmtpReply.of(451, "4.3.0 try later");

    private static final FlowControlPolicy NO_RULES = FlowControlPolicy.builtIn();
    private static final ResponseRule FREQUENCY_LIMITED = new ResponseRule("frequency limited", 1, Optional.empty(),
        Reaction.backoff(Optional.of(Duration.ofMinutes(30))), "mx-rules.xml:9", true);
    private static final FlowControlPolicy DEFERS_FREQUENCY_LIMITED = FlowControlPolicy.builder()
        .addResponseRule(FREQUENCY_LIMITED).build();

    private final ReplyClassifier classifier = new ReplyClassifier();

    private Map<String, RecipientVerdict> verdicts(SmtpTransaction transaction, TransactionResult result) {
        return verdicts(transaction, result, NO_RULES);
    }

    private Map<String, RecipientVerdict> verdicts(SmtpTransaction transaction, TransactionResult result,
                                                   FlowControlPolicy rules) {
        return classifier.classify(transaction, result, rules).verdicts();
    }

    private RecipientVerdict verdict(SmtpSessionException failure) {
        return classifier.classify(failure, List.of(ALICE), NO_RULES).verdicts().get(ALICE);
    }

    // ---- The table: a reply at each stage of a transaction, with and without response rules ----

    /** How a reply ends the attempt: the verdict's kind, its deferral reason, and the flow-control signal. */
    private enum Meaning {
        DELIVERED(RecipientVerdict.Kind.DELIVERED, null, FlowSignal.SUCCEEDED),
        TEMPORARY(RecipientVerdict.Kind.TEMPORARY_FAILURE, DeferralReason.SMTP_TEMPORARY_FAILURE, FlowSignal.THROTTLED),
        PERMANENT(RecipientVerdict.Kind.PERMANENT_FAILURE, null, FlowSignal.REFUSED);

        final RecipientVerdict.Kind kind;
        final DeferralReason reason;
        final FlowSignal signal;

        Meaning(RecipientVerdict.Kind kind, DeferralReason reason, FlowSignal signal) {
            this.kind = kind;
            this.reason = reason;
            this.signal = signal;
        }
    }

    /** Where in the transaction the reply comes: the others before it are accepted, none comes after. */
    private enum At { MAIL, RCPT, CONTENT }

    /**
     * Every reply class, and every pair of reply code and enhanced code whose classes disagree (RFC 3463 precedence,
     * made safe): a 2xx code is taken whatever its enhanced code; between 4 and 5 the enhanced code decides; an
     * enhanced 2.x.x never makes a failure a success.
     */
    static Stream<Arguments> replies() {
        return Stream.of(
            Arguments.of("250 2.0.0 ok", Meaning.DELIVERED),
            Arguments.of("250 ok", Meaning.DELIVERED),
            Arguments.of("250 4.2.0 odd but taken", Meaning.DELIVERED),
            Arguments.of("250 5.1.1 odd but taken", Meaning.DELIVERED),
            Arguments.of("354 go ahead", Meaning.TEMPORARY),
            Arguments.of("451 4.3.0 try later", Meaning.TEMPORARY),
            Arguments.of("450 mailbox busy", Meaning.TEMPORARY),
            Arguments.of("451 5.1.1 no such user", Meaning.PERMANENT),
            Arguments.of("451 2.0.0 not a success", Meaning.TEMPORARY),
            Arguments.of("421 4.7.0 [TSS04] deferred", Meaning.TEMPORARY),
            Arguments.of("421 5.7.1 blocked", Meaning.PERMANENT),
            Arguments.of("550 5.1.1 no such user", Meaning.PERMANENT),
            Arguments.of("550 no such user", Meaning.PERMANENT),
            Arguments.of("550 4.7.1 try later", Meaning.TEMPORARY),
            Arguments.of("554 2.0.0 not a success", Meaning.PERMANENT));
    }

    static Stream<Arguments> repliesAtEachStage() {
        return replies().flatMap(reply -> Stream.of(At.values())
            .map(at -> Arguments.of(reply.get()[0], reply.get()[1], at)));
    }

    @ParameterizedTest(name = "{0} to {2}")
    @MethodSource("repliesAtEachStage")
    void aReplyShouldMeanTheSameAtEveryStage(String text, Meaning meaning, At at) {
        SmtpReply reply = reply(text);

        AttemptResult result = classifier.classify(transaction(true), resultWith(reply, at), NO_RULES);

        assertThat(result.verdicts()).containsOnlyKeys(ALICE, BOB);
        assertThat(result.verdicts().values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(meaning.kind);
            assertThat(verdict.deferralReason()).isEqualTo(Optional.ofNullable(meaning.reason));
            assertThat(verdict.reply()).contains(reply);
            assertThat(verdict.explanation()).isEqualTo(text);
            assertThat(verdict.triesNextMx()).isFalse();
        });
        assertThat(result.signal()).isEqualTo(meaning.signal);
        assertThat(result.failure()).isEqualTo(meaning == Meaning.TEMPORARY
            ? Optional.of(DeferralReason.SMTP_TEMPORARY_FAILURE) : Optional.empty());
        assertThat(result.lastReply()).contains(reply);
        assertThat(result.ruleMatches()).isEmpty();
    }

    @ParameterizedTest(name = "{0} to {2}")
    @MethodSource("repliesAtEachStage")
    void aRuleThatMatchesAReplyShouldBeNamedOnceAndLeaveItsMeaningUnlessItDefersMail(String text, Meaning meaning,
                                                                                     At at) {
        SmtpReply reply = reply(text);
        ResponseRule any = new ResponseRule(".", 1, Optional.empty(), Reaction.backoff(Optional.of(
            Duration.ofMinutes(5))), "mx-rules.xml:20");
        ResponseRule defers = new ResponseRule(".", 1, Optional.empty(), Reaction.backoff(Optional.of(
            Duration.ofMinutes(5))), "mx-rules.xml:21", true);

        AttemptResult watched = classifier.classify(transaction(true), resultWith(reply, at),
            FlowControlPolicy.builder().addResponseRule(any).build());
        AttemptResult held = classifier.classify(transaction(true), resultWith(reply, at),
            FlowControlPolicy.builder().addResponseRule(defers).build());

        boolean seenByRules = !reply.isPositiveCompletion();
        assertThat(watched.ruleMatches()).isEqualTo(seenByRules ? Map.of(reply, any) : Map.of());
        assertThat(watched.verdicts().get(ALICE).kind()).isEqualTo(meaning.kind);
        assertThat(watched.signal()).isEqualTo(meaning.signal);
        Meaning heldMeaning = meaning == Meaning.PERMANENT ? Meaning.TEMPORARY : meaning;
        assertThat(held.ruleMatches()).isEqualTo(seenByRules ? Map.of(reply, defers) : Map.of());
        assertThat(held.verdicts().values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(heldMeaning.kind);
            assertThat(verdict.deferralReason()).isEqualTo(Optional.ofNullable(heldMeaning.reason));
            assertThat(verdict.reply()).contains(reply);
        });
        assertThat(held.signal()).isEqualTo(heldMeaning.signal);
        if (meaning == Meaning.PERMANENT) {
            assertThat(held.verdicts().get(ALICE).explanation())
                .isEqualTo(text + " (a response rule defers this reply instead of bouncing)");
        }
    }

    private static TransactionResult resultWith(SmtpReply reply, At at) {
        boolean taken = reply.isPositiveCompletion();
        switch (at) {
            case MAIL:
                return taken ? new TransactionResult(reply, replies(OK, OK), Optional.of(reply))
                    : new TransactionResult(reply, Map.of(), Optional.empty());
            case RCPT:
                return new TransactionResult(OK, replies(reply, reply), taken ? Optional.of(reply) : Optional.empty());
            default:
                return new TransactionResult(OK, replies(OK, OK), Optional.of(reply));
        }
    }

    // ---- The table: what ended a session, at each stage ----

    static Stream<Arguments> sessionFailures() {
        return Stream.of(
            // stage, kind, reply or "", deferral reason, next MX, signal
            Arguments.of(Stage.CONNECT, Kind.CONNECTION_REFUSED, "", DeferralReason.CONNECTION_FAILED, true,
                FlowSignal.FAILED),
            Arguments.of(Stage.GREETING, Kind.TIMEOUT, "", DeferralReason.CONNECTION_FAILED, true, FlowSignal.FAILED),
            Arguments.of(Stage.GREETING, Kind.REFUSED_BY_SERVER, "421 4.7.0 too many connections",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.THROTTLED),
            Arguments.of(Stage.GREETING, Kind.REFUSED_BY_SERVER, "554 5.7.1 no SMTP service here",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.FAILED),
            Arguments.of(Stage.EHLO, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.THROTTLED),
            Arguments.of(Stage.STARTTLS, Kind.TLS_FAILURE, "", DeferralReason.TLS_POLICY_FAILURE, true,
                FlowSignal.FAILED),
            Arguments.of(Stage.STARTTLS, Kind.TLS_FAILURE, "454 4.7.0 TLS not available",
                DeferralReason.TLS_POLICY_FAILURE, true, FlowSignal.FAILED),
            Arguments.of(Stage.STARTTLS, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.THROTTLED),
            Arguments.of(Stage.AUTH, Kind.AUTHENTICATION_FAILED, "535 5.7.8 bad credentials",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.FAILED),
            Arguments.of(Stage.AUTH, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.CONNECTION_FAILED, true, FlowSignal.THROTTLED),
            Arguments.of(Stage.RSET, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.THROTTLED),
            Arguments.of(Stage.RSET, Kind.CONNECTION_LOST, "", DeferralReason.CONNECTION_FAILED, false,
                FlowSignal.FAILED),
            Arguments.of(Stage.MAIL, Kind.REFUSED_BY_SERVER, "421 4.7.0 [TSS04] deferred",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.THROTTLED),
            Arguments.of(Stage.RCPT, Kind.REFUSED_BY_SERVER, "421 4.7.0 too many messages, closing",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.THROTTLED),
            Arguments.of(Stage.DATA, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.THROTTLED),
            Arguments.of(Stage.CONTENT, Kind.REFUSED_BY_SERVER, "421 4.3.2 shutting down",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.THROTTLED),
            Arguments.of(Stage.MAIL, Kind.TIMEOUT, "", DeferralReason.CONNECTION_FAILED, false, FlowSignal.FAILED),
            Arguments.of(Stage.RCPT, Kind.CONNECTION_LOST, "", DeferralReason.CONNECTION_FAILED, false,
                FlowSignal.FAILED),
            Arguments.of(Stage.DATA, Kind.PROTOCOL_ERROR, "", DeferralReason.CONNECTION_FAILED, false,
                FlowSignal.FAILED),
            Arguments.of(Stage.CONTENT, Kind.TIMEOUT, "", DeferralReason.CONNECTION_FAILED, false,
                FlowSignal.FAILED),
            Arguments.of(Stage.CONTENT, Kind.PROTOCOL_ERROR, "500 5.5.1 unknown command BDAT",
                DeferralReason.SMTP_TEMPORARY_FAILURE, false, FlowSignal.FAILED));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("sessionFailures")
    void aSessionFailureShouldDeferEveryRecipientAsItsStageAndReplySay(Stage stage, Kind kind, String replyText,
                                                                       DeferralReason reason, boolean nextMx,
                                                                       FlowSignal signal) {
        Optional<SmtpReply> reply = replyText.isEmpty() ? Optional.empty() : Optional.of(reply(replyText));
        SmtpSessionException failure = kind == Kind.TLS_FAILURE
            ? new SmtpSessionException(stage, "mx1.example.com:25: TLS failed", reply, null, TlsProblem.NO_STARTTLS)
            : new SmtpSessionException(stage, kind, "mx1.example.com:25: it ended", reply, null);

        AttemptResult result = classifier.classify(failure, List.of(ALICE, BOB), NO_RULES);

        assertThat(result.verdicts()).containsOnlyKeys(ALICE, BOB);
        assertThat(result.verdicts().values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.deferralReason()).contains(reason);
            assertThat(verdict.reply()).isEqualTo(reply);
            assertThat(verdict.explanation()).isEqualTo(failure.getMessage());
        });
        assertThat(result.triesNextMx()).isEqualTo(nextMx);
        assertThat(result.signal()).isEqualTo(signal);
        assertThat(result.failure()).contains(reason);
        assertThat(result.lastReply()).isEqualTo(reply);
    }

    @Test
    void a421WithAPermanentEnhancedCodeDuringATransactionShouldBounceLikeAnyPermanentReply() {
        SmtpReply blocked = reply("421 5.7.1 blocked for abuse");

        AttemptResult result = classifier.classify(new SmtpSessionException(Stage.RCPT, Kind.REFUSED_BY_SERVER,
            "mx1.example.com:25: server is closing the connection: " + blocked, Optional.of(blocked), null),
            List.of(ALICE), NO_RULES);

        assertThat(result.verdicts().get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        assertThat(result.signal()).isEqualTo(FlowSignal.REFUSED);
        assertThat(result.failure()).isEmpty();
    }

    @Test
    void aSessionFailuresReplyShouldBeTriedAgainstTheRulesAndA5xxADeferMailRuleHoldsStaysTemporary() {
        SmtpReply limited = reply("421 4.7.0 connection frequency limited");
        ResponseRule rule = new ResponseRule("frequency limited", 1, Optional.empty(), Reaction.reconnect(),
            "mx-rules.xml:30");

        AttemptResult greeting = classifier.classify(new SmtpSessionException(Stage.GREETING,
            Kind.REFUSED_BY_SERVER, "greeting refused", Optional.of(limited), null), List.of(ALICE),
            FlowControlPolicy.builder().addResponseRule(rule).build());
        AttemptResult content = classifier.classify(new SmtpSessionException(Stage.CONTENT,
            Kind.REFUSED_BY_SERVER, "closing", Optional.of(reply("421 5.7.0 Ip frequency limited")), null),
            List.of(ALICE), DEFERS_FREQUENCY_LIMITED);

        assertThat(greeting.ruleMatches()).containsExactly(Map.entry(limited, rule));
        assertThat(content.verdicts().get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(content.matchedRule()).contains(FREQUENCY_LIMITED);
    }

    // ---- Rules are matched once per reply, and never on our own texts ----

    @Test
    void equalRepliesShouldBeMatchedOnceAndDifferentOnesEach() {
        SmtpReply busy = reply("452 4.2.1 rate limited");
        SmtpReply other = reply("451 4.2.1 rate limited for a while");
        ResponseRule rateLimited = new ResponseRule("rate limited", 2, Optional.of(Duration.ofMinutes(10)),
            Reaction.backoff(Optional.of(Duration.ofMinutes(30))), "mx-rules.xml:40");
        FlowControlPolicy rules = FlowControlPolicy.builder().addResponseRule(rateLimited).build();
        SmtpTransaction three = new SmtpTransaction("", List.of(ALICE, BOB, "carol@example.com"), out -> { }, true);
        Map<String, SmtpReply> replies = new LinkedHashMap<>(replies(busy, busy));
        replies.put("carol@example.com", other);

        AttemptResult result = classifier.classify(three, new TransactionResult(OK, replies, Optional.empty()), rules);

        assertThat(result.ruleMatches()).containsExactly(Map.entry(busy, rateLimited), Map.entry(other, rateLimited));
        assertThat(result.signal()).isEqualTo(FlowSignal.THROTTLED);
    }

    @Test
    void ourOwnTextsShouldNeverMeetARule() {
        ResponseRule everything = new ResponseRule(".*", 1, Optional.empty(), Reaction.backoff(Optional.of(
            Duration.ofMinutes(5))), "mx-rules.xml:50");
        FlowControlPolicy rules = FlowControlPolicy.builder().addResponseRule(everything).build();
        LocalRefusal tooLarge = new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE, "too large (SIZE)");

        AttemptResult refused = classifier.classify(transaction(true), TransactionResult.refusedLocally(tooLarge),
            rules);
        AttemptResult timedOut = classifier.classify(new SmtpSessionException(Stage.CONTENT, Kind.TIMEOUT,
            "no reply within 600000 ms"), List.of(ALICE), rules);
        AttemptResult heldBack = classifier.classify(transaction(false),
            new TransactionResult(OK, replies(OK, NO_SUCH_USER), Optional.empty()), rules);

        assertThat(refused.ruleMatches()).isEmpty();
        assertThat(refused.signal()).isEqualTo(FlowSignal.REFUSED);
        assertThat(refused.lastReply()).isEmpty();
        assertThat(timedOut.ruleMatches()).isEmpty();
        assertThat(heldBack.ruleMatches()).containsOnlyKeys(NO_SUCH_USER);
        assertThat(heldBack.signal()).as("held back by us, refused by the server: no sign of throttling")
            .isEqualTo(FlowSignal.REFUSED);
    }

    @Test
    void oneDeliveredRecipientShouldMakeTheAttemptASuccess() {
        AttemptResult result = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(OK, TRY_LATER), Optional.of(QUEUED)), NO_RULES);

        assertThat(result.signal()).isEqualTo(FlowSignal.SUCCEEDED);
        assertThat(result.delivered()).isTrue();
        assertThat(result.failure()).isEmpty();
        assertThat(result.lastReply()).contains(QUEUED);
    }

    private static SmtpReply reply(String text) {
        return SmtpReply.of(Integer.parseInt(text.substring(0, 3)), text.substring(4));
    }

    // ---- Single cases ----

    private static SmtpTransaction transaction(boolean partialDelivery) {
        return new SmtpTransaction("sender@example.org", List.of(ALICE, BOB), out -> { }, partialDelivery);
    }

    private static Map<String, SmtpReply> replies(SmtpReply alice, SmtpReply bob) {
        Map<String, SmtpReply> replies = new LinkedHashMap<>();
        replies.put(ALICE, alice);
        replies.put(BOB, bob);
        return replies;
    }

    @Test
    void everyRecipientShouldBeDeliveredWhenTheContentIsAccepted() {
        Map<String, RecipientVerdict> verdicts = verdicts(transaction(false),
            new TransactionResult(OK, replies(OK, OK), Optional.of(QUEUED)));

        assertThat(verdicts).containsOnlyKeys(ALICE, BOB);
        assertThat(verdicts.values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.DELIVERED);
            assertThat(verdict.reply()).contains(QUEUED);
            assertThat(verdict.explanation()).isEqualTo("250 2.0.0 queued as 1234");
            assertThat(verdict.deferralReason()).isEmpty();
            assertThat(verdict.generatedLocally()).isFalse();
            assertThat(verdict.triesNextMx()).isFalse();
        });
    }

    @Test
    void aPermanentReplyThatTheResponseRulesDeferShouldBeATemporaryFailureWithTheReply() {
        SmtpReply throttled = SmtpReply.of(550, "Ip frequency limited");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(OK, replies(throttled, NO_SUCH_USER), Optional.empty()), DEFERS_FREQUENCY_LIMITED);

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdicts.get(ALICE).deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(verdicts.get(ALICE).reply()).contains(throttled);
        assertThat(verdicts.get(ALICE).explanation())
            .isEqualTo("550 Ip frequency limited (a response rule defers this reply instead of bouncing)");
        assertThat(verdicts.get(ALICE).generatedLocally()).isFalse();
        assertThat(verdicts.get(BOB).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
    }

    @Test
    void aDeferredPermanentReplyToMailFromShouldDeferEveryRecipient() {
        SmtpReply throttled = SmtpReply.of(550, "Connection frequency limited");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(false),
            new TransactionResult(throttled, Map.of(), Optional.empty()), DEFERS_FREQUENCY_LIMITED);

        assertThat(verdicts.values()).extracting(RecipientVerdict::kind)
            .containsOnly(RecipientVerdict.Kind.TEMPORARY_FAILURE);
    }

    @Test
    void verdictsShouldFollowTheTransactionsRecipientOrder() {
        SmtpTransaction transaction = new SmtpTransaction("", List.of(BOB, ALICE), out -> { }, true);

        Map<String, RecipientVerdict> verdicts = verdicts(transaction,
            new TransactionResult(OK, replies(OK, OK), Optional.of(QUEUED)));

        assertThat(verdicts.keySet()).containsExactly(BOB, ALICE);
    }

    @Test
    void aLocalRefusalShouldBounceEveryRecipientWithoutAReply() {
        LocalRefusal tooLarge = new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE,
            "the message is 2000 bytes, more than the 1000 bytes mx.example.com accepts (SIZE)");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            TransactionResult.refusedLocally(tooLarge));

        assertThat(verdicts).containsOnlyKeys(ALICE, BOB);
        assertThat(verdicts.values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
            assertThat(verdict.reply()).isEmpty();
            assertThat(verdict.generatedLocally()).isTrue();
            assertThat(verdict.explanation()).isEqualTo("not sent: 5.3.4 the message is 2000 bytes, more than the"
                + " 1000 bytes mx.example.com accepts (SIZE)");
            assertThat(verdict.triesNextMx()).isFalse();
        });
    }

    @Test
    void aRefusedMailFromShouldGiveEveryRecipientItsVerdict() {
        SmtpReply refused = SmtpReply.of(553, "5.7.1 sender not allowed");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(refused, Map.of(), Optional.empty()));

        assertThat(verdicts.values()).hasSize(2).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
            assertThat(verdict.reply()).contains(refused);
            assertThat(verdict.explanation()).isEqualTo("553 5.7.1 sender not allowed");
        });
    }

    @Test
    void aTemporarilyRefusedMailFromShouldDeferEveryRecipient() {
        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(TRY_LATER, Map.of(), Optional.empty()));

        assertThat(verdicts.values()).hasSize(2).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
            assertThat(verdict.triesNextMx()).isFalse();
        });
    }

    @Test
    void aRefusedRecipientShouldGetItsOwnReplyAndTheOthersTheContentReply() {
        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(OK, replies(NO_SUCH_USER, OK), Optional.of(QUEUED)));

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        assertThat(verdicts.get(ALICE).reply()).contains(NO_SUCH_USER);
        assertThat(verdicts.get(BOB).kind()).isEqualTo(RecipientVerdict.Kind.DELIVERED);
        assertThat(verdicts.get(BOB).reply()).contains(QUEUED);
    }

    @Test
    void aTemporarilyRefusedRecipientShouldBeDeferredWithItsReply() {
        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(OK, replies(OK, TRY_LATER), Optional.of(QUEUED)));

        RecipientVerdict bob = verdicts.get(BOB);
        assertThat(bob.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(bob.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(bob.reply()).contains(TRY_LATER);
        assertThat(bob.explanation()).isEqualTo("451 4.3.0 try later");
        assertThat(bob.generatedLocally()).isFalse();
    }

    @Test
    void acceptedRecipientsShouldBeDeferredWhenOthersWereRefusedAndSendpartialIsOff() {
        Map<String, RecipientVerdict> verdicts = verdicts(transaction(false),
            new TransactionResult(OK, replies(NO_SUCH_USER, OK), Optional.empty()));

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        RecipientVerdict bob = verdicts.get(BOB);
        assertThat(bob.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(bob.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(bob.explanation()).isEqualTo("not sent: other recipients were refused and sendpartial is off");
        assertThat(bob.reply()).isEmpty();
        assertThat(bob.generatedLocally()).isTrue();
        assertThat(bob.triesNextMx()).isFalse();
    }

    @Test
    void aRefusedContentShouldGiveTheAcceptedRecipientsItsVerdict() {
        SmtpReply rejected = SmtpReply.of(554, "5.7.1 message rejected as spam");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(OK, replies(OK, TRY_LATER), Optional.of(rejected)));

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        assertThat(verdicts.get(ALICE).reply()).contains(rejected);
        assertThat(verdicts.get(BOB).reply()).contains(TRY_LATER);
    }

    @Test
    void aRefusedDataCommandShouldDeferTheAcceptedRecipients() {
        SmtpReply dataRefused = SmtpReply.of(451, "4.7.1 greylisted, try again");

        Map<String, RecipientVerdict> verdicts = verdicts(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.of(dataRefused)));

        assertThat(verdicts.values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.reply()).contains(dataRefused);
        });
    }

    @Test
    void anUnexpectedIntermediateReplyShouldBeATemporaryFailure() {
        SmtpReply intermediate = SmtpReply.of(354, "go ahead");

        RecipientVerdict verdict = verdicts(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.of(intermediate))).get(ALICE);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(verdict.reply()).contains(intermediate);
    }

    @Test
    void aRecipientWithoutAReplyShouldBeDeferred() {
        RecipientVerdict verdict = verdicts(transaction(true),
            new TransactionResult(OK, Map.of(ALICE, OK), Optional.of(QUEUED))).get(BOB);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.explanation()).isEqualTo("no reply to RCPT TO was recorded for this recipient");
        assertThat(verdict.generatedLocally()).isTrue();
    }

    @Test
    void acceptedRecipientsWithoutAContentReplyShouldBeDeferred() {
        RecipientVerdict verdict = verdicts(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.empty())).get(ALICE);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.explanation()).isEqualTo("no reply to the message content was recorded");
        assertThat(verdict.generatedLocally()).isTrue();
    }

    @Test
    void aMissingRecipientReplyShouldHoldBackTheContentWhenSendpartialIsOff() {
        RecipientVerdict verdict = verdicts(transaction(false),
            new TransactionResult(OK, Map.of(ALICE, OK), Optional.empty())).get(ALICE);

        assertThat(verdict.explanation()).isEqualTo("not sent: other recipients were refused and sendpartial is off");
    }

    @Test
    void tlsFailureShouldBeATlsPolicyFailureThatTriesTheNextMx() {
        SmtpSessionException failure = new SmtpSessionException(Stage.STARTTLS, Kind.TLS_FAILURE,
            "mx1.example.com offers no STARTTLS and the policy requires it");

        RecipientVerdict verdict = verdict(failure);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.deferralReason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(verdict.explanation()).isEqualTo("mx1.example.com offers no STARTTLS and the policy requires it");
        assertThat(verdict.generatedLocally()).isTrue();
        assertThat(verdict.triesNextMx()).isTrue();
    }

    @Test
    void aRefusedStarttlsWithAReplyShouldKeepTheReply() {
        SmtpReply refused = SmtpReply.of(454, "4.7.0 TLS not available");
        SmtpSessionException failure = new SmtpSessionException(Stage.STARTTLS, Kind.TLS_FAILURE,
            "STARTTLS refused", Optional.of(refused), null);

        RecipientVerdict verdict = verdict(failure);

        assertThat(verdict.deferralReason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(verdict.reply()).contains(refused);
        assertThat(verdict.generatedLocally()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"CONNECTION_REFUSED", "TIMEOUT", "CONNECTION_LOST", "PROTOCOL_ERROR",
        "AUTHENTICATION_FAILED"})
    void failuresBeforeATransactionShouldBeConnectionFailuresThatTryTheNextMx(Kind kind) {
        for (Stage stage : List.of(Stage.CONNECT, Stage.GREETING, Stage.EHLO, Stage.STARTTLS, Stage.AUTH)) {
            RecipientVerdict verdict = verdict(new SmtpSessionException(stage, kind, "failed"));

            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.deferralReason()).contains(DeferralReason.CONNECTION_FAILED);
            assertThat(verdict.reply()).isEmpty();
            assertThat(verdict.triesNextMx()).as(stage + " " + kind).isTrue();
        }
    }

    @Test
    void aGreetingRefusalShouldBeAConnectionFailureWithTheReply() {
        SmtpReply busy = SmtpReply.of(554, "5.7.1 no SMTP service here");
        SmtpSessionException failure = new SmtpSessionException(Stage.GREETING, Kind.REFUSED_BY_SERVER,
            "greeting refused", Optional.of(busy), null);

        RecipientVerdict verdict = verdict(failure);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.deferralReason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(verdict.reply()).contains(busy);
        assertThat(verdict.triesNextMx()).isTrue();
        assertThat(verdict.generatedLocally()).isFalse();
    }

    @Test
    void a421DuringTheTransactionShouldBeAnSmtpTemporaryFailureOnTheSameMx() {
        SmtpReply closing = SmtpReply.of(421, "4.7.0 too many messages, closing");
        SmtpSessionException failure = new SmtpSessionException(Stage.RCPT, Kind.REFUSED_BY_SERVER,
            "closing", Optional.of(closing), null);

        RecipientVerdict verdict = verdict(failure);

        assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(verdict.reply()).contains(closing);
        assertThat(verdict.triesNextMx()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"MAIL", "RCPT", "DATA", "CONTENT", "RSET"})
    void aLostConnectionDuringTheTransactionShouldBeAConnectionFailureOnTheSameMx(Stage stage) {
        RecipientVerdict verdict = verdict(new SmtpSessionException(stage, Kind.CONNECTION_LOST, "connection reset"));

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.deferralReason()).contains(DeferralReason.CONNECTION_FAILED);
        assertThat(verdict.generatedLocally()).isTrue();
        assertThat(verdict.triesNextMx()).isFalse();
    }

    @Test
    void aFailureWithoutAMessageShouldBeExplainedByItsReply() {
        SmtpReply closing = SmtpReply.of(421, "4.3.2 shutting down");
        SmtpSessionException failure = new SmtpSessionException(Stage.DATA, Kind.REFUSED_BY_SERVER, null,
            Optional.of(closing), null);

        assertThat(verdict(failure).explanation()).isEqualTo("421 4.3.2 shutting down");
    }

    @Test
    void aFailureWithoutMessageOrReplyShouldBeExplainedByKindAndStage() {
        SmtpSessionException failure = new SmtpSessionException(Stage.CONTENT, Kind.TIMEOUT, " ");

        assertThat(verdict(failure).explanation()).isEqualTo("TIMEOUT during CONTENT");
    }
}

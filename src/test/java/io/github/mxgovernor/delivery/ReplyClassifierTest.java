package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.smtp.LocalRefusal;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpSessionException;
import io.github.mxgovernor.smtp.SmtpSessionException.Kind;
import io.github.mxgovernor.smtp.SmtpSessionException.Stage;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ReplyClassifierTest {
    private static final String ALICE = "alice@example.com";
    private static final String BOB = "bob@example.com";
    private static final SmtpReply OK = SmtpReply.of(250, "2.1.0 OK");
    private static final SmtpReply QUEUED = SmtpReply.of(250, "2.0.0 queued as 1234");
    private static final SmtpReply NO_SUCH_USER = SmtpReply.of(550, "5.1.1 no such user");
    private static final SmtpReply TRY_LATER = SmtpReply.of(451, "4.3.0 try later");

    private final ReplyClassifier classifier = new ReplyClassifier();

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
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(false),
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

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(throttled, NO_SUCH_USER), Optional.empty()), throttled::equals);

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

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(false),
            new TransactionResult(throttled, Map.of(), Optional.empty()), throttled::equals);

        assertThat(verdicts.values()).extracting(RecipientVerdict::kind)
            .containsOnly(RecipientVerdict.Kind.TEMPORARY_FAILURE);
    }

    @Test
    void verdictsShouldFollowTheTransactionsRecipientOrder() {
        SmtpTransaction transaction = new SmtpTransaction("", List.of(BOB, ALICE), out -> { }, true);

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction,
            new TransactionResult(OK, replies(OK, OK), Optional.of(QUEUED)));

        assertThat(verdicts.keySet()).containsExactly(BOB, ALICE);
    }

    @Test
    void aLocalRefusalShouldBounceEveryRecipientWithoutAReply() {
        LocalRefusal tooLarge = new LocalRefusal(LocalRefusal.Reason.MESSAGE_TOO_LARGE,
            "the message is 2000 bytes, more than the 1000 bytes mx.example.com accepts (SIZE)");

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
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

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(refused, Map.of(), Optional.empty()));

        assertThat(verdicts.values()).hasSize(2).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
            assertThat(verdict.reply()).contains(refused);
            assertThat(verdict.explanation()).isEqualTo("553 5.7.1 sender not allowed");
        });
    }

    @Test
    void aTemporarilyRefusedMailFromShouldDeferEveryRecipient() {
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(TRY_LATER, Map.of(), Optional.empty()));

        assertThat(verdicts.values()).hasSize(2).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
            assertThat(verdict.triesNextMx()).isFalse();
        });
    }

    @Test
    void aRefusedRecipientShouldGetItsOwnReplyAndTheOthersTheContentReply() {
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(NO_SUCH_USER, OK), Optional.of(QUEUED)));

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        assertThat(verdicts.get(ALICE).reply()).contains(NO_SUCH_USER);
        assertThat(verdicts.get(BOB).kind()).isEqualTo(RecipientVerdict.Kind.DELIVERED);
        assertThat(verdicts.get(BOB).reply()).contains(QUEUED);
    }

    @Test
    void aTemporarilyRefusedRecipientShouldBeDeferredWithItsReply() {
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
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
        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(false),
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

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(OK, TRY_LATER), Optional.of(rejected)));

        assertThat(verdicts.get(ALICE).kind()).isEqualTo(RecipientVerdict.Kind.PERMANENT_FAILURE);
        assertThat(verdicts.get(ALICE).reply()).contains(rejected);
        assertThat(verdicts.get(BOB).reply()).contains(TRY_LATER);
    }

    @Test
    void aRefusedDataCommandShouldDeferTheAcceptedRecipients() {
        SmtpReply dataRefused = SmtpReply.of(451, "4.7.1 greylisted, try again");

        Map<String, RecipientVerdict> verdicts = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.of(dataRefused)));

        assertThat(verdicts.values()).allSatisfy(verdict -> {
            assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
            assertThat(verdict.reply()).contains(dataRefused);
        });
    }

    @Test
    void anUnexpectedIntermediateReplyShouldBeATemporaryFailure() {
        SmtpReply intermediate = SmtpReply.of(354, "go ahead");

        RecipientVerdict verdict = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.of(intermediate))).get(ALICE);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(verdict.reply()).contains(intermediate);
    }

    @Test
    void aRecipientWithoutAReplyShouldBeDeferred() {
        RecipientVerdict verdict = classifier.classify(transaction(true),
            new TransactionResult(OK, Map.of(ALICE, OK), Optional.of(QUEUED))).get(BOB);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.explanation()).isEqualTo("no reply to RCPT TO was recorded for this recipient");
        assertThat(verdict.generatedLocally()).isTrue();
    }

    @Test
    void acceptedRecipientsWithoutAContentReplyShouldBeDeferred() {
        RecipientVerdict verdict = classifier.classify(transaction(true),
            new TransactionResult(OK, replies(OK, OK), Optional.empty())).get(ALICE);

        assertThat(verdict.kind()).isEqualTo(RecipientVerdict.Kind.TEMPORARY_FAILURE);
        assertThat(verdict.explanation()).isEqualTo("no reply to the message content was recorded");
        assertThat(verdict.generatedLocally()).isTrue();
    }

    @Test
    void aMissingRecipientReplyShouldHoldBackTheContentWhenSendpartialIsOff() {
        RecipientVerdict verdict = classifier.classify(transaction(false),
            new TransactionResult(OK, Map.of(ALICE, OK), Optional.empty())).get(ALICE);

        assertThat(verdict.explanation()).isEqualTo("not sent: other recipients were refused and sendpartial is off");
    }

    @Test
    void tlsFailureShouldBeATlsPolicyFailureThatTriesTheNextMx() {
        SmtpSessionException failure = new SmtpSessionException(Stage.STARTTLS, Kind.TLS_FAILURE,
            "mx1.example.com offers no STARTTLS and the policy requires it");

        RecipientVerdict verdict = classifier.classify(failure);

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

        RecipientVerdict verdict = classifier.classify(failure);

        assertThat(verdict.deferralReason()).contains(DeferralReason.TLS_POLICY_FAILURE);
        assertThat(verdict.reply()).contains(refused);
        assertThat(verdict.generatedLocally()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"CONNECTION_REFUSED", "TIMEOUT", "CONNECTION_LOST", "PROTOCOL_ERROR",
        "AUTHENTICATION_FAILED"})
    void failuresBeforeATransactionShouldBeConnectionFailuresThatTryTheNextMx(Kind kind) {
        for (Stage stage : List.of(Stage.CONNECT, Stage.GREETING, Stage.EHLO, Stage.STARTTLS, Stage.AUTH)) {
            RecipientVerdict verdict = classifier.classify(new SmtpSessionException(stage, kind, "failed"));

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

        RecipientVerdict verdict = classifier.classify(failure);

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

        RecipientVerdict verdict = classifier.classify(failure);

        assertThat(verdict.deferralReason()).contains(DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(verdict.reply()).contains(closing);
        assertThat(verdict.triesNextMx()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = Stage.class, names = {"MAIL", "RCPT", "DATA", "CONTENT", "RSET"})
    void aLostConnectionDuringTheTransactionShouldBeAConnectionFailureOnTheSameMx(Stage stage) {
        RecipientVerdict verdict = classifier.classify(
            new SmtpSessionException(stage, Kind.CONNECTION_LOST, "connection reset"));

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

        assertThat(classifier.classify(failure).explanation()).isEqualTo("421 4.3.2 shutting down");
    }

    @Test
    void aFailureWithoutMessageOrReplyShouldBeExplainedByKindAndStage() {
        SmtpSessionException failure = new SmtpSessionException(Stage.CONTENT, Kind.TIMEOUT, " ");

        assertThat(classifier.classify(failure).explanation()).isEqualTo("TIMEOUT during CONTENT");
    }
}

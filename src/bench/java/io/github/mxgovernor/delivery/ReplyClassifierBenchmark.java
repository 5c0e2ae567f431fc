package io.github.mxgovernor.delivery;

import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.governor.AttemptResult;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRulesParser;
import io.github.mxgovernor.rules.RuleSet;
import io.github.mxgovernor.rules.RulesFileException;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.smtp.SmtpTransaction;
import io.github.mxgovernor.smtp.TransactionResult;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one reply means: {@link ReplyClassifier#classify(SmtpTransaction, TransactionResult, FlowControlPolicy)} on a
 * one-recipient transaction, without response rules ({@code classify}), and ({@code classifyAndRecord}) with the
 * response rules of the destination's shipped rule, each non-2xx reply tried once, then the result recorded on the
 * destination ({@link Destination#record}: flow control, statistics).
 * {@code reply}:
 * <ul>
 *   <li>{@code ok250}: Gmail's 250 2.0.0 after the content;</li>
 *   <li>{@code tryLater421}: Gmail's 421 4.7.0 "Try again later" after the content; it matches neither of the
 *       {@code google} response rules, whose second one scans the text for its words;</li>
 *   <li>{@code busy451}: Microsoft's 451 4.7.500 "Server busy" after the content, matched by the first
 *       {@code microsoft-365} response rule (3 within an hour back off, so the destination is in BACKOFF after
 *       the first three and every third reply renews it);</li>
 *   <li>{@code noSuchUser550}: Gmail's four-line 550 5.1.1 to RCPT TO, so no content is sent.</li>
 * </ul>
 * Run from the project directory, with {@code -prof gc} to see the allocation per reply.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ReplyClassifierBenchmark {
    private static final Path SHIPPED_RULES = Path.of("conf-samples", "mx-rules.xml");
    private static final String RECIPIENT = "someone@gmail.com";
    private static final SmtpReply MAIL_FROM_OK = SmtpReply.of(250, "2.1.0 OK d9443c01a7336-1f6e5c1a2b3sm1 - gsmtp");
    private static final SmtpReply RCPT_OK = SmtpReply.of(250, "2.1.5 OK d9443c01a7336-1f6e5c1a2b3sm1 - gsmtp");

    @Param({"ok250", "tryLater421", "busy451", "noSuchUser550"})
    public String reply;

    private final ReplyClassifier classifier = new ReplyClassifier();
    private SmtpTransaction transaction;
    private TransactionResult result;
    private Destination destination;

    @Setup
    public void setUp() throws RulesFileException {
        transaction = new SmtpTransaction("news@sender.example", List.of(RECIPIENT), out -> { }, true);
        String mxHost;
        switch (reply) {
            case "ok250":
                mxHost = "gmail-smtp-in.l.google.com";
                result = afterContent(SmtpReply.of(250,
                    "2.0.0 OK  1718012345 d9443c01a7336-1f6e5c1a2b3sm123456pla.12 - gsmtp"));
                break;
            case "tryLater421":
                mxHost = "gmail-smtp-in.l.google.com";
                result = afterContent(SmtpReply.of(421,
                    "4.7.0 Try again later, closing connection. (DATA) d9443c01a7336-1f6e5c1a2b3sm1 - gsmtp"));
                break;
            case "busy451":
                mxHost = "example-com.mail.protection.outlook.com";
                result = afterContent(SmtpReply.of(451, "4.7.500 Server busy. Please try again later from"
                    + " [203.0.113.5]. (S77719) [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]"));
                break;
            case "noSuchUser550":
                mxHost = "gmail-smtp-in.l.google.com";
                SmtpReply noSuchUser = new SmtpReply(550, List.of(
                    "5.1.1 The email account that you tried to reach does not exist. Please try",
                    "5.1.1 double-checking the recipient's email address for typos or",
                    "5.1.1 unnecessary spaces. For more information, go to",
                    "5.1.1  https://support.google.com/mail/?p=NoSuchUser d9443c01a7336-1f6e5c1a2b3sm1 - gsmtp"));
                result = new TransactionResult(MAIL_FROM_OK, Map.of(RECIPIENT, noSuchUser), Optional.empty());
                break;
            default:
                throw new IllegalArgumentException(
                    "reply must be ok250, tryLater421, busy451 or noSuchUser550, was " + reply);
        }
        RuleSet rules = new MxRulesParser().parse(SHIPPED_RULES);
        destination = new Governor(Clock.systemUTC()).destination(rules.match(mxHost, "gmail.com"), mxHost);
    }

    private static TransactionResult afterContent(SmtpReply contentReply) {
        return new TransactionResult(MAIL_FROM_OK, Map.of(RECIPIENT, RCPT_OK), Optional.of(contentReply));
    }

    @Benchmark
    public AttemptResult classify() {
        return classifier.classify(transaction, result, FlowControlPolicy.builtIn());
    }

    /** What the engine does with an attempt's replies, without the outcomes that follow. */
    @Benchmark
    public boolean classifyAndRecord() {
        return destination.record(classifier.classify(transaction, result, destination.flowControl().policy()));
    }
}

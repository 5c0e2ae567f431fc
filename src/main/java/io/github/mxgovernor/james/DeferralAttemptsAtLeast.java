package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralRecord;

import java.util.Collection;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMatcher;

/**
 * Matches every recipient of a mail whose deferral record ({@value DeferralAttributes#DEFERRAL_NAME}) counts at
 * least N deferrals. A mail without a readable record does not match.
 *
 * <p>Condition: {@code N} counts failed attempts (the server refused or could not be reached: the deferrals
 * that use up the retry budget), for example {@code DeferralAttemptsAtLeast=3}; {@code local:N} counts local
 * deferrals instead (held back by a connection quota, a message rate, flow control or a suspension), for
 * example {@code DeferralAttemptsAtLeast=local:10}. N is a whole number, 1 or more; any other condition stops
 * James at start-up with the bad text named.
 */
public class DeferralAttemptsAtLeast extends GenericMatcher {
    private static final Pattern CONDITION = Pattern.compile("(local:)?\\s*(\\d{1,9})");

    private ToIntFunction<DeferralRecord> counter;
    private int threshold;

    @Override
    public void init() throws MessagingException {
        String condition = getCondition() == null ? "" : getCondition().trim();
        Matcher matcher = CONDITION.matcher(condition);
        if (!matcher.matches() || Integer.parseInt(matcher.group(2)) < 1) {
            throw new MessagingException("DeferralAttemptsAtLeast: condition '" + condition
                + "' should be N or local:N with N 1 or more, for example DeferralAttemptsAtLeast=3");
        }
        counter = matcher.group(1) == null ? DeferralRecord::failedAttempts : DeferralRecord::localDeferrals;
        threshold = Integer.parseInt(matcher.group(2));
    }

    @Override
    public Collection<MailAddress> match(Mail mail) {
        return DeferralAttributes.read(mail)
            .filter(record -> counter.applyAsInt(record) >= threshold)
            .<Collection<MailAddress>>map(record -> mail.getRecipients())
            .orElse(List.of());
    }
}

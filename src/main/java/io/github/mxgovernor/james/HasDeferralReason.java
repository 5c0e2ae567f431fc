package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralReason;

import java.util.Arrays;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMatcher;

/**
 * Matches every recipient of a mail whose deferral record ({@value DeferralAttributes#DEFERRAL_NAME}) has one
 * of the listed reasons, whatever the record's status. A mail without a readable record does not match.
 *
 * <p>Condition: one or more deferral reasons, comma-separated, for example
 * {@code HasDeferralReason=CONNECTION_QUOTA_REACHED,RATE_LIMITED}. Known reasons: {@code CONNECTION_QUOTA_REACHED},
 * {@code RATE_LIMITED}, {@code DYNAMIC_FLOW_CONTROL}, {@code SUSPENDED}, {@code SMTP_TEMPORARY_FAILURE},
 * {@code CONNECTION_FAILED}, {@code DNS_TEMPORARY_FAILURE}, {@code TLS_POLICY_FAILURE} (any case). An empty
 * condition or an unknown reason stops James at start-up with the bad text named.
 */
public class HasDeferralReason extends GenericMatcher {
    private Set<DeferralReason> reasons;

    @Override
    public void init() throws MessagingException {
        String condition = getCondition();
        if (condition == null || condition.isBlank()) {
            throw new MessagingException("HasDeferralReason needs a condition: one or more deferral reasons, "
                + "comma-separated, for example HasDeferralReason=RATE_LIMITED");
        }
        Set<DeferralReason> parsed = EnumSet.noneOf(DeferralReason.class);
        for (String name : condition.split(",", -1)) {
            parsed.add(reason(name.trim(), condition));
        }
        reasons = parsed;
    }

    @Override
    public Collection<MailAddress> match(Mail mail) {
        return DeferralAttributes.read(mail)
            .filter(record -> reasons.contains(record.reason()))
            .<Collection<MailAddress>>map(record -> mail.getRecipients())
            .orElse(List.of());
    }

    private static DeferralReason reason(String name, String condition) throws MessagingException {
        try {
            return DeferralReason.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException unknown) {
            throw new MessagingException("HasDeferralReason: unknown deferral reason '" + name + "' in condition '"
                + condition + "'; known reasons: " + Arrays.stream(DeferralReason.values())
                .map(Enum::name).collect(Collectors.joining(", ")));
        }
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.smtp.DsnRequest;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.mailet.DsnParameters;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * James's DSN parameters (RFC 3461, as James's SMTP server recorded them on the mail) as the core's
 * {@link DsnRequest} for some of the mail's recipients. A value the core cannot send (an ENVID that is not
 * printable ASCII once decoded) is left out with a warning: DSN parameters never stop a delivery.
 */
final class MailDsn {
    private static final Logger LOGGER = LoggerFactory.getLogger(MailDsn.class);

    private MailDsn() {
    }

    static DsnRequest forRecipients(Mail mail, List<MailAddress> recipients) {
        String mailName = mail.getName();
        Optional<DsnParameters> parameters;
        try {
            parameters = mail.dsnParameters();
        } catch (RuntimeException e) {
            LOGGER.warn("Mail {}: DSN attributes unreadable, sent without DSN parameters: {}", mailName,
                e.getMessage());
            return DsnRequest.NONE;
        }
        if (parameters.isEmpty()) {
            return DsnRequest.NONE;
        }
        DsnParameters dsn = parameters.get();
        DsnRequest.Builder request = DsnRequest.builder();
        dsn.getRetParameter().ifPresent(ret -> request.ret(ret == DsnParameters.Ret.FULL
            ? DsnRequest.Ret.FULL : DsnRequest.Ret.HDRS));
        dsn.getEnvIdParameter().ifPresent(envId -> {
            try {
                // James keeps ENVID as the xtext it received; the core takes plain text and encodes it again
                request.envelopeId(DsnParameters.XText.decode(envId.asString()));
            } catch (IllegalArgumentException e) {
                LOGGER.warn("Mail {}: DSN ENVID '{}' left out: {}", mailName, envId.asString(), e.getMessage());
            }
        });
        for (MailAddress recipient : recipients) {
            DsnParameters.RecipientDsnParameters rcpt = dsn.getRcptParameters().get(recipient);
            if (rcpt != null) {
                request.recipient(recipient.asString(), new DsnRequest.Recipient(notify(rcpt),
                    rcpt.getOrcptParameter().map(MailAddress::asString)));
            }
        }
        return request.build();
    }

    private static Set<DsnRequest.Notify> notify(DsnParameters.RecipientDsnParameters rcpt) {
        Set<DsnRequest.Notify> notify = EnumSet.noneOf(DsnRequest.Notify.class);
        rcpt.getNotifyParameter().ifPresent(values -> values.forEach(value ->
            notify.add(DsnRequest.Notify.valueOf(value.name()))));
        return notify;
    }
}

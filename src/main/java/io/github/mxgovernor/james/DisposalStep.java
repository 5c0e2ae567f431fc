package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.tls.TlsReport;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailPrioritySupport;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.MailetContext;
import org.apache.mailet.ProcessingState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.common.collect.ImmutableList;

/**
 * One thing still to do for some recipients of a queue item before it may be acknowledged: put them back on the
 * queue to wait, bounce them, send the {@code onSuccess} copy of their delivery, or send them to the error processor.
 * A step is a value (recipients and what to write), run against whichever copy of the mail the queue hands over, so
 * that it can be tried again, on a later hand-over too, and is done at most once when it succeeds.
 */
abstract class DisposalStep {
    /** RemoteDelivery's bounce attributes, read by James's {@code DSNBounce}. */
    static final AttributeName DELIVERY_ERROR = AttributeName.of("delivery-error");
    static final AttributeName DELIVERY_ERROR_CODE = AttributeName.of("delivery-error-code");
    static final AttributeName IS_DELIVERY_PERMANENT_ERROR = AttributeName.of("is-delivery-permanent-error");
    /** How a delivered mail travelled (see {@link TlsReport#fields()}): set on the {@code onSuccess} copies. */
    static final AttributeName TLS_REPORT = AttributeName.of("mxgovernor.tls");

    private static final Logger LOGGER = LoggerFactory.getLogger(DisposalStep.class);

    private final List<String> recipients;
    private final int order;
    private final boolean endsRecipients;

    /**
     * @param order          when the step runs among a mail's steps: what keeps the mail first, the copy for
     *                       bookkeeping last
     * @param endsRecipients whether the recipients need nothing more once the step succeeded
     */
    DisposalStep(List<String> recipients, int order, boolean endsRecipients) {
        this.recipients = List.copyOf(recipients);
        if (this.recipients.isEmpty()) {
            throw new IllegalArgumentException("a step needs recipients");
        }
        this.order = order;
        this.endsRecipients = endsRecipients;
    }

    List<String> recipients() {
        return recipients;
    }

    /** Whether the recipients need nothing more once this step succeeded (not so of an onSuccess copy's). */
    final boolean endsRecipients() {
        return endsRecipients;
    }

    /** Order in which a mail's steps run: what keeps the mail first, the copy for bookkeeping last. */
    final int order() {
        return order;
    }

    /** What a step does with its copy of the mail. */
    @FunctionalInterface
    interface CopyAction {
        void apply(Mail copy) throws MessagingException;
    }

    /** Makes the step's copy of {@code mail} (with {@code record} when present), hands it to {@code action}, frees it. */
    final void withCopy(Mail mail, Optional<DeferralRecord> record, CopyAction action) throws MessagingException {
        Mail copy = copyFor(mail, recipients);
        try {
            record.ifPresent(value -> DeferralAttributes.write(copy, value));
            action.apply(copy);
        } finally {
            LifecycleUtil.dispose(copy);
        }
    }

    /** Does the step with {@code mail} as the source of the content and attributes; throws when it did not. */
    abstract void run(Mail mail, Targets targets) throws MessagingException;

    /** For logs. */
    abstract String describe();

    /** Where steps send mail. */
    static final class Targets {
        final MailQueue queue;
        final MailetContext context;
        final Optional<ProcessingState> bounceProcessor;
        final Optional<ProcessingState> onSuccess;
        final boolean usePriority;
        final Clock clock;
        /** Where deferred mail waits instead of the queue, when it does ({@link WaitingRoom#holds}). */
        final Optional<WaitingRoom> waiting;

        Targets(MailQueue queue, MailetContext context, Optional<ProcessingState> bounceProcessor,
                Optional<ProcessingState> onSuccess, boolean usePriority, Clock clock) {
            this(queue, context, bounceProcessor, onSuccess, usePriority, clock, Optional.empty());
        }

        Targets(MailQueue queue, MailetContext context, Optional<ProcessingState> bounceProcessor,
                Optional<ProcessingState> onSuccess, boolean usePriority, Clock clock, Optional<WaitingRoom> waiting) {
            this.queue = Objects.requireNonNull(queue, "queue");
            this.context = Objects.requireNonNull(context, "context");
            this.bounceProcessor = Objects.requireNonNull(bounceProcessor, "bounceProcessor");
            this.onSuccess = Objects.requireNonNull(onSuccess, "onSuccess");
            this.usePriority = usePriority;
            this.clock = Objects.requireNonNull(clock, "clock");
            this.waiting = Objects.requireNonNull(waiting, "waiting");
        }
    }

    /**
     * Puts recipients back on the queue with their deferral record, due at {@code notBefore}. The copy is a new queue
     * entry with its own identity, the same for every try of this step: should a failed enqueue have stored it all
     * the same, the second copy is recognised when the first was delivered. When the wait is one the waiting place
     * holds ({@link WaitingRoom#holds}), the copy waits there instead, under a key named after the item's queue entry
     * and these recipients, and goes back on the queue when due.
     */
    static final class Requeue extends DisposalStep {
        private final Optional<DeferralRecord> record;
        private final Instant notBefore;
        private final boolean retryPriority;
        private final String entry = DeliveryLedger.newEntry();

        /**
         * @param record        the record to write; empty to keep the mail's own (a mail sent back to wait again)
         * @param retryPriority whether the copy waits as a retry ({@code usePriority}'s low priority)
         */
        Requeue(List<String> recipients, Optional<DeferralRecord> record, Instant notBefore, boolean retryPriority) {
            super(recipients, 0, true);
            this.record = Objects.requireNonNull(record, "record");
            this.notBefore = Objects.requireNonNull(notBefore, "notBefore");
            this.retryPriority = retryPriority;
        }

        @Override
        void run(Mail mail, Targets targets) throws MessagingException {
            withCopy(mail, record, copy -> {
                copy.setName(originalName(mail.getName()));
                DeliveryLedger.stamp(copy, entry);
                if (targets.usePriority && retryPriority) {
                    copy.setAttribute(MailPrioritySupport.LOW_PRIORITY_ATTRIBUTE);
                }
                Duration delay = Duration.between(targets.clock.instant(), notBefore);
                Optional<WaitingRoom> waiting = targets.waiting.filter(room -> room.holds(delay)
                    && DeferralAttributes.read(copy).isPresent());
                if (waiting.isPresent()) {
                    waiting.get().store(copy, DeliveryLedger.entryOf(mail), recipients(), notBefore);
                } else {
                    targets.queue.enQueue(copy, delay.isNegative() ? Duration.ZERO : delay);
                }
            });
        }

        Instant notBefore() {
            return notBefore;
        }

        /** The queue entry the copy is stored as. */
        String entry() {
            return entry;
        }

        @Override
        String describe() {
            return "re-enqueue of " + recipients() + " until " + notBefore;
        }
    }

    /** Bounces recipients: to the bounce processor with RemoteDelivery's attributes, or James's own bounce. */
    static final class Bounce extends DisposalStep {
        private final String message;
        private final Optional<SmtpReply> reply;
        private final Optional<DeferralRecord> record;

        Bounce(List<String> recipients, String message, Optional<SmtpReply> reply, Optional<DeferralRecord> record) {
            super(recipients, 1, true);
            this.message = Objects.requireNonNull(message, "message");
            this.reply = Objects.requireNonNull(reply, "reply");
            this.record = Objects.requireNonNull(record, "record");
        }

        @Override
        void run(Mail mail, Targets targets) throws MessagingException {
            if (!mail.hasSender()) {
                LOGGER.info("Null sender: no bounce is generated for mail {} to {}", mail.getName(), recipients());
                return;
            }
            withCopy(mail, record, copy -> {
                copy.setAttribute(new Attribute(IS_DELIVERY_PERMANENT_ERROR, AttributeValue.of(true)));
                String error = reply.map(value -> message.contains(value.toString()) ? message : message + ": " + value)
                    .orElse(message);
                if (targets.bounceProcessor.isPresent()) {
                    reply.ifPresent(value -> copy.setAttribute(new Attribute(DELIVERY_ERROR_CODE,
                        AttributeValue.of(value.code()))));
                    copy.setAttribute(new Attribute(DELIVERY_ERROR, AttributeValue.of(error)));
                    targets.context.sendMail(copy, targets.bounceProcessor.get().getValue());
                } else {
                    targets.context.bounce(copy, error);
                }
            });
        }

        @Override
        String describe() {
            return "bounce of " + recipients() + " (" + message + ")";
        }
    }

    /** Sends the {@code onSuccess} processor a copy for recipients one session delivered. */
    static final class DeliveredCopy extends DisposalStep {
        private final Optional<DeferralRecord> record;
        private final Optional<TlsReport> tls;

        DeliveredCopy(List<String> recipients, Optional<DeferralRecord> record, Optional<TlsReport> tls) {
            super(recipients, 2, false);
            this.record = Objects.requireNonNull(record, "record");
            this.tls = Objects.requireNonNull(tls, "tls");
        }

        @Override
        void run(Mail mail, Targets targets) throws MessagingException {
            if (targets.onSuccess.isEmpty()) {
                return;
            }
            withCopy(mail, record, copy -> {
                tls.ifPresent(report -> copy.setAttribute(tlsAttribute(report)));
                targets.context.sendMail(copy, targets.onSuccess.get().getValue());
            });
        }

        @Override
        String describe() {
            return "onSuccess copy for " + recipients();
        }
    }

    /** Sends recipients whose mail cannot be delivered at all (its message cannot be read) to the error processor. */
    static final class ToErrorProcessor extends DisposalStep {
        private final String why;

        ToErrorProcessor(List<String> recipients, String why) {
            super(recipients, 0, true);
            this.why = Objects.requireNonNull(why, "why");
        }

        /**
         * Sends a copy; when the message cannot be copied either, the copy has the mail's envelope and attributes and a
         * short message saying why, so that the error repository shows what could not be sent.
         */
        @Override
        void run(Mail mail, Targets targets) throws MessagingException {
            Mail copy;
            try {
                copy = copyFor(mail, recipients());
            } catch (MessagingException | RuntimeException unreadable) {
                copy = MailImpl.duplicateWithoutMessage(mail).mimeMessage(placeholder(mail, unreadable)).build();
                copy.removeAttribute(DeliveryLedger.ENTRY);
                copy.setRecipients(addresses(recipients()));
            }
            try {
                copy.setErrorMessage(why);
                targets.context.sendMail(copy, Mail.ERROR);
            } finally {
                LifecycleUtil.dispose(copy);
            }
        }

        private static MimeMessage placeholder(Mail mail, Exception unreadable) throws MessagingException {
            MimeMessage message = new MimeMessage(Session.getInstance(new Properties()));
            message.setSubject("mx-governor: the message of mail " + mail.getName() + " cannot be read");
            message.setText("The message of mail " + mail.getName() + " could not be read, so it was not delivered;"
                + " this placeholder stands for it.\r\n\r\nCause: " + unreadable + "\r\n", "UTF-8");
            message.saveChanges();
            return message;
        }

        @Override
        String describe() {
            return "error processor for " + recipients() + " (" + why + ")";
        }
    }

    /** The {@code mxgovernor.tls} attribute: a map of strings, which every mail queue can serialise. */
    static Attribute tlsAttribute(TlsReport report) {
        Map<String, AttributeValue<?>> fields = new LinkedHashMap<>();
        report.fields().forEach((name, value) -> fields.put(name, AttributeValue.of(value)));
        return new Attribute(TLS_REPORT, AttributeValue.of(fields));
    }

    /**
     * The mail's name without the {@code -!suffix} parts James appends on every copy: a mail deferred many
     * times would otherwise outgrow James's loop detection, which refuses to copy a name with more than
     * seven of them.
     */
    static String originalName(String name) {
        int derived = name.indexOf("-!");
        return derived > 0 ? name.substring(0, derived) : name;
    }

    /** A copy of the mail for some of its recipients, without its queue entry's identity. */
    static Mail copyFor(Mail mail, Collection<String> recipients) throws MessagingException {
        Mail copy = MailImpl.duplicate(mail);
        copy.removeAttribute(DeliveryLedger.ENTRY);
        copy.setRecipients(addresses(recipients));
        return copy;
    }

    private static List<MailAddress> addresses(Collection<String> recipients) throws MessagingException {
        ImmutableList.Builder<MailAddress> addresses = ImmutableList.builder();
        for (String recipient : recipients) {
            addresses.add(new MailAddress(recipient));
        }
        return addresses.build();
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.DeliveryPart;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.delivery.PartDelivery;
import io.github.mxgovernor.delivery.ReturnSchedule;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.smtp.MessageContent;
import io.github.mxgovernor.smtp.SmtpTransaction;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import org.apache.james.core.MailAddress;
import org.apache.james.metrics.api.TimeMetric;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands a mail to the core: one part per recipient domain, with the mail's envelope, content, DSN request,
 * REQUIRETLS, {@code sendpartial} and deferral record so far, each timed by James's metrics; then gathers every part's
 * outcomes into one map. Should the core break its promise to end every part (it throws, or fails a future), the part
 * is deferred as the core defers an internal error, by the same {@link ReturnSchedule}, and counted on the governor.
 */
final class PartDispatch {
    private static final Logger LOGGER = LoggerFactory.getLogger(PartDispatch.class);

    private final PartDelivery delivery;
    private final ReturnSchedule returns;
    private final Governor governor;
    private final DeliveryMetrics metrics;
    private final boolean sendPartial;
    private final int maxDnsProblemRetries;
    private final Clock clock;

    PartDispatch(PartDelivery delivery, ReturnSchedule returns, Governor governor, DeliveryMetrics metrics,
                 boolean sendPartial, int maxDnsProblemRetries, Clock clock) {
        this.delivery = Objects.requireNonNull(delivery, "delivery");
        this.returns = Objects.requireNonNull(returns, "returns");
        this.governor = Objects.requireNonNull(governor, "governor");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.sendPartial = sendPartial;
        this.maxDnsProblemRetries = maxDnsProblemRetries;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Delivers {@code mail} to {@code recipients}; completes, never exceptionally, with one outcome per recipient. */
    CompletableFuture<Map<String, Outcome>> deliver(Mail mail, List<MailAddress> recipients, MessageContent content,
                                                    Optional<DeferralRecord> previous) {
        int dnsFailures = previous.map(DeferralRecord::dnsFailures).orElse(0);
        boolean requireTls = GovernedRemoteDelivery.requiresTls(mail);
        String reversePath = mail.getMaybeSender().asOptional().map(MailAddress::asString).orElse("");
        Map<String, List<MailAddress>> byDomain = new LinkedHashMap<>();
        for (MailAddress recipient : recipients) {
            byDomain.computeIfAbsent(recipient.getDomain().asString(), domain -> new ArrayList<>()).add(recipient);
        }
        List<CompletableFuture<Map<String, Outcome>>> outcomes = new ArrayList<>();
        for (Map.Entry<String, List<MailAddress>> domain : byDomain.entrySet()) {
            DeliveryPart part = new DeliveryPart(mail.getName() + "-to-" + domain.getKey(), domain.getKey(),
                new SmtpTransaction(reversePath, addresses(domain.getValue()), content, sendPartial,
                    MailDsn.forRecipients(mail, domain.getValue()), requireTls),
                dnsFailures < maxDnsProblemRetries, previous);
            TimeMetric attempt = metrics.startAttempt();
            CompletableFuture<Map<String, Outcome>> outcome;
            try {
                outcome = delivery.deliver(part);
            } catch (RuntimeException e) {
                outcome = CompletableFuture.failedFuture(e);
            }
            outcome.whenComplete((ignored, error) -> attempt.stopAndPublish());
            outcomes.add(outcome.handle((done, error) -> done != null ? done : internalError(part, error)));
        }
        return CompletableFuture.allOf(outcomes.toArray(new CompletableFuture[0])).handle((ignored, error) -> {
            Map<String, Outcome> merged = new LinkedHashMap<>();
            outcomes.forEach(outcome -> merged.putAll(outcome.join()));
            return merged;
        });
    }

    private Map<String, Outcome> internalError(DeliveryPart part, Throwable error) {
        LOGGER.error("Delivery of {} failed unexpectedly", part.id(), error);
        Instant now = clock.instant();
        Outcome outcome = returns.defer(part.previous(), DeferralEvent.builder(now, DeferralReason.CONNECTION_FAILED)
            .message("Internal error while delivering: " + error).destination(part.recipientDomain())
            .rule(MxRule.DEFAULT_RULE_NAME).build(), Optional.empty(), now);
        if (outcome.kind() == Outcome.Kind.DEFERRED) {
            governor.stats().recordDeferred(DeferralReason.CONNECTION_FAILED, part.recipients().size());
        } else {
            governor.stats().recordBounced(part.recipients().size());
        }
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        part.recipients().forEach(recipient -> outcomes.put(recipient, outcome));
        return outcomes;
    }

    static List<String> addresses(List<MailAddress> recipients) {
        List<String> addresses = new ArrayList<>(recipients.size());
        for (MailAddress recipient : recipients) {
            addresses.add(recipient.asString());
        }
        return addresses;
    }
}

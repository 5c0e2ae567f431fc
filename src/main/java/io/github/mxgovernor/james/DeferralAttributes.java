package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores a {@link DeferralRecord} in a mail's attributes, using only James's built-in attribute value types
 * (String, Integer, ZonedDateTime, Collection, Map) so the record survives every mail queue's serialization.
 *
 * <p>{@value #DEFERRAL_NAME} holds one map with the keys {@code status}, {@code reason}, {@code message},
 * {@code destination}, {@code rule}, {@code smtpCode} (Integer), {@code enhancedCode}, {@code reply},
 * {@code localDeferrals}, {@code failedAttempts}, {@code dnsFailures} (Integers), {@code firstDeferredAt},
 * {@code nextAttemptAt} and {@code updatedAt} (ZonedDateTime in UTC); an absent optional value has no key. A copy
 * stored in the waiting place also has {@value #WAITING_IN} (the repository's URL) while it waits there.
 * {@value #HISTORY_NAME} holds a collection of maps, oldest first, one per deferral, with the keys {@code at},
 * {@code reason}, {@code message}, {@code destination}, {@code rule}, {@code smtpCode}, {@code enhancedCode}
 * and {@code reply}.
 */
public final class DeferralAttributes {
    public static final String DEFERRAL_NAME = "mxgovernor.deferral";
    public static final String HISTORY_NAME = "mxgovernor.deferral.history";
    public static final AttributeName DEFERRAL = AttributeName.of(DEFERRAL_NAME);
    public static final AttributeName HISTORY = AttributeName.of(HISTORY_NAME);

    public static final String STATUS = "status";
    public static final String REASON = "reason";
    public static final String MESSAGE = "message";
    public static final String DESTINATION = "destination";
    public static final String RULE = "rule";
    public static final String SMTP_CODE = "smtpCode";
    public static final String ENHANCED_CODE = "enhancedCode";
    public static final String REPLY = "reply";
    public static final String LOCAL_DEFERRALS = "localDeferrals";
    public static final String FAILED_ATTEMPTS = "failedAttempts";
    public static final String DNS_FAILURES = "dnsFailures";
    public static final String FIRST_DEFERRED_AT = "firstDeferredAt";
    public static final String NEXT_ATTEMPT_AT = "nextAttemptAt";
    public static final String UPDATED_AT = "updatedAt";
    /** Key of a history entry's time. */
    public static final String AT = "at";
    /**
     * Key of the mail repository a mail waits in (a String, its URL), present only on the copy stored in the waiting
     * place: the mail is not on the queue, it goes back there at {@code nextAttemptAt} or when released earlier.
     */
    public static final String WAITING_IN = "waitingIn";

    private static final Logger LOGGER = LoggerFactory.getLogger(DeferralAttributes.class);

    private DeferralAttributes() {
    }

    /** Sets both attributes, replacing any earlier record. */
    public static void write(Mail mail, DeferralRecord record) {
        Map<String, AttributeValue<?>> map = new LinkedHashMap<>();
        map.put(STATUS, AttributeValue.of(record.status().name()));
        putEvent(map, record.latest());
        map.put(LOCAL_DEFERRALS, AttributeValue.of(record.localDeferrals()));
        map.put(FAILED_ATTEMPTS, AttributeValue.of(record.failedAttempts()));
        map.put(DNS_FAILURES, AttributeValue.of(record.dnsFailures()));
        map.put(FIRST_DEFERRED_AT, time(record.firstDeferredAt()));
        record.nextAttemptAt().ifPresent(next -> map.put(NEXT_ATTEMPT_AT, time(next)));
        map.put(UPDATED_AT, time(record.updatedAt()));

        List<AttributeValue<?>> history = new ArrayList<>();
        for (DeferralEvent event : record.history()) {
            Map<String, AttributeValue<?>> entry = new LinkedHashMap<>();
            entry.put(AT, time(event.at()));
            putEvent(entry, event);
            history.add(AttributeValue.of(entry));
        }
        mail.setAttribute(new Attribute(DEFERRAL, AttributeValue.of(map)));
        mail.setAttribute(new Attribute(HISTORY, AttributeValue.of(history)));
    }

    /**
     * The mail's record, or empty when it has none. A record that cannot be read is logged at WARN with the
     * mail's name and treated as absent; a history that cannot be read is logged and left out of the record.
     * Never throws.
     */
    public static Optional<DeferralRecord> read(Mail mail) {
        Optional<Attribute> attribute = mail.getAttribute(DEFERRAL);
        if (attribute.isEmpty()) {
            return Optional.empty();
        }
        try {
            Fields fields = Fields.of(attribute.get().getValue(), DEFERRAL_NAME);
            return Optional.of(DeferralRecord.builder()
                .status(fields.enumValue(STATUS, DeferralRecord.Status.class))
                .latest(event(fields, UPDATED_AT))
                .localDeferrals(fields.integer(LOCAL_DEFERRALS))
                .failedAttempts(fields.integer(FAILED_ATTEMPTS))
                .dnsFailures(fields.integer(DNS_FAILURES))
                .firstDeferredAt(fields.time(FIRST_DEFERRED_AT))
                .nextAttemptAt(fields.optionalTime(NEXT_ATTEMPT_AT))
                .history(readHistory(mail))
                .build());
        } catch (RuntimeException malformed) {
            // Whatever is wrong with the attribute, it must never cost the mail: treat it as no record.
            LOGGER.warn("Ignoring the malformed {} attribute of mail {}: {}", DEFERRAL_NAME, mail.getName(),
                malformed.getMessage());
            return Optional.empty();
        }
    }

    /** Removes both attributes. */
    public static void clear(Mail mail) {
        mail.removeAttribute(DEFERRAL);
        mail.removeAttribute(HISTORY);
    }

    /** Says in the mail's record that it waits in the repository {@code url}; a mail without a record is left. */
    static void markWaiting(Mail mail, String url) {
        rewrite(mail, map -> map.put(WAITING_IN, AttributeValue.of(url)));
    }

    /** The repository the record says the mail waits in, if it says one. */
    static Optional<String> waitingIn(Mail mail) {
        return mail.getAttribute(DEFERRAL)
            .map(attribute -> attribute.getValue().value())
            .filter(Map.class::isInstance)
            .map(map -> ((Map<?, ?>) map).get(WAITING_IN))
            .filter(AttributeValue.class::isInstance)
            .map(value -> ((AttributeValue<?>) value).value())
            .filter(String.class::isInstance)
            .map(String.class::cast);
    }

    /**
     * The mail leaves the waiting place at {@code now}, back to the queue: the record no longer says where it waits,
     * and a {@code nextAttemptAt} still to come (it was released early) becomes {@code now}, so that it is not sent
     * back to wait. The other keys are kept as they are.
     */
    static void leftWaiting(Mail mail, Instant now) {
        rewrite(mail, map -> {
            map.remove(WAITING_IN);
            Object next = map.get(NEXT_ATTEMPT_AT);
            if (next instanceof AttributeValue && ((AttributeValue<?>) next).value() instanceof ZonedDateTime
                && ((ZonedDateTime) ((AttributeValue<?>) next).value()).toInstant().isAfter(now)) {
                map.put(NEXT_ATTEMPT_AT, time(now));
            }
        });
    }

    private static void rewrite(Mail mail, Consumer<Map<String, AttributeValue<?>>> change) {
        Optional<Attribute> attribute = mail.getAttribute(DEFERRAL);
        if (attribute.isEmpty() || !(attribute.get().getValue().value() instanceof Map)) {
            return;
        }
        Map<String, AttributeValue<?>> map = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) attribute.get().getValue().value()).entrySet()) {
            if (entry.getKey() instanceof String && entry.getValue() instanceof AttributeValue) {
                map.put((String) entry.getKey(), (AttributeValue<?>) entry.getValue());
            }
        }
        change.accept(map);
        mail.setAttribute(new Attribute(DEFERRAL, AttributeValue.of(map)));
    }

    private static List<DeferralEvent> readHistory(Mail mail) {
        Optional<Attribute> attribute = mail.getAttribute(HISTORY);
        if (attribute.isEmpty()) {
            return List.of();
        }
        try {
            Object value = attribute.get().getValue().value();
            if (!(value instanceof Collection)) {
                throw new IllegalArgumentException(HISTORY_NAME + " is not a collection");
            }
            List<DeferralEvent> history = new ArrayList<>();
            int index = 0;
            for (Object entry : (Collection<?>) value) {
                if (!(entry instanceof AttributeValue)) {
                    throw new IllegalArgumentException(HISTORY_NAME + "[" + index + "] is not an attribute value");
                }
                history.add(event(Fields.of((AttributeValue<?>) entry, HISTORY_NAME + "[" + index + "]"), AT));
                index++;
            }
            return history;
        } catch (RuntimeException malformed) {
            LOGGER.warn("Ignoring the malformed {} attribute of mail {}: {}", HISTORY_NAME, mail.getName(),
                malformed.getMessage());
            return List.of();
        }
    }

    /** The fields a record's latest deferral and each history entry share, in the same keys and order. */
    private static void putEvent(Map<String, AttributeValue<?>> map, DeferralEvent event) {
        map.put(REASON, AttributeValue.of(event.reason().name()));
        map.put(MESSAGE, AttributeValue.of(event.message()));
        map.put(DESTINATION, AttributeValue.of(event.destination()));
        map.put(RULE, AttributeValue.of(event.rule()));
        event.smtpCode().ifPresent(code -> map.put(SMTP_CODE, AttributeValue.of(code)));
        event.enhancedCode().ifPresent(code -> map.put(ENHANCED_CODE, AttributeValue.of(code)));
        event.reply().ifPresent(text -> map.put(REPLY, AttributeValue.of(text)));
    }

    /** An event from its fields, dated by the key {@code at} ({@value #AT} in the history, the record's update time). */
    private static DeferralEvent event(Fields fields, String at) {
        return DeferralEvent.builder(fields.time(at), fields.enumValue(REASON, DeferralReason.class))
            .message(fields.string(MESSAGE))
            .destination(fields.string(DESTINATION))
            .rule(fields.string(RULE))
            .smtpCode(fields.optionalInteger(SMTP_CODE))
            .enhancedCode(fields.optionalString(ENHANCED_CODE))
            .reply(fields.optionalString(REPLY))
            .build();
    }

    private static AttributeValue<ZonedDateTime> time(Instant instant) {
        return AttributeValue.of(ZonedDateTime.ofInstant(instant, ZoneOffset.UTC));
    }

    /** Typed reads from one attribute map; every failure says which key of which attribute was wrong. */
    private static final class Fields {
        private final Map<?, ?> map;
        private final String where;

        private Fields(Map<?, ?> map, String where) {
            this.map = map;
            this.where = where;
        }

        static Fields of(AttributeValue<?> value, String where) {
            if (!(value.value() instanceof Map)) {
                throw new IllegalArgumentException(where + " is not a map");
            }
            return new Fields((Map<?, ?>) value.value(), where);
        }

        String string(String key) {
            return required(optionalString(key), key);
        }

        Optional<String> optionalString(String key) {
            return optional(key, String.class);
        }

        int integer(String key) {
            return required(optionalInteger(key), key);
        }

        Optional<Integer> optionalInteger(String key) {
            return optional(key, Integer.class);
        }

        Instant time(String key) {
            return required(optionalTime(key), key);
        }

        Optional<Instant> optionalTime(String key) {
            return optional(key, ZonedDateTime.class).map(ZonedDateTime::toInstant);
        }

        <E extends Enum<E>> E enumValue(String key, Class<E> type) {
            String name = string(key);
            try {
                return Enum.valueOf(type, name);
            } catch (IllegalArgumentException unknown) {
                throw new IllegalArgumentException(where + "." + key + " has an unknown value '" + name + "'",
                    unknown);
            }
        }

        private <T> Optional<T> optional(String key, Class<T> type) {
            Object entry = map.get(key);
            if (entry == null) {
                return Optional.empty();
            }
            if (!(entry instanceof AttributeValue)) {
                throw new IllegalArgumentException(where + "." + key + " is not an attribute value");
            }
            Object value = ((AttributeValue<?>) entry).value();
            if (!type.isInstance(value)) {
                throw new IllegalArgumentException(where + "." + key + " should be a " + type.getSimpleName()
                    + " but is a " + value.getClass().getSimpleName());
            }
            return Optional.of(type.cast(value));
        }

        private <T> T required(Optional<T> value, String key) {
            return value.orElseThrow(() -> new IllegalArgumentException(where + "." + key + " is missing"));
        }
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpReply;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

class DeferralAttributesTest {
    private static final Instant T0 = Instant.parse("2024-05-01T10:00:00.123456789Z");

    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(DeferralAttributes.class);

    @BeforeEach
    void captureLogs() {
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void releaseLogs() {
        logger.detachAppender(logs);
    }

    static DeferralRecord fullRecord() {
        DeferralEvent quota = DeferralEvent.builder(T0, DeferralReason.CONNECTION_QUOTA_REACHED)
            .destination("gmail-smtp-in.l.google.com")
            .rule("gmail")
            .build();
        DeferralEvent refused = DeferralEvent.builder(T0.plus(Duration.ofMinutes(5)),
                DeferralReason.SMTP_TEMPORARY_FAILURE)
            .message("Temporary failure reported by gmail-smtp-in.l.google.com")
            .destination("gmail-smtp-in.l.google.com")
            .rule("gmail")
            .serverReply(new SmtpReply(421, List.of("4.7.28 Our system has detected an unusual rate", "of mail")))
            .build();
        return DeferralRecord.first(quota, Optional.of(T0.plus(Duration.ofMinutes(1))))
            .deferredAgain(refused, Optional.of(T0.plus(Duration.ofMinutes(20))));
    }

    private static Map<String, AttributeValue<?>> storedMap(Mail mail) {
        @SuppressWarnings("unchecked")
        Map<String, AttributeValue<?>> map = (Map<String, AttributeValue<?>>)
            mail.getAttribute(DeferralAttributes.DEFERRAL).get().getValue().value();
        return map;
    }

    private static FakeMail mail() throws Exception {
        return FakeMail.builder().name("mail-1").recipients("alice@example.com").build();
    }

    @Test
    void readShouldReturnWhatWriteStored() throws Exception {
        FakeMail mail = mail();
        DeferralRecord record = fullRecord();

        DeferralAttributes.write(mail, record);

        assertThat(DeferralAttributes.read(mail)).contains(record);
    }

    @Test
    void writeShouldStoreOneMapWithDocumentedKeysAndTypes() throws Exception {
        FakeMail mail = mail();

        DeferralAttributes.write(mail, fullRecord());

        Map<String, AttributeValue<?>> map = storedMap(mail);
        assertThat(map.keySet()).containsExactlyInAnyOrder("status", "reason", "message", "destination", "rule",
            "smtpCode", "enhancedCode", "reply", "localDeferrals", "failedAttempts", "dnsFailures",
            "firstDeferredAt", "nextAttemptAt", "updatedAt");
        assertThat(map.get("status")).isEqualTo(AttributeValue.of("DEFERRED"));
        assertThat(map.get("reason")).isEqualTo(AttributeValue.of("SMTP_TEMPORARY_FAILURE"));
        assertThat(map.get("smtpCode")).isEqualTo(AttributeValue.of(421));
        assertThat(map.get("enhancedCode")).isEqualTo(AttributeValue.of("4.7.28"));
        assertThat(map.get("failedAttempts")).isEqualTo(AttributeValue.of(1));
        assertThat(map.get("localDeferrals")).isEqualTo(AttributeValue.of(1));
        assertThat(map.get("firstDeferredAt"))
            .isEqualTo(AttributeValue.of(ZonedDateTime.ofInstant(T0, ZoneOffset.UTC)));
        Object history = mail.getAttribute(DeferralAttributes.HISTORY).get().getValue().value();
        assertThat((List<?>) history).hasSize(2);
    }

    @Test
    void writeShouldOmitAbsentOptionalValues() throws Exception {
        FakeMail mail = mail();
        DeferralRecord delivered = DeferralRecord.first(DeferralEvent.builder(T0, DeferralReason.RATE_LIMITED)
            .destination("mx.example.com").rule("default").build(), Optional.empty()).delivered(T0);

        DeferralAttributes.write(mail, delivered);

        assertThat(storedMap(mail)).doesNotContainKeys("smtpCode", "enhancedCode", "reply", "nextAttemptAt");
        assertThat(DeferralAttributes.read(mail)).contains(delivered);
    }

    @Test
    void recordShouldSurviveJamesJsonSerialization() throws Exception {
        FakeMail mail = mail();
        DeferralRecord record = fullRecord();
        DeferralAttributes.write(mail, record);
        FakeMail copy = mail();

        for (Attribute attribute : List.of(mail.getAttribute(DeferralAttributes.DEFERRAL).get(),
                mail.getAttribute(DeferralAttributes.HISTORY).get())) {
            String json = attribute.getValue().toJson().orElseThrow().toString();
            copy.setAttribute(new Attribute(attribute.getName(), AttributeValue.fromJsonString(json)));
        }

        assertThat(DeferralAttributes.read(copy)).contains(record);
    }

    @Test
    void recordShouldSurviveMailDuplication() throws Exception {
        MailImpl mail = MailImpl.builder().name("mail-1").addRecipient("alice@example.com").build();
        DeferralRecord record = fullRecord();
        DeferralAttributes.write(mail, record);

        MailImpl duplicate = MailImpl.duplicate(mail);

        assertThat(DeferralAttributes.read(duplicate)).contains(record);
    }

    @Test
    void recordShouldSurviveMailJavaSerialization() throws Exception {
        MailImpl mail = MailImpl.builder().name("mail-1").addRecipient("alice@example.com").build();
        DeferralRecord record = fullRecord();
        DeferralAttributes.write(mail, record);

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(mail);
        }
        Mail read;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            read = (Mail) in.readObject();
        }

        assertThat(DeferralAttributes.read(read)).contains(record);
    }

    @Test
    void readShouldBeEmptyWithoutWarningWhenThereIsNoRecord() throws Exception {
        assertThat(DeferralAttributes.read(mail())).isEmpty();
        assertThat(logs.list).isEmpty();
    }

    @Test
    void readShouldKeepARecordWithoutHistoryAttribute() throws Exception {
        FakeMail mail = mail();
        DeferralAttributes.write(mail, fullRecord());
        mail.removeAttribute(DeferralAttributes.HISTORY);

        assertThat(DeferralAttributes.read(mail)).hasValueSatisfying(record -> {
            assertThat(record.history()).isEmpty();
            assertThat(record.failedAttempts()).isEqualTo(1);
        });
        assertThat(logs.list).isEmpty();
    }

    @Test
    void clearShouldRemoveBothAttributes() throws Exception {
        FakeMail mail = mail();
        DeferralAttributes.write(mail, fullRecord());

        DeferralAttributes.clear(mail);

        assertThat(mail.getAttribute(DeferralAttributes.DEFERRAL)).isEmpty();
        assertThat(mail.getAttribute(DeferralAttributes.HISTORY)).isEmpty();
        assertThat(DeferralAttributes.read(mail)).isEmpty();
    }

    private Optional<DeferralRecord> readWithRecordMap(Map<String, AttributeValue<?>> map) throws Exception {
        FakeMail mail = mail();
        mail.setAttribute(new Attribute(DeferralAttributes.DEFERRAL, AttributeValue.of(map)));
        return DeferralAttributes.read(mail);
    }

    private static Map<String, AttributeValue<?>> storedMap() throws Exception {
        FakeMail mail = mail();
        DeferralAttributes.write(mail, fullRecord());
        return new LinkedHashMap<>(storedMap(mail));
    }

    private void assertWarned(String detail) {
        assertThat(logs.list).singleElement().satisfies(event -> {
            assertThat(event.getLevel()).isEqualTo(Level.WARN);
            assertThat(event.getFormattedMessage())
                .isEqualTo("Ignoring the malformed mxgovernor.deferral attribute of mail mail-1: " + detail);
        });
    }

    @Test
    void readShouldIgnoreAnAttributeThatIsNotAMap() throws Exception {
        FakeMail mail = mail();
        mail.setAttribute(new Attribute(DeferralAttributes.DEFERRAL, AttributeValue.of("RATE_LIMITED")));

        assertThat(DeferralAttributes.read(mail)).isEmpty();
        assertWarned("mxgovernor.deferral is not a map");
    }

    @Test
    void readShouldIgnoreAMapWithAMissingKey() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.remove("failedAttempts");

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("mxgovernor.deferral.failedAttempts is missing");
    }

    @Test
    void readShouldIgnoreAValueOfTheWrongType() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("smtpCode", AttributeValue.of("421"));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("mxgovernor.deferral.smtpCode should be a Integer but is a String");
    }

    @Test
    void readShouldIgnoreATimeStoredAsText() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("updatedAt", AttributeValue.of("2024-05-01T10:00:00Z"));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("mxgovernor.deferral.updatedAt should be a ZonedDateTime but is a String");
    }

    @Test
    void readShouldIgnoreAnUnknownReason() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("reason", AttributeValue.of("OUT_OF_CHEESE"));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("mxgovernor.deferral.reason has an unknown value 'OUT_OF_CHEESE'");
    }

    @Test
    void readShouldIgnoreAnUnknownStatus() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("status", AttributeValue.of("deferred"));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("mxgovernor.deferral.status has an unknown value 'deferred'");
    }

    @Test
    void readShouldIgnoreANegativeCount() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("localDeferrals", AttributeValue.of(-1));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("localDeferrals must be 0 or more, was -1");
    }

    @Test
    void readShouldIgnoreAnInvalidEnhancedCode() throws Exception {
        Map<String, AttributeValue<?>> map = storedMap();
        map.put("enhancedCode", AttributeValue.of("4.7"));

        assertThat(readWithRecordMap(map)).isEmpty();
        assertWarned("enhancedCode must look like 4.7.28, was '4.7'");
    }

    @Test
    void readShouldIgnoreAMapWhoseEntriesAreNotAttributeValues() throws Exception {
        FakeMail mail = mail();
        mail.setAttribute(new Attribute(DeferralAttributes.DEFERRAL,
            AttributeValue.ofUnserializable(Map.of("status", "DEFERRED"))));

        assertThat(DeferralAttributes.read(mail)).isEmpty();
        assertWarned("mxgovernor.deferral.status is not an attribute value");
    }

    @Test
    void readShouldKeepTheRecordButDropAMalformedHistory() throws Exception {
        FakeMail mail = mail();
        DeferralRecord record = fullRecord();
        DeferralAttributes.write(mail, record);
        List<AttributeValue<?>> history = new ArrayList<>();
        history.add(AttributeValue.of(Map.<String, AttributeValue<?>>of("reason", AttributeValue.of("RATE_LIMITED"))));
        mail.setAttribute(new Attribute(DeferralAttributes.HISTORY, AttributeValue.of(history)));

        assertThat(DeferralAttributes.read(mail)).hasValueSatisfying(read -> {
            assertThat(read.history()).isEmpty();
            assertThat(read.failedAttempts()).isEqualTo(record.failedAttempts());
        });
        assertThat(logs.list).singleElement().satisfies(event -> {
            assertThat(event.getLevel()).isEqualTo(Level.WARN);
            assertThat(event.getFormattedMessage()).isEqualTo(
                "Ignoring the malformed mxgovernor.deferral.history attribute of mail mail-1: "
                    + "mxgovernor.deferral.history[0].at is missing");
        });
    }

    @Test
    void readShouldDropAHistoryThatIsNotACollection() throws Exception {
        FakeMail mail = mail();
        DeferralAttributes.write(mail, fullRecord());
        mail.setAttribute(new Attribute(DeferralAttributes.HISTORY, AttributeValue.of(3)));

        assertThat(DeferralAttributes.read(mail)).hasValueSatisfying(read -> assertThat(read.history()).isEmpty());
        assertThat(logs.list).singleElement().satisfies(event -> assertThat(event.getFormattedMessage())
            .endsWith("mxgovernor.deferral.history is not a collection"));
    }

    @Test
    void readShouldDropAHistoryEntryThatIsNotAMap() throws Exception {
        FakeMail mail = mail();
        DeferralAttributes.write(mail, fullRecord());
        List<AttributeValue<?>> history = new ArrayList<>();
        history.add(AttributeValue.of("RATE_LIMITED"));
        mail.setAttribute(new Attribute(DeferralAttributes.HISTORY, AttributeValue.of(history)));

        assertThat(DeferralAttributes.read(mail)).hasValueSatisfying(read -> assertThat(read.history()).isEmpty());
        assertThat(logs.list).singleElement().satisfies(event -> assertThat(event.getFormattedMessage())
            .endsWith("mxgovernor.deferral.history[0] is not a map"));
    }
}

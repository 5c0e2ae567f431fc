package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.smtp.SmtpReply;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.tls.CertificateCheck;
import io.github.mxgovernor.tls.DaneVerdict;
import io.github.mxgovernor.tls.DomainTlsPolicy;
import io.github.mxgovernor.tls.SessionSecurity;
import io.github.mxgovernor.tls.TlsMode;
import io.github.mxgovernor.tls.TlsProblem;
import io.github.mxgovernor.tls.TlsReport;
import io.github.mxgovernor.tls.TlsRequirement;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.queue.api.MailPrioritySupport;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.ProcessingState;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DisposalStepTest {
    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final MailQueueDouble queue = MailQueueDouble.memory("outgoing");
    private final FakeMailContext context = FakeMailContext.defaultContext();
    private final DisposalStep.Targets targets = new DisposalStep.Targets(queue, context,
        Optional.of(new ProcessingState("bounces")), Optional.of(new ProcessingState("delivered")), true, clock);

    @AfterEach
    void stop() {
        queue.shutdown();
    }

    @Test
    void requeueShouldStoreACopyForItsRecipientsWithItsRecordAndAnIdentityOfItsOwnAtEveryTry() throws Exception {
        Mail mail = mail("Mail1-!42");
        DeliveryLedger.stamp(mail, "original");
        DisposalStep.Requeue step = new DisposalStep.Requeue(List.of("y@b.test"), Optional.of(record()),
            clock.instant().plusSeconds(60), true);

        step.run(mail, targets);
        step.run(mail, targets);

        List<Mail> stored = queue.storedMails();
        assertThat(stored).hasSize(2);
        for (Mail copy : stored) {
            assertThat(copy.getName()).isEqualTo("Mail1");
            assertThat(copy.getRecipients()).containsExactly(new MailAddress("y@b.test"));
            assertThat(DeliveryLedger.entryOf(copy)).isEqualTo(step.entry()).isNotEqualTo("original");
            assertThat(DeferralAttributes.read(copy)).contains(record());
            assertThat(copy.getAttribute(MailPrioritySupport.MAIL_PRIORITY)).contains(
                MailPrioritySupport.LOW_PRIORITY_ATTRIBUTE);
        }
        assertThat(mail.getRecipients()).hasSize(2);
        assertThat(DeliveryLedger.entryOf(mail)).isEqualTo("original");
    }

    @Test
    void bounceShouldSendTheBounceProcessorRemoteDeliverysAttributes() throws Exception {
        new DisposalStep.Bounce(List.of("x@a.test"), "550 5.1.1 no such user",
            Optional.of(SmtpReply.of(550, "5.1.1 no such user")), Optional.empty()).run(mail("m1"), targets);

        FakeMailContext.SentMail bounce = context.getSentMails().iterator().next();
        assertThat(bounce.getState()).isEqualTo("bounces");
        assertThat(bounce.getRecipients()).containsExactly(new MailAddress("x@a.test"));
        assertThat(bounce.getAttributes()).containsValue(new Attribute(
            GovernedRemoteDelivery.IS_DELIVERY_PERMANENT_ERROR, AttributeValue.of(true)));
        assertThat(bounce.getAttributes()).containsValue(new Attribute(GovernedRemoteDelivery.DELIVERY_ERROR_CODE,
            AttributeValue.of(550)));
        assertThat(bounce.getAttributes()).doesNotContainKey(DeliveryLedger.ENTRY);
    }

    @Test
    void deliveredCopyShouldCarryTheTlsReportAndTheRecordDelivered() throws Exception {
        TlsReport report = report();

        new DisposalStep.DeliveredCopy(List.of("x@a.test"), Optional.of(record().delivered(clock.instant())),
            Optional.of(report)).run(mail("m1"), targets);

        FakeMailContext.SentMail copy = context.getSentMails().iterator().next();
        assertThat(copy.getState()).isEqualTo("delivered");
        assertThat(copy.getAttributes()).containsValue(DisposalStep.tlsAttribute(report));
    }

    @Test
    void toErrorProcessorShouldSayWhy() throws Exception {
        new DisposalStep.ToErrorProcessor(List.of("x@a.test"), "cannot read").run(mail("m1"), targets);

        FakeMailContext.SentMail sent = context.getSentMails().iterator().next();
        assertThat(sent.getState()).isEqualTo(Mail.ERROR);
        assertThat(sent.getRecipients()).containsExactly(new MailAddress("x@a.test"));
    }

    @Test
    void tlsAttributeShouldBeAMapOfStrings() {
        Attribute attribute = DisposalStep.tlsAttribute(report());

        assertThat(attribute.getName().asString()).isEqualTo("mxgovernor.tls");
        @SuppressWarnings("unchecked")
        Map<String, AttributeValue<?>> fields = (Map<String, AttributeValue<?>>) attribute.getValue().value();
        assertThat(fields).containsEntry("protocol", AttributeValue.of("TLSv1.3"))
            .containsEntry("cipher", AttributeValue.of("TLS_AES_128_GCM_SHA256"))
            .containsEntry("protection", AttributeValue.of("encrypted"))
            .containsEntry("mx", AttributeValue.of("mx.example.com"))
            .containsEntry("policy", AttributeValue.of("rule 'default' requires TLS mode opportunistic"))
            .containsEntry("mtaSts", AttributeValue.of("no MTA-STS TXT record"))
            .containsEntry("dane", AttributeValue.of("not applicable: not used by the rule"))
            .containsEntry("certificate", AttributeValue.of("certificate chain not trusted: PKIX path building failed"));
    }

    @Test
    void originalNameShouldDropTheSuffixesJamesAddsToCopies() {
        assertThat(DisposalStep.originalName("Mail123-abc-!4711-!99")).isEqualTo("Mail123-abc");
        assertThat(DisposalStep.originalName("Mail123")).isEqualTo("Mail123");
    }

    private static TlsReport report() {
        TlsRequirement requirement = new TlsRequirement(TlsMode.OPPORTUNISTIC, List.of("rule 'default'"),
            DaneVerdict.notAsked());
        return new TlsReport(SessionSecurity.encrypted("mx.example.com",
            SessionSecurity.Protection.ENCRYPTED, "TLSv1.3", "TLS_AES_128_GCM_SHA256", requirement,
            CertificateCheck.failed(TlsProblem.UNTRUSTED_CHAIN, "PKIX path building failed")), requirement,
            DomainTlsPolicy.none("example.com", "no MTA-STS TXT record"));
    }

    private DeferralRecord record() {
        return DeferralRecord.first(DeferralEvent.builder(clock.instant(), DeferralReason.SMTP_TEMPORARY_FAILURE)
            .message("451 try later").destination("mx.b.test").rule("default").build(),
            Optional.of(clock.instant().plus(Duration.ofMinutes(1))));
    }

    private static Mail mail(String name) throws Exception {
        return FakeMail.builder().name(name).sender("sender@local.test").recipients("x@a.test", "y@b.test")
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("hi").setText("body")
                .addHeader("Message-ID", "<" + name + "@test>")).build();
    }
}

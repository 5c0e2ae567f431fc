package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.smtp.DsnRequest;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.DsnParameters;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;

class MailDsnTest {

    @Test
    void aMailWithoutDsnParametersShouldGiveNone() throws Exception {
        FakeMail mail = FakeMail.builder().name("m1").build();

        assertThat(MailDsn.forRecipients(mail, List.of(new MailAddress("a@one.test")))).isEqualTo(DsnRequest.NONE);
    }

    @Test
    void retEnvidAndThePartsRecipientParametersShouldBeMapped() throws Exception {
        MailAddress alice = new MailAddress("alice@one.test");
        MailAddress bob = new MailAddress("bob@one.test");
        MailAddress carol = new MailAddress("carol@two.test");
        FakeMail mail = FakeMail.builder().name("m2").build();
        mail.setDsnParameters(DsnParameters.builder()
            .ret(DsnParameters.Ret.HDRS)
            .envId(DsnParameters.EnvId.of("id+2B1"))
            .addRcptParameter(alice, DsnParameters.RecipientDsnParameters.of(
                EnumSet.of(DsnParameters.Notify.FAILURE, DsnParameters.Notify.DELAY), new MailAddress("al@old.test")))
            .addRcptParameter(carol, DsnParameters.RecipientDsnParameters.of(EnumSet.of(DsnParameters.Notify.NEVER)))
            .build().orElseThrow());

        DsnRequest request = MailDsn.forRecipients(mail, List.of(alice, bob));

        assertThat(request).isEqualTo(DsnRequest.builder()
            .ret(DsnRequest.Ret.HDRS)
            .envelopeId("id+1")
            .recipient("alice@one.test", new DsnRequest.Recipient(
                EnumSet.of(DsnRequest.Notify.FAILURE, DsnRequest.Notify.DELAY), Optional.of("al@old.test")))
            .build());
    }

    @Test
    void anEnvidThatIsNotPrintableAsciiShouldBeLeftOut() throws Exception {
        MailAddress alice = new MailAddress("alice@one.test");
        FakeMail mail = FakeMail.builder().name("m3").build();
        mail.setDsnParameters(DsnParameters.builder()
            .envId(DsnParameters.EnvId.of("bad+0Aid"))
            .addRcptParameter(alice, DsnParameters.RecipientDsnParameters.of(EnumSet.of(DsnParameters.Notify.SUCCESS)))
            .build().orElseThrow());

        DsnRequest request = MailDsn.forRecipients(mail, List.of(alice));

        assertThat(request.envelopeId()).isEmpty();
        assertThat(request.recipients()).containsEntry("alice@one.test",
            new DsnRequest.Recipient(Set.of(DsnRequest.Notify.SUCCESS), Optional.empty()));
    }

    @Test
    void unreadableDsnAttributesShouldGiveNone() throws Exception {
        FakeMail mail = FakeMail.builder().name("m4").build();
        mail.setAttribute(new Attribute(AttributeName.of("dsn-ret"), AttributeValue.of("SOMETIMES")));

        assertThat(MailDsn.forRecipients(mail, List.of(new MailAddress("a@one.test")))).isEqualTo(DsnRequest.NONE);
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;

class DeliveryLedgerTest {
    private final DeliveryLedger ledger = new DeliveryLedger();

    @Test
    void aStampedMailShouldBeKnownByItsStampWhateverItsNameAndRecipients() throws Exception {
        Mail mail = FakeMail.builder().name("m1").recipients("x@a.test").build();
        DeliveryLedger.stamp(mail, "entry-1");
        mail.setName("renamed");

        assertThat(DeliveryLedger.entryOf(mail)).isEqualTo("entry-1");
    }

    @Test
    void anUnstampedMailShouldBeKnownByItsNameAndRecipientsAndStampedSoThatAHandBackAgrees() throws Exception {
        Mail stored = FakeMail.builder().name("m1").recipients("y@b.test", "x@a.test").build();
        Mail takenOnce = MailImpl.duplicate(stored);
        takenOnce.setName("m1");

        String entry = DeliveryLedger.entryOf(takenOnce);
        takenOnce.setRecipients(java.util.List.of());

        assertThat(entry).isEqualTo("unstamped:m1:x@a.test,y@b.test");
        assertThat(DeliveryLedger.entryOf(stored)).isEqualTo(entry);
        assertThat(DeliveryLedger.entryOf(takenOnce)).isEqualTo(entry);
    }

    @Test
    void anEntryShouldBeHeldByOneItemAtATime() {
        assertThat(ledger.claim("e")).isTrue();
        assertThat(ledger.claim("e")).isFalse();

        ledger.release("e");

        assertThat(ledger.claim("e")).isTrue();
    }

    @Test
    void onlyEntriesThatMayComeAgainShouldBeRememberedOnceSettled() {
        ItemProgress progress = new ItemProgress();
        progress.delivered(java.util.List.of("x@a.test"));
        ledger.record("plain", progress);
        ledger.record("doubtful", progress);
        ledger.mayComeAgain("doubtful");

        ledger.settled("plain");
        ledger.settled("doubtful");

        assertThat(ledger.settledBefore("plain")).isFalse();
        assertThat(ledger.settledBefore("doubtful")).isTrue();
        assertThat(ledger.progress("plain").isEmpty()).isTrue();
    }
}

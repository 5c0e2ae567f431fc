package io.github.mxgovernor.waiting;

import static io.github.mxgovernor.deferral.DeferralReason.CONNECTION_QUOTA_REACHED;
import static io.github.mxgovernor.deferral.DeferralReason.DYNAMIC_FLOW_CONTROL;
import static io.github.mxgovernor.deferral.DeferralReason.SMTP_TEMPORARY_FAILURE;
import static io.github.mxgovernor.deferral.DeferralReason.SUSPENDED;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.deferral.DeferralReason;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class WaitingIndexTest {
    private static final long T0 = Instant.parse("2026-05-01T12:00:00Z").toEpochMilli();
    private final WaitingIndex index = new WaitingIndex();

    @Test
    void mailsShouldLeaveInDueTimeOrderOnlyOnceDue() {
        add(1, "mx1", SUSPENDED, 30_000);
        add(2, "mx2", SMTP_TEMPORARY_FAILURE, 10_000);
        add(3, "mx1", SUSPENDED, 20_000);

        assertThat(index.next(T0 + 9_999)).isNull();
        assertThat(index.nextReleaseMillis()).hasValue(T0 + 10_000);
        assertThat(index.size()).isEqualTo(3);
        assertThat(drain(T0 + 25_000)).containsExactly(2L, 3L);
        assertThat(drain(T0 + 30_000)).containsExactly(1L);
        assertThat(index.size()).isZero();
    }

    @Test
    void aMailBeingReleasedShouldStayCountedUntilItLeftAndWaitAgainWhenItCouldNotLeave() {
        WaitingMail mail = add(1, "mx1", SUSPENDED, 0);
        WaitingMail taken = index.next(T0);

        assertThat(taken).isSameAs(mail);
        assertThat(index.next(T0)).isNull();
        assertThat(index.waitingFor("mx1")).isEqualTo(1);

        index.retryAt(taken, T0 + 5_000);

        assertThat(index.failures(mail)).isEqualTo(1);
        assertThat(index.next(T0 + 4_999)).isNull();
        assertThat(index.next(T0 + 5_000)).isSameAs(mail);
        index.released(mail);
        assertThat(index.size()).isZero();
        assertThat(index.waitingFor("mx1")).isZero();
        assertThat(index.destinations()).isEmpty();
        assertThat(index.nextReleaseMillis()).isEmpty();
    }

    @Test
    void aMailAddedAgainShouldReplaceItselfAndSayWhatItReplaced() {
        WaitingMail first = add(1, "mx1", SUSPENDED, 10_000);

        Optional<WaitingMail> replaced = index.add(mail(1, "mx1", SUSPENDED, 20_000));

        assertThat(replaced).containsSame(first);
        assertThat(index.size()).isEqualTo(1);
        assertThat(index.counts()).extracting(WaitingCount::mails).containsExactly(1L);
        assertThat(drain(T0 + 15_000)).isEmpty();
        assertThat(drain(T0 + 20_000)).containsExactly(1L);
    }

    @Test
    void theEndOfASuspensionShouldReleaseItsMailsAheadOfTheOthersSpreadAsTheyWereMeantToCome() {
        // held until the end of a 2-hour suspension, spread over 12 minutes after it
        add(1, "mx1", SUSPENDED, 7_200_000);
        add(2, "mx1", SUSPENDED, 7_200_000 + 300_000);
        add(3, "mx1", DYNAMIC_FLOW_CONTROL, 7_200_000 + 720_000);
        add(4, "mx1", SMTP_TEMPORARY_FAILURE, 3_600_000);
        add(5, "mx2", SUSPENDED, 7_200_000);
        add(6, "mx3", CONNECTION_QUOTA_REACHED, 1_000);

        long resumedAt = T0 + 60_000;
        int released = index.releaseEarly("mx1", FlowControlRelease.HELD, resumedAt, Duration.ofMinutes(15));

        assertThat(released).isEqualTo(3);
        assertThat(drain(resumedAt)).containsExactly(1L, 6L);
        assertThat(drain(resumedAt + 299_999)).isEmpty();
        assertThat(drain(resumedAt + 300_000)).containsExactly(2L);
        assertThat(drain(resumedAt + 720_000)).containsExactly(3L);
        assertThat(drain(T0 + 3_600_000)).containsExactly(4L);
        assertThat(drain(T0 + 7_200_000)).containsExactly(5L);
    }

    @Test
    void theSpreadShouldBeBoundedAndAMailDueSoonerShouldKeepItsTime() {
        add(1, "mx1", SUSPENDED, 100_000);
        add(2, "mx1", SUSPENDED, 100_000 + 3_600_000);

        int released = index.releaseEarly("mx1", FlowControlRelease.HELD, T0 + 200_000, Duration.ofMinutes(15));

        assertThat(released).isEqualTo(1);
        assertThat(drain(T0 + 100_000)).containsExactly(1L);
        assertThat(drain(T0 + 200_000 + 899_999)).isEmpty();
        assertThat(drain(T0 + 200_000 + 900_000)).containsExactly(2L);
    }

    @Test
    void releasingEarlyADestinationWithoutHeldMailShouldDoNothing() {
        add(1, "mx1", SMTP_TEMPORARY_FAILURE, 100_000);

        assertThat(index.releaseEarly("mx1", FlowControlRelease.HELD, T0, Duration.ofMinutes(15))).isZero();
        assertThat(index.releaseEarly("elsewhere", FlowControlRelease.HELD, T0, Duration.ofMinutes(15))).isZero();
        assertThat(drain(T0 + 99_999)).isEmpty();
    }

    @Test
    void releasingNowShouldTakeOneDestinationOrAllInDueOrder() {
        add(1, "mx1", SMTP_TEMPORARY_FAILURE, 50_000);
        add(2, "mx1", SUSPENDED, 40_000);
        add(3, "mx2", SUSPENDED, 10_000);
        add(4, "mx2", SUSPENDED, 5_000);

        assertThat(index.releaseNow(Optional.of("mx1"), T0)).isEqualTo(2);
        assertThat(drain(T0)).containsExactly(2L, 1L);
        assertThat(index.releaseNow(Optional.empty(), T0)).isEqualTo(2);
        assertThat(drain(T0)).containsExactly(4L, 3L);
    }

    @Test
    void countsShouldBeByDestinationAndReasonWithTheNextReleaseAndShareOneDestinationString() {
        add(1, new String("mx1"), SUSPENDED, 20_000);
        add(2, new String("mx1"), SUSPENDED, 10_000);
        add(3, "mx1", SMTP_TEMPORARY_FAILURE, 30_000);
        add(4, "mx0", DYNAMIC_FLOW_CONTROL, 40_000);

        assertThat(index.counts()).containsExactly(
            new WaitingCount("mx0", DYNAMIC_FLOW_CONTROL, 1, Instant.ofEpochMilli(T0 + 40_000)),
            new WaitingCount("mx1", SUSPENDED, 2, Instant.ofEpochMilli(T0 + 10_000)),
            new WaitingCount("mx1", SMTP_TEMPORARY_FAILURE, 1, Instant.ofEpochMilli(T0 + 30_000)));
        assertThat(index.destinations()).containsExactly("mx0", "mx1");
        List<WaitingMail> mx1 = new ArrayList<>();
        for (WaitingMail mail = index.next(T0 + 30_000); mail != null; mail = index.next(T0 + 30_000)) {
            mx1.add(mail);
        }
        assertThat(mx1).hasSize(3).allSatisfy(mail -> assertThat(mail.destination()).isSameAs(mx1.get(0).destination()));
    }

    private WaitingMail add(long identity, String destination, DeferralReason reason, long dueOffset) {
        WaitingMail mail = mail(identity, destination, reason, dueOffset);
        index.add(mail);
        return mail;
    }

    private static WaitingMail mail(long identity, String destination, DeferralReason reason, long dueOffset) {
        Instant due = Instant.ofEpochMilli(T0 + dueOffset);
        return WaitingMail.of(WaitingKey.of(identity, due, reason, destination), reason, destination, due, false);
    }

    /** The identities of the mails due at {@code now}, released in the order the index gives them. */
    private List<Long> drain(long now) {
        List<Long> identities = new ArrayList<>();
        for (WaitingMail mail = index.next(now); mail != null; mail = index.next(now)) {
            identities.add(mail.identity());
            index.released(mail);
        }
        return identities;
    }
}

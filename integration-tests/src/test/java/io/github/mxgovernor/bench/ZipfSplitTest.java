package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class ZipfSplitTest {
    @Test
    void mailsPerDomainShouldGiveEachRankItsShareRoundedByLargestRemainder() {
        // shares of 10 mails over 3 domains with s = 1: 10 * (6/11, 3/11, 2/11) = 5.45, 2.73, 1.82
        assertThat(ZipfSplit.mailsPerDomain(10, 3, 1.0)).containsExactly(5, 3, 2);
    }

    @Test
    void mailsPerDomainShouldSplitTheLongTailOfTheBenchmarkAsZipfsLawSays() {
        int[] counts = ZipfSplit.mailsPerDomain(20_000, 2_000, 1.0);

        assertThat(Arrays.stream(counts).sum()).isEqualTo(20_000);
        assertThat(counts[0]).isEqualTo(2445);
        assertThat(counts[1]).isEqualTo(1223);
        assertThat(counts[9]).isEqualTo(245);
        assertThat(counts[1999]).isEqualTo(1);
        for (int i = 1; i < counts.length; i++) {
            assertThat(counts[i]).isLessThanOrEqualTo(counts[i - 1]);
        }
    }

    @Test
    void mailsPerDomainShouldSplitEvenlyWithExponentZero() {
        assertThat(ZipfSplit.mailsPerDomain(5_000, 5_000, 0.0)).containsOnly(1);
        assertThat(ZipfSplit.mailsPerDomain(7, 3, 0.0)).containsExactly(3, 2, 2);
    }

    @Test
    void mailsPerDomainShouldRefuseASplitThatLeavesADomainWithoutMail() {
        assertThatThrownBy(() -> ZipfSplit.mailsPerDomain(100, 50, 1.0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a Zipf share with exponent 1.0 gives no mail to the domain of rank 50 when 100 mails go to 50"
                + " domains: give more mails, fewer domains or a smaller exponent");
    }

    @Test
    void mailsPerDomainShouldRefuseANegativeExponent() {
        assertThatThrownBy(() -> ZipfSplit.mailsPerDomain(100, 10, -0.5))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a Zipf exponent must be 0 or more, got -0.5");
    }

    @Test
    void domainOfEachMailShouldHoldEachDomainAsOftenAsItsCountInAShuffledRepeatableOrder() {
        int[] counts = {5, 3, 2};

        int[] order = ZipfSplit.domainOfEachMail(counts, 42);

        assertThat(order).hasSize(10);
        assertThat(Arrays.stream(order).filter(domain -> domain == 0).count()).isEqualTo(5);
        assertThat(Arrays.stream(order).filter(domain -> domain == 1).count()).isEqualTo(3);
        assertThat(Arrays.stream(order).filter(domain -> domain == 2).count()).isEqualTo(2);
        assertThat(order).isNotEqualTo(new int[] {0, 0, 0, 0, 0, 1, 1, 1, 2, 2});
        assertThat(ZipfSplit.domainOfEachMail(counts, 42)).isEqualTo(order);
    }
}

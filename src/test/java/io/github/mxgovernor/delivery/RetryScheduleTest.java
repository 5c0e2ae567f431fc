package io.github.mxgovernor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryScheduleTest {

    private static RetrySchedule parse(String delayTime, String maxRetries) {
        return RetrySchedule.parse(Optional.ofNullable(delayTime), Optional.ofNullable(maxRetries));
    }

    @Test
    void parseShouldDefaultToFiveRetriesSixHoursApart() {
        RetrySchedule schedule = parse(null, null);

        assertThat(schedule.maxRetries()).isEqualTo(5);
        assertThat(schedule.delays()).isEqualTo(Collections.nCopies(5, Duration.ofHours(6)));
    }

    @Test
    void parseShouldReadABareNumberAsMilliseconds() {
        assertThat(parse("5000", "1").delays()).containsExactly(Duration.ofMillis(5000));
    }

    @ParameterizedTest
    @CsvSource({
        "2 ms, PT0.002S", "2 msec, PT0.002S", "2 msecs, PT0.002S",
        "2 s, PT2S", "2 sec, PT2S", "2 secs, PT2S", "1 second, PT1S", "2 seconds, PT2S",
        "2 m, PT2M", "2 min, PT2M", "2 mins, PT2M", "1 minute, PT1M", "15 minutes, PT15M",
        "2 h, PT2H", "1 hour, PT1H", "4 hours, PT4H",
        "2 d, PT48H", "1 day, PT24H", "2 days, PT48H",
        "1 w, PT168H", "1 week, PT168H", "2 weeks, PT336H",
        "15MINUTES, PT15M", "3Hours, PT3H", "10s, PT10S"
    })
    void parseShouldReadEveryJamesUnit(String delayTime, Duration expected) {
        assertThat(parse(delayTime, "1").delays()).containsExactly(expected);
    }

    @Test
    void parseShouldReadMonthsAndYearsAsJamesEstimatesThem() {
        assertThat(parse("1 month, 2 months, 1 y, 1 year, 2 years", "5").delays()).containsExactly(
            ChronoUnit.MONTHS.getDuration(), ChronoUnit.MONTHS.getDuration().multipliedBy(2),
            ChronoUnit.YEARS.getDuration(), ChronoUnit.YEARS.getDuration(),
            ChronoUnit.YEARS.getDuration().multipliedBy(2));
    }

    @Test
    void parseShouldRepeatAnEntryWithAnAttemptCount() {
        assertThat(parse("4*15 minutes", "4").delays()).isEqualTo(Collections.nCopies(4, Duration.ofMinutes(15)));
    }

    @Test
    void parseShouldAllowSpacesAroundTheStar() {
        assertThat(parse("3 * 1 hour", "3").delays()).isEqualTo(Collections.nCopies(3, Duration.ofHours(1)));
    }

    @Test
    void parseShouldChainEntriesInOrder() {
        RetrySchedule schedule = parse("5000, 4*15 minutes ,2*4 hours", "7");

        assertThat(schedule.maxRetries()).isEqualTo(7);
        assertThat(schedule.delays()).containsExactly(Duration.ofSeconds(5),
            Duration.ofMinutes(15), Duration.ofMinutes(15), Duration.ofMinutes(15), Duration.ofMinutes(15),
            Duration.ofHours(4), Duration.ofHours(4));
    }

    @Test
    void parseShouldRaiseMaxRetriesToTheNumberOfDelays() {
        RetrySchedule schedule = parse("4*15 minutes, 2*4 hours", "3");

        assertThat(schedule.maxRetries()).isEqualTo(6);
        assertThat(schedule.delays()).hasSize(6);
    }

    @Test
    void parseShouldRepeatTheLastDelayUpToMaxRetries() {
        RetrySchedule schedule = parse("5000, 2*1 hour", "6");

        assertThat(schedule.maxRetries()).isEqualTo(6);
        assertThat(schedule.delays()).containsExactly(Duration.ofSeconds(5),
            Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(1));
    }

    @Test
    void parseShouldUseTheDefaultDelayForEveryRetryWhenOnlyMaxRetriesIsGiven() {
        assertThat(parse(null, "8").delays()).isEqualTo(Collections.nCopies(8, Duration.ofHours(6)));
    }

    @Test
    void parseShouldKeepOneRetryWhenMaxRetriesIsZeroLikeRemoteDelivery() {
        RetrySchedule schedule = parse(null, "0");

        assertThat(schedule.maxRetries()).isEqualTo(1);
        assertThat(schedule.delays()).containsExactly(Duration.ofHours(6));
    }

    @Test
    void parseShouldAcceptAZeroDelay() {
        assertThat(parse("0", "1").delays()).containsExactly(Duration.ZERO);
    }

    @Test
    void parseShouldTrimMaxRetries() {
        assertThat(parse(null, " 3 ").maxRetries()).isEqualTo(3);
    }

    @Test
    void parseShouldNotExpandAHugeRetryBudgetUpFront() {
        RetrySchedule schedule = parse("1 minute, 1 hour", String.valueOf(Integer.MAX_VALUE));

        assertThat(schedule.delays()).hasSize(Integer.MAX_VALUE);
        assertThat(schedule.delays().get(0)).isEqualTo(Duration.ofMinutes(1));
        assertThat(schedule.delays().get(Integer.MAX_VALUE - 1)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void delayBeforeRetryShouldFollowTheDelaysThenBeEmpty() {
        RetrySchedule schedule = parse("1 minute, 2*10 minutes", "3");

        assertThat(schedule.delayBeforeRetry(1)).contains(Duration.ofMinutes(1));
        assertThat(schedule.delayBeforeRetry(2)).contains(Duration.ofMinutes(10));
        assertThat(schedule.delayBeforeRetry(3)).contains(Duration.ofMinutes(10));
        assertThat(schedule.delayBeforeRetry(4)).isEmpty();
    }

    @Test
    void delayBeforeRetryShouldRejectLessThanOneFailedAttempt() {
        RetrySchedule schedule = parse(null, null);

        assertThatThrownBy(() -> schedule.delayBeforeRetry(0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("failedAttemptsSoFar must be at least 1, was 0");
    }

    @Test
    void delaysShouldRejectAnIndexOutOfRange() {
        RetrySchedule schedule = parse("1 minute", "2");

        assertThatThrownBy(() -> schedule.delays().get(2))
            .isInstanceOf(IndexOutOfBoundsException.class)
            .hasMessage("index 2 of 2 delays");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "abc", "-1", "+5", "5.0", "''", "5 retries"
    })
    void parseShouldRejectAMaxRetriesThatIsNotAWholeNumber(String maxRetries) {
        assertThatThrownBy(() -> parse(null, maxRetries))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("maxRetries must be a whole number, 0 or more, was '" + maxRetries + "'");
    }

    @Test
    void parseShouldRejectAMaxRetriesTooLarge() {
        assertThatThrownBy(() -> parse(null, "99999999999"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("maxRetries is too large: '99999999999'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''            | ''",
        "'  '          | '  '",
        "5000,,1000    | 5000,,1000",
        "'5000, '      | '5000, '",
        "',5000'       | ',5000'"
    })
    void parseShouldRejectAnEmptyDelayTimeEntry(String delayTime, String quoted) {
        assertThatThrownBy(() -> parse(delayTime, null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime has an empty entry in '" + quoted + "'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "abc", "4*", "*5000", "-5000", "-1*5000", "4*3*5000", "1.5 hours", "4x15 minutes", "15 minutes later"
    })
    void parseShouldRejectAnEntryThatIsNotADelay(String entry) {
        assertThatThrownBy(() -> parse("1 hour, " + entry, null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime entry '" + entry + "' in '1 hour, " + entry
                + "' is not [attempts*]amount[ unit], for example 4*15 minutes");
    }

    @Test
    void parseShouldRejectAnUnknownUnit() {
        assertThatThrownBy(() -> parse("2 fortnights", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime entry '2 fortnights' in '2 fortnights' has an unknown unit 'fortnights' "
                + "(use ms, s, minutes, hours, days, weeks, months or years)");
    }

    @Test
    void parseShouldRejectZeroAttempts() {
        assertThatThrownBy(() -> parse("0*5000", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime entry '0*5000' in '0*5000' must have at least 1 attempt");
    }

    @Test
    void parseShouldRejectAnAmountTooLarge() {
        assertThatThrownBy(() -> parse("99999999999 ms", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime entry '99999999999 ms' in '99999999999 ms' has a number too large: 99999999999");
    }

    @Test
    void parseShouldRejectAnAttemptCountTooLarge() {
        assertThatThrownBy(() -> parse("99999999999*5000", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime entry '99999999999*5000' in '99999999999*5000' has a number too large: "
                + "99999999999");
    }

    @Test
    void parseShouldRejectAttemptsAddingUpBeyondAnInt() {
        assertThatThrownBy(() -> parse("2147483647*1 s, 1 s", null))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("delayTime has too many attempts in total: '2147483647*1 s, 1 s'");
    }
}

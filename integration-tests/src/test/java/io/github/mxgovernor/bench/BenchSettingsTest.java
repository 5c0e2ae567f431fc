package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class BenchSettingsTest {
    @Test
    void fromShouldReadPostfixAmongTheContendersInTheGivenOrder() {
        Properties properties = new Properties();
        properties.setProperty("bench.mailets", "postfix, ours,postfix");

        assertThat(BenchSettings.from(properties).mailets())
            .containsExactly(BenchSettings.MailetKind.POSTFIX, BenchSettings.MailetKind.OURS);
    }

    @Test
    void fromShouldRunOursWithTheStoreBesideOursByDefault() {
        assertThat(BenchSettings.from(new Properties()).mailets()).containsExactly(BenchSettings.MailetKind.OURS,
            BenchSettings.MailetKind.OURS_STORE, BenchSettings.MailetKind.STOCK, BenchSettings.MailetKind.POSTFIX);
    }

    @Test
    void fromShouldReadOursWithTheStoreByItsName() {
        Properties properties = new Properties();
        properties.setProperty("bench.mailets", "Ours+Store,ours");

        assertThat(BenchSettings.from(properties).mailets())
            .containsExactly(BenchSettings.MailetKind.OURS_STORE, BenchSettings.MailetKind.OURS);
    }

    @Test
    void fromShouldRejectAnUnknownContenderNamingTheKnownOnes() {
        Properties properties = new Properties();
        properties.setProperty("bench.mailets", "ours,exim");

        assertThatThrownBy(() -> BenchSettings.from(properties))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("bench.mailets must list some of 'ours', 'ours+store', 'stock' and 'postfix', was 'ours,exim'");
    }

    @Test
    void fromShouldDefaultThePostfixScriptToTheProjectOne() {
        assertThat(BenchSettings.from(new Properties()).postfixScript())
            .isEqualTo(Path.of("integration-tests/bench-postfix/postfix-instance.sh"));
    }

    @Test
    void fromShouldRunEveryScenarioByDefault() {
        assertThat(BenchSettings.from(new Properties()).scenarios()).containsExactly(Scenario.Kind.BURST,
            Scenario.Kind.LONG_TAIL, Scenario.Kind.ONE_PER_DOMAIN);
    }

    @Test
    void fromShouldReadTheScenariosInTheGivenOrder() {
        Properties properties = new Properties();
        properties.setProperty("bench.scenarios", "perdomain, LongTail,perdomain");

        assertThat(BenchSettings.from(properties).scenarios())
            .containsExactly(Scenario.Kind.ONE_PER_DOMAIN, Scenario.Kind.LONG_TAIL);
    }

    @Test
    void fromShouldRejectAnUnknownScenarioNamingTheKnownOnes() {
        Properties properties = new Properties();
        properties.setProperty("bench.scenarios", "burst,zipf");

        assertThatThrownBy(() -> BenchSettings.from(properties))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("bench.scenarios must list some of 'burst', 'longtail' and 'perdomain', was 'burst,zipf'");
    }

    @Test
    void fromShouldRunOursAgainWithTenDeliveryThreadsByDefaultAndWithNoneWhenEmpty() {
        Properties none = new Properties();
        none.setProperty("bench.deliveryThreads", " ");

        assertThat(BenchSettings.from(new Properties()).deliveryThreads()).containsExactly(10);
        assertThat(BenchSettings.from(none).deliveryThreads()).isEmpty();
    }

    @Test
    void fromShouldRejectDeliveryThreadsThatAreNotPositive() {
        Properties properties = new Properties();
        properties.setProperty("bench.deliveryThreads", "10,0");

        assertThatThrownBy(() -> BenchSettings.from(properties))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("bench.deliveryThreads must list whole numbers from 1 to 10000, was '10,0'");
    }

    @Test
    void fromShouldDefaultTheScenariosWithDnsToTheIssuesFigures() {
        BenchSettings settings = BenchSettings.from(new Properties());

        assertThat(settings.tailMails()).isEqualTo(20_000);
        assertThat(settings.tailDomains()).isEqualTo(2_000);
        assertThat(settings.zipfExponent()).isEqualTo(1.0);
        assertThat(settings.perDomainMails()).isEqualTo(5_000);
        assertThat(settings.dnsMxLatencyMillis()).isEqualTo(50);
        assertThat(settings.dnsDelay()).isEqualTo(Duration.ofMillis(30));
        assertThat(settings.dnsAddress().getHostAddress()).isEqualTo("127.0.0.153");
    }

    @Test
    void fromShouldRejectANameServerOutsideLoopbackWithoutLookingItUp() {
        for (String address : new String[] {"10.0.0.53", "127.0.0.999", "localhost", "127.0.0"}) {
            Properties properties = new Properties();
            properties.setProperty("bench.dnsAddress", address);

            assertThatThrownBy(() -> BenchSettings.from(properties))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bench.dnsAddress must be an IPv4 loopback address (127.x.y.z), was '" + address + "'");
        }
    }

    @Test
    void fromShouldRejectALongTailThatLeavesADomainWithoutMail() {
        Properties properties = new Properties();
        properties.setProperty("bench.tailMails", "100");
        properties.setProperty("bench.tailDomains", "50");

        assertThatThrownBy(() -> BenchSettings.from(properties))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("a Zipf share with exponent 1.0 gives no mail to the domain of rank 50");
    }
}

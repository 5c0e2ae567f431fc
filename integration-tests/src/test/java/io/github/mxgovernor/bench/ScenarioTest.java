package io.github.mxgovernor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

class ScenarioTest {
    private static final BenchSettings DEFAULTS = BenchSettings.from(new Properties());

    @Test
    void burstShouldKeepTheFourMxHostsAndEightDomainsWithoutDns() {
        Properties properties = new Properties();
        properties.setProperty("bench.mails", "16");
        Scenario burst = Scenario.of(Scenario.Kind.BURST, BenchSettings.from(properties));

        assertThat(burst.mxHosts()).extracting(host -> host.name + " " + host.address + ":" + host.port)
            .containsExactly("mx1.bench.test 127.0.0.101:0", "mx2.bench.test 127.0.0.102:0",
                "mx3.bench.test 127.0.0.103:0", "mx4.bench.test 127.0.0.104:0");
        assertThat(burst.mxOfDomain()).containsEntry("d1.bench.test", 0).containsEntry("d6.bench.test", 1)
            .hasSize(8);
        assertThat(burst.burstMails()).isEqualTo(16);
        assertThat(burst.burstRecipient(9)).isEqualTo("user9@d2.bench.test");
        assertThat(burst.warmupRecipient(3)).isEqualTo("user3@d4.bench.test");
        assertThat(burst.resolvesThroughDns()).isFalse();
        assertThat(burst.steadyPhase()).isTrue();
        assertThat(burst.latenciesMillis()).containsExactly(0, 50);
    }

    @Test
    void burstShouldRunOursAgainWithEachDeliveryThreadsValue() {
        List<ContenderVariant> contenders = Scenario.of(Scenario.Kind.BURST, DEFAULTS).contenders(DEFAULTS);

        assertThat(contenders).extracting(ContenderVariant::label).containsExactly("GovernedRemoteDelivery",
            "GovernedRemoteDelivery deliveryThreads=10", "GovernedRemoteDelivery + Redis store",
            "RemoteDelivery (stock)", "Postfix");
        assertThat(contenders.get(1).parameters()).containsExactly(Map.entry("deliveryThreads", "10"));
    }

    @Test
    void longTailShouldSpreadZipfSharesOfItsDomainsOverTwentyMxHostsOnPort25() {
        Scenario tail = Scenario.of(Scenario.Kind.LONG_TAIL, DEFAULTS);

        assertThat(tail.mxHosts()).hasSize(20);
        assertThat(tail.mxHosts().get(0).name).isEqualTo("mx1.dns.bench.test");
        assertThat(tail.mxHosts().get(19).address).isEqualTo("127.0.0.140");
        assertThat(tail.mxHosts()).allSatisfy(host -> assertThat(host.port).isEqualTo(25));
        Map<String, Integer> mailsPerDomain = new HashMap<>();
        IntStream.range(0, tail.burstMails()).mapToObj(tail::burstRecipient)
            .forEach(recipient -> mailsPerDomain.merge(recipient.substring(recipient.indexOf('@') + 1), 1,
                Integer::sum));
        int[] zipf = ZipfSplit.mailsPerDomain(20_000, 2_000, 1.0);
        assertThat(mailsPerDomain).hasSize(2_000).containsEntry("d1.tail.bench.test", zipf[0])
            .containsEntry("d2000.tail.bench.test", zipf[1999]);
        assertThat(tail.mxOfDomain()).containsEntry("d1.tail.bench.test", 0).containsEntry("d21.tail.bench.test", 0)
            .containsEntry("d2000.tail.bench.test", 19).hasSize(2_020);
        assertThat(tail.dnsDelay()).contains(Duration.ofMillis(30));
        assertThat(tail.latenciesMillis()).containsExactly(50);
        assertThat(tail.steadyPhase()).isFalse();
        assertThat(tail.contenders(DEFAULTS)).extracting(ContenderVariant::label)
            .containsExactly("GovernedRemoteDelivery", "GovernedRemoteDelivery + Redis store",
                "RemoteDelivery (stock)", "Postfix");
    }

    @Test
    void warmUpShouldGoToDomainsTheBurstNeverUsesOnTheSameMxHosts() {
        Scenario tail = Scenario.of(Scenario.Kind.LONG_TAIL, DEFAULTS);

        Set<String> warmupDomains = IntStream.range(0, 300).mapToObj(tail::warmupRecipient)
            .map(recipient -> recipient.substring(recipient.indexOf('@') + 1)).collect(Collectors.toSet());

        assertThat(warmupDomains).hasSize(20).contains("w1.warm.bench.test", "w20.warm.bench.test");
        assertThat(tail.mxOfDomain()).containsEntry("w20.warm.bench.test", 19);
        assertThat(IntStream.range(0, tail.burstMails()).mapToObj(tail::burstRecipient))
            .noneMatch(recipient -> recipient.endsWith(".warm.bench.test"));
    }

    @Test
    void onePerDomainShouldSendEachMailToItsOwnDomain() {
        Properties properties = new Properties();
        properties.setProperty("bench.perDomainMails", "300");
        Scenario once = Scenario.of(Scenario.Kind.ONE_PER_DOMAIN, BenchSettings.from(properties));

        Set<String> domains = new HashSet<>();
        IntStream.range(0, once.burstMails()).mapToObj(once::burstRecipient)
            .forEach(recipient -> domains.add(recipient.substring(recipient.indexOf('@') + 1)));

        assertThat(once.burstMails()).isEqualTo(300);
        assertThat(domains).hasSize(300).contains("d1.once.bench.test", "d300.once.bench.test");
        assertThat(once.mxOfDomain()).hasSize(320);
    }
}

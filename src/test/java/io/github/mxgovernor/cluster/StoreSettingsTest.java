package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StoreSettingsTest {

    @Test
    void hostAndPortIsARedisUri() {
        StoreSettings settings = StoreSettings.builder("127.0.0.1:6380").nodes(3).build();

        assertThat(settings.uri()).isEqualTo("redis://127.0.0.1:6380");
        assertThat(settings.address()).isEqualTo("redis://127.0.0.1:6380");
        assertThat(settings.cluster()).isFalse();
        assertThat(settings.keyPrefix()).isEqualTo("mxgovernor");
        assertThat(settings.nodeName()).isNotEmpty();
        assertThat(settings.timeout()).isEqualTo(Duration.ofMillis(200));
        assertThat(settings.leaseTime()).isEqualTo(Duration.ofSeconds(60));
        assertThat(settings.rateHorizon()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aHostAloneGetsRedisPort() {
        assertThat(StoreSettings.builder("redis.internal").nodes(1).build().uri())
            .isEqualTo("redis://redis.internal:6379");
    }

    @ParameterizedTest
    @ValueSource(strings = {"redis://:secret@10.0.0.5:6379/2", "rediss://james:secret@redis.example.com:6380",
        "redis-sentinel://secret@10.0.0.5:26379,10.0.0.6:26379#mymaster"})
    void uriFormsAreAcceptedAndTheirPasswordsNeverShown(String uri) {
        StoreSettings settings = StoreSettings.builder(uri).nodes(2).build();

        assertThat(settings.uri()).isEqualTo(uri);
        assertThat(settings.address()).doesNotContain("secret").contains("***@");
        assertThat(settings.toString()).doesNotContain("secret");
    }

    @Test
    void theSharesAreOneNthAtLeastOne() {
        StoreSettings settings = StoreSettings.builder("127.0.0.1:6379").nodes(3).build();

        assertThat(settings.connectionShare(10)).isEqualTo(3);
        assertThat(settings.connectionShare(2)).as("at least one connection").isEqualTo(1);
        assertThat(settings.rateShare(20_000)).isEqualTo(6666);
        assertThat(settings.rateShare(2)).isEqualTo(1);
    }

    @Test
    void anEmptyStoreIsNamed() {
        assertThatThrownBy(() -> StoreSettings.builder(" ")).hasMessageStartingWith("store must not be empty");
    }

    @Test
    void anUnknownSchemeIsNamed() {
        assertThatThrownBy(() -> StoreSettings.builder("http://user:secret@127.0.0.1:6379"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("store: unknown scheme 'http'")
            .hasMessageContaining("redis://, rediss://")
            .hasMessageNotContaining("secret");
    }

    @ParameterizedTest
    @ValueSource(strings = {"redis://", "redis://:secret@", "redis://host name:6379", "redis://127.0.0.1:99999",
        "redis-sentinel://127.0.0.1:26379"})
    void aMalformedUriIsNamed(String uri) {
        assertThatThrownBy(() -> StoreSettings.builder(uri))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("store: malformed URI")
            .hasMessageNotContaining("secret");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1:", "127.0.0.1:port", "127.0.0.1:0", ":6379", "user@host:6379"})
    void aBadHostAndPortIsNamed(String address) {
        assertThatThrownBy(() -> StoreSettings.builder(address))
            .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("store")
            .hasMessageContaining(address);
    }

    @Test
    void clusterModeRefusesASentinelUri() {
        StoreSettings.Builder sentinel = StoreSettings.builder("redis-sentinel://10.0.0.5:26379#mymaster");

        assertThatThrownBy(() -> sentinel.cluster(true)).hasMessageStartingWith("storeCluster=true cannot be used");
        assertThat(StoreSettings.builder("10.0.0.5:7000").cluster(true).nodes(2).build().cluster()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "with space", "{tag}", "a|b"})
    void aBadKeyPrefixOrNodeNameIsNamed(String value) {
        StoreSettings.Builder builder = StoreSettings.builder("127.0.0.1:6379");

        assertThatThrownBy(() -> builder.keyPrefix(value)).hasMessageStartingWith("storeKeyPrefix must be")
            .hasMessageEndingWith("was '" + value + "'");
        assertThatThrownBy(() -> builder.nodeName(value)).hasMessageStartingWith("storeNodeName must be");
    }

    @Test
    void theNumberOfNodesIsRequiredAndBounded() {
        StoreSettings.Builder builder = StoreSettings.builder("127.0.0.1:6379");

        assertThatThrownBy(builder::build).hasMessageStartingWith("storeNodes is required with store");
        assertThatThrownBy(() -> builder.nodes(0)).hasMessage("storeNodes must be from 1 to 1000, was 0");
        assertThatThrownBy(() -> builder.nodes(1001)).hasMessage("storeNodes must be from 1 to 1000, was 1001");
    }

    @Test
    void durationsOutOfRangeAreNamed() {
        StoreSettings.Builder builder = StoreSettings.builder("127.0.0.1:6379");

        assertThatThrownBy(() -> builder.timeout(Duration.ofMillis(5))).hasMessageStartingWith("storeTimeout must be")
            .hasMessageEndingWith("was PT0.005S");
        assertThatThrownBy(() -> builder.timeout(Duration.ofSeconds(6))).hasMessageStartingWith("storeTimeout");
        assertThatThrownBy(() -> builder.leaseTime(Duration.ofMillis(500))).hasMessageStartingWith("storeLeaseTime");
        assertThatThrownBy(() -> builder.leaseTime(Duration.ofHours(2))).hasMessageStartingWith("storeLeaseTime");
        assertThatThrownBy(() -> builder.rateHorizon(Duration.ZERO)).hasMessageStartingWith("storeRateHorizon");
    }

    @Test
    void aBadClusterScopeIsNamedWithWhereItIsWritten() {
        assertThat(ClusterScope.parse("Cluster", "mx-rules.xml:40, rule google")).isEqualTo(ClusterScope.CLUSTER);
        assertThat(ClusterScope.parse("node", "here")).isEqualTo(ClusterScope.NODE);

        assertThatThrownBy(() -> ClusterScope.parse("global", "mx-rules.xml:40, rule google"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("mx-rules.xml:40, rule google: clusterScope must be 'cluster' or 'node', was 'global'");
    }
}

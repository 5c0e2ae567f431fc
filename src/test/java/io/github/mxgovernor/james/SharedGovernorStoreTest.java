package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.cluster.StoreState;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.RedisServer;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One cluster store per JVM: opened by the first governed mailet, the same for every other, closed by the last. */
class SharedGovernorStoreTest {
    private int acquired;

    @AfterEach
    void releaseAll() {
        while (acquired > 0) {
            SharedGovernor.release();
            acquired--;
        }
    }

    private Governor acquire(Optional<StoreSettings> store) throws MessagingException {
        Governor governor = SharedGovernor.acquire(new DeliveryMetrics(new RecordingMetricFactory()),
            Clock.systemUTC(), store);
        acquired++;
        return governor;
    }

    /** A store nothing listens on: the connection is refused at once. */
    private static StoreSettings unreachable(String prefix) throws IOException {
        return StoreSettings.builder("127.0.0.1:" + RedisServer.anotherFreePort()).nodes(2).keyPrefix(prefix)
            .timeout(Duration.ofMillis(50)).connectTimeout(Duration.ofMillis(200)).build();
    }

    @Test
    void anUnreachableStoreAtStartShouldNotFailTheStartButLeaveTheStoreDown() throws Exception {
        Governor governor = acquire(Optional.of(unreachable("a")));

        ClusterStore store = governor.clusterStore().orElseThrow();
        assertThat(store.state().kind()).isEqualTo(StoreState.Kind.DOWN);
        assertThat(store.state().lastError()).isPresent();
    }

    @Test
    void aSecondMailetWithOtherStoreSettingsShouldBeRefusedNamingStore() throws Exception {
        StoreSettings first = unreachable("a");
        Governor governor = acquire(Optional.of(first));

        assertThat(acquire(Optional.of(first))).isSameAs(governor);
        assertThatThrownBy(() -> acquire(Optional.of(StoreSettings.builder(first.address()).nodes(3)
            .keyPrefix("a").timeout(Duration.ofMillis(50)).build())))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter store: another governed mailet of this James already"
                + " runs with the cluster store");
        assertThatThrownBy(() -> acquire(Optional.empty()))
            .isInstanceOf(MessagingException.class)
            .hasMessageStartingWith("Invalid mailet parameter store:");
    }

    @Test
    void withoutStoreTheGovernorShouldRunOnItsOwnAndRefuseAMailetWithOne() throws Exception {
        Governor governor = acquire(Optional.empty());

        assertThat(governor.clusterStore()).isEmpty();
        assertThatThrownBy(() -> acquire(Optional.of(unreachable("b"))))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("already runs without a cluster store");
    }
}

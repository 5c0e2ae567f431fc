package io.github.mxgovernor.james.jmx;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.cluster.ClusterStore;
import io.github.mxgovernor.cluster.StoreSettings;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.rules.MxRule;
import io.github.mxgovernor.testing.FakeClock;
import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.time.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the beans say of the cluster store: nothing to say without one; its state, and this node's share when down. */
class GovernorBeanStoreTest {
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private final MxRule yahoo = MxRule.builder("yahoo").mxMasks("*.yahoodns.net").maxConnections(5).build();
    private GovernorBeans beans;
    private ClusterStore store;

    @AfterEach
    void close() {
        if (beans != null) {
            beans.close();
        }
        if (store != null) {
            store.close();
        }
    }

    private Governor register(Governor governor) throws Exception {
        beans = new GovernorBeans(server, governor, Duration.ofMinutes(10), 100);
        beans.registerGovernor(new FakeRulesFiles(), List::of, new FakeWaitingPlaces());
        return governor;
    }

    @Test
    void withoutStoreTheBeansShouldSayNoneAndNode() throws Exception {
        Governor governor = register(new Governor(FakeClock.at("2026-03-01T10:00:00Z"), () -> 0));
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        beans.refresh();

        ObjectName name = GovernorBeans.governorName();
        assertThat(server.getAttribute(name, "StoreState")).isEqualTo("NONE");
        assertThat(server.getAttribute(name, "StoreAddress")).isEqualTo("");
        assertThat(server.getAttribute(name, "StoreCommands")).isEqualTo(0L);
        ObjectName bean = GovernorBeans.destinationName(destination.name());
        assertThat(server.getAttribute(bean, "ClusterScope")).isEqualTo("node");
        assertThat(server.getAttribute(bean, "ClusterConnections")).isEqualTo(-1);
        assertThat(server.getAttribute(bean, "ConnectionsAllowedNow")).isEqualTo(5);
    }

    @Test
    void anUnreachableStoreShouldShowDownItsErrorAndThisNodesShare() throws Exception {
        store = ClusterStore.open(StoreSettings.builder("redis://:secret@127.0.0.1:" + RedisServer.anotherFreePort())
            .nodes(2).nodeName("james-1").timeout(Duration.ofMillis(50)).connectTimeout(Duration.ofMillis(200))
            .build());
        Governor governor = register(new Governor(Clock.systemUTC(), Ticker.SYSTEM, () -> 0, Optional.of(store)));
        Destination destination = governor.destination(yahoo, "mta5.am0.yahoodns.net");
        destination.tryOpenConnection();
        beans.refresh();

        ObjectName name = GovernorBeans.governorName();
        assertThat(server.getAttribute(name, "StoreState")).isEqualTo("DOWN");
        assertThat((String) server.getAttribute(name, "StoreLastError")).isNotEmpty().doesNotContain("secret");
        assertThat((String) server.getAttribute(name, "StoreLastErrorAt")).isNotEmpty();
        assertThat((String) server.getAttribute(name, "StoreSince")).isNotEmpty();
        assertThat((String) server.getAttribute(name, "StoreAddress")).startsWith("redis://***@127.0.0.1:")
            .doesNotContain("secret");
        assertThat(server.getAttribute(name, "StoreNode")).isEqualTo("james-1");
        assertThat((Long) server.getAttribute(name, "StoreFailures")).isPositive();

        ObjectName bean = GovernorBeans.destinationName(destination.name());
        assertThat(server.getAttribute(bean, "ClusterScope")).isEqualTo(ClusterScope.CLUSTER.configValue());
        assertThat(server.getAttribute(bean, "ConnectionsAllowedNow")).as("5/2 while the store is down")
            .isEqualTo(2);
        assertThat(server.getAttribute(bean, "ActiveConnections")).isEqualTo(1);
        CompositeData[] rows = (CompositeData[]) server.invoke(name, "destinations", new Object[0], new String[0]);
        assertThat(rows[0].get("connectionsAllowedNow")).isEqualTo(2);
        assertThat(rows[0].get("clusterConnections")).isEqualTo(-1);
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import io.github.mxgovernor.cluster.MailReleaseLeases;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailRepositoryStoreDouble;
import io.github.mxgovernor.testing.RedisServer;
import io.github.mxgovernor.waiting.ReleaseLeases;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.domainlist.api.DomainList;
import org.apache.james.dnsservice.api.InMemoryDNSService;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The waiting place's parameters and start: defaults, and every bad value stops the start naming it. */
class WaitingPlaceStartTest {
    private final MailQueueDouble queue = MailQueueDouble.memory("outgoing");
    private final MailRepositoryStoreDouble repositories = new MailRepositoryStoreDouble("memory", "file");
    private final List<GovernedRemoteDelivery> mailets = new ArrayList<>();

    @AfterEach
    void stop() {
        mailets.forEach(GovernedRemoteDelivery::destroy);
        queue.shutdown();
    }

    @Test
    void defaultsShouldBeAWaitingPlaceUnderJamesDefaultProtocolForWaitsOverFiveMinutes() throws Exception {
        WaitingSettings settings = configuration(Map.of()).waiting();

        assertThat(settings.enabled()).isTrue();
        assertThat(settings.repository()).isEmpty();
        assertThat(settings.threshold()).isEqualTo(Duration.ofMinutes(5));
        assertThat(settings.releasePerSecond()).isEqualTo(200);
        assertThat(WaitingSettings.defaultUrl("memory", "outgoing")).isEqualTo("memory://var/mail/mxgovernor-waiting/");
        assertThat(WaitingSettings.defaultUrl("cassandra", "spam"))
            .isEqualTo("cassandra://var/mail/mxgovernor-waiting/spam/");
    }

    @Test
    void theParametersShouldBeRead() throws Exception {
        WaitingSettings settings = configuration(Map.of("waitingRepository", "file://var/mail/waiting/",
            "waitingThreshold", "2m", "waitingReleaseRate", "50")).waiting();

        assertThat(settings.repository()).contains("file://var/mail/waiting/");
        assertThat(settings.threshold()).isEqualTo(Duration.ofMinutes(2));
        assertThat(settings.releasePerSecond()).isEqualTo(50);
        assertThat(configuration(Map.of("waitingRepository", "OFF")).waiting().enabled()).isFalse();
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "waitingThreshold|5|Invalid mailet parameter waitingThreshold: needs a unit (ms, s, m, h or d), such as '5s', was '5'",
        "waitingThreshold|0s|Invalid mailet parameter waitingThreshold: expected a positive duration such as 500ms, 30s, 5m, 2h or 5d, was '0s'",
        "waitingThreshold|31d|Invalid mailet parameter waitingThreshold: expected a duration of at most 30d, was '31d'",
        "waitingReleaseRate|0|Invalid mailet parameter waitingReleaseRate: expected an integer from 1 to 100000, was '0'",
        "waitingReleaseRate|fast|Invalid mailet parameter waitingReleaseRate: expected an integer from 1 to 100000, was 'fast'",
        "waitingRepository|var/mail/waiting|Invalid mailet parameter waitingRepository: expected a mail repository URL <protocol>://<path> such as memory://var/mail/mxgovernor-waiting/, or off, was 'var/mail/waiting'",
        "waitingRepository|://var/mail/waiting|Invalid mailet parameter waitingRepository: expected a mail repository URL <protocol>://<path> such as memory://var/mail/mxgovernor-waiting/, or off, was '://var/mail/waiting'"})
    void aBadValueShouldStopTheStartNamingTheParameterAndTheValue(String parameter, String value, String message) {
        assertThatThrownBy(() -> configuration(Map.of(parameter, value)))
            .isInstanceOf(MessagingException.class).hasMessage(message);
    }

    @Test
    void anUnknownProtocolShouldStopTheStartNamingTheParameterAndTheUrl() {
        assertThatThrownBy(() -> start(Map.of("waitingRepository", "cassandra://var/mail/waiting/")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter waitingRepository: James cannot open mail repository"
                + " 'cassandra://var/mail/waiting/': No Mail Repository associated with cassandra"
                + " (mailrepositorystore.xml maps protocols to repositories; 'off' turns the waiting place off)");
        assertThat(WaitingRooms.jvmWide().waitingRows()).isEmpty();
        assertThat(SharedGovernor.current()).isEmpty();
    }

    @Test
    void twoMailetsShouldNotShareOneWaitingPlace() throws Exception {
        start(Map.of("waitingRepository", "file://var/mail/waiting/"));

        assertThatThrownBy(() -> start(Map.of("waitingRepository", "file://var/mail/waiting/")))
            .isInstanceOf(MessagingException.class)
            .hasMessage("Invalid mailet parameter waitingRepository: 'file://var/mail/waiting/' is already the waiting"
                + " place of the governed mailet of queue outgoing; give each its own");
    }

    @Test
    void theDefaultPlaceShouldBeOpenedUnderTheStoresDefaultProtocol() throws Exception {
        start(Map.of());

        assertThat(WaitingRooms.jvmWide().takenBy("memory://var/mail/mxgovernor-waiting/")).contains("outgoing");
    }

    @Test
    void onOneNodeEveryMailShouldBeTheNodesOwnAndTheRepositoryNeverListedAgain() throws Exception {
        start(Map.of());

        WaitingRoom room = WaitingRooms.jvmWide().room("memory://var/mail/mxgovernor-waiting/").orElseThrow();
        assertThat(room.leases()).isSameAs(ReleaseLeases.LOCAL);
        assertThat(room.rescanEvery()).isEmpty();
    }

    @Test
    void withAClusterStoreTheMailsShouldBeReleasedUnderItsLeasesAndTheRepositoryListedAgain() throws Exception {
        // a store nothing listens on: the mailet starts all the same, on its shares
        start(Map.of("store", "127.0.0.1:" + RedisServer.anotherFreePort(), "storeNodes", "2", "storeTimeout",
            "50ms"));

        WaitingRoom room = WaitingRooms.jvmWide().room("memory://var/mail/mxgovernor-waiting/").orElseThrow();
        assertThat(room.leases()).isInstanceOf(MailReleaseLeases.class);
        assertThat(room.rescanEvery()).contains(WaitingRoom.RESCAN_EVERY);
    }

    @Test
    void offShouldOpenNoPlace() throws Exception {
        start(Map.of("waitingRepository", "off"));

        assertThat(WaitingRooms.jvmWide().takenBy("memory://var/mail/mxgovernor-waiting/")).isEmpty();
    }

    private static DeliveryConfiguration configuration(Map<String, String> parameters) throws MessagingException {
        return DeliveryConfiguration.read(config(parameters), mock(FileSystem.class), () -> "localhost",
            Clock.systemUTC());
    }

    private static org.apache.mailet.MailetConfig config(Map<String, String> parameters) {
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(FakeMailContext.defaultContext()).setProperty("heloName", "james.local")
            .setProperty("mtaSts", "false");
        parameters.forEach(config::setProperty);
        return config.build();
    }

    private void start(Map<String, String> parameters) throws MessagingException {
        GovernedRemoteDelivery mailet = new GovernedRemoteDelivery(new InMemoryDNSService(), mock(DomainList.class),
            queue.factory(), mock(FileSystem.class), new RecordingMetricFactory(), Clock.systemUTC(),
            RecoveryTiming.DEFAULT, new DeliveryLedger(), Optional.of(repositories), WaitingRoom::ignoresDelays);
        mailet.init(config(parameters));
        mailets.add(mailet);
    }
}

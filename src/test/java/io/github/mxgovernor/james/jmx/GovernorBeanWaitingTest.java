package io.github.mxgovernor.james.jmx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.testing.FakeClock;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The waiting place on the Governor bean, as a JMX client sees it: open types, operations that refuse bad input. */
class GovernorBeanWaitingTest {
    private static final String[] ONE_STRING = {String.class.getName()};
    private static final String PLACE = "cassandra://var/mail/mxgovernor-waiting/";

    private final FakeClock clock = FakeClock.at("2026-03-01T10:00:00Z");
    private final Governor governor = new Governor(clock, () -> 0);
    private final FakeWaitingPlaces waiting = new FakeWaitingPlaces();
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private final ObjectName name = GovernorBeans.governorName();
    private GovernorBeans beans;

    @BeforeEach
    void register() throws Exception {
        beans = new GovernorBeans(server, governor, Duration.ofMinutes(10), 100);
        beans.registerGovernor(new FakeRulesFiles(), List::of, waiting);
        waiting.rows.add(new WaitingRow("mta5.am0.yahoodns.net", "SUSPENDED", 40_000,
            Instant.parse("2026-03-01T12:00:00Z"), PLACE));
        waiting.rows.add(new WaitingRow("mta5.am0.yahoodns.net", "SMTP_TEMPORARY_FAILURE", 12,
            Instant.parse("2026-03-01T10:20:00Z"), PLACE));
        waiting.rows.add(new WaitingRow("shared:google", "RATE_LIMITED", 3, Instant.parse("2026-03-01T10:10:00Z"),
            PLACE));
    }

    @AfterEach
    void close() {
        beans.close();
    }

    @Test
    void waitingMailsShouldBeRowsOfOpenTypesByDestinationAndReason() throws Exception {
        CompositeData[] rows = (CompositeData[]) server.getAttribute(name, "WaitingMails");

        assertThat(rows).hasSize(3);
        assertThat(rows[0].get("destination")).isEqualTo("mta5.am0.yahoodns.net");
        assertThat(rows[0].get("reason")).isEqualTo("SUSPENDED");
        assertThat(rows[0].get("mails")).isEqualTo(40_000L);
        assertThat(rows[0].get("nextRelease")).isEqualTo("2026-03-01T12:00:00Z");
        assertThat(rows[0].get("repository")).isEqualTo(PLACE);
        assertThat(server.getAttribute(name, "Waiting")).isEqualTo(40_015L);
    }

    @Test
    void releaseWaitingShouldReleaseOneDestinationsMail() throws Exception {
        Object result = server.invoke(name, "releaseWaiting", new Object[] {" mta5.am0.yahoodns.net "}, ONE_STRING);

        assertThat(result).isEqualTo("40012 mails waiting for mta5.am0.yahoodns.net go back on the queue now, at the"
            + " waiting place's pace");
        assertThat(waiting.releases).containsExactly(Optional.of("mta5.am0.yahoodns.net"));
    }

    @Test
    void releaseAllWaitingShouldReleaseEveryMail() throws Exception {
        Object result = server.invoke(name, "releaseAllWaiting", new Object[0], new String[0]);

        assertThat(result).isEqualTo("40015 waiting mails go back on the queue now, at the waiting place's pace");
        assertThat(waiting.releases).containsExactly(Optional.empty());
    }

    @Test
    void releaseWaitingShouldRefuseADestinationWithoutWaitingMailAndReleaseNothing() {
        assertThatThrownBy(() -> server.invoke(name, "releaseWaiting", new Object[] {"mx.nowhere.test"}, ONE_STRING))
            .isInstanceOf(RuntimeMBeanException.class).cause().isInstanceOf(IllegalArgumentException.class)
            .hasMessage("no mail waits for destination 'mx.nowhere.test'; mail waits for mta5.am0.yahoodns.net,"
                + " shared:google (see WaitingMails)");
        assertThat(waiting.releases).isEmpty();
    }

    @Test
    void releaseWaitingShouldRefuseABlankDestinationAndReleaseNothing() {
        assertThatThrownBy(() -> server.invoke(name, "releaseWaiting", new Object[] {"  "}, ONE_STRING))
            .isInstanceOf(RuntimeMBeanException.class).cause().isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("destination must be given");
        assertThatThrownBy(() -> server.invoke(name, "releaseWaiting", new Object[] {null}, ONE_STRING))
            .isInstanceOf(RuntimeMBeanException.class).cause().isInstanceOf(IllegalArgumentException.class);
        assertThat(waiting.releases).isEmpty();
    }

    @Test
    void releaseWaitingShouldSayWhenNoMailWaitsAtAll() {
        waiting.rows.clear();

        assertThatThrownBy(() -> server.invoke(name, "releaseWaiting", new Object[] {"shared:google"}, ONE_STRING))
            .isInstanceOf(RuntimeMBeanException.class).cause()
            .hasMessage("no mail waits for destination 'shared:google'; no mail waits at all");
    }
}

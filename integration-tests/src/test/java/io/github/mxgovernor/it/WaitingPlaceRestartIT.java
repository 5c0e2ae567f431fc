package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.james.DeferralAttributes;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

import org.apache.mailet.AttributeValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mail waiting in a persistent waiting place survives a restart of James: the embedded James keeps deferred mail in
 * James's own file repository ({@code file://}, registered in its {@code mailrepositorystore.xml} as an operator would),
 * is stopped while 100 mails wait for a suspended destination, and a new James started on the same directory finds
 * them (the Governor bean counts them again, by destination and reason); the operator's {@code releaseWaiting} sends
 * them, each once. James's memory queue itself keeps nothing across the restart: what is delivered came from the
 * waiting place.
 */
class WaitingPlaceRestartIT {
    private static final String PLACE = "file://var/mail/mxgovernor-waiting/";
    private static final String DESTINATION = "mx1.restart.test";
    private static final int MAILS = 100;
    private static final Duration LONG = Duration.ofSeconds(60);
    private static final String[] MINUTES_SIGNATURE = {String.class.getName(), long.class.getName(),
        String.class.getName()};

    @TempDir
    Path temp;

    private final MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
    private final FakeMxServer mx = FakeMxServer.start("127.0.0.85");
    private EmbeddedJames james;

    @AfterEach
    void stop() {
        if (james != null) {
            james.close();
        }
        mx.close();
    }

    @Test
    void mailWaitingWhenJamesStopsShouldBeFoundByTheNextJamesAndDeliveredOnce() throws Exception {
        Path directory = Files.createDirectories(temp.resolve("james"));
        Path rules = Files.writeString(temp.resolve("mx-rules.xml"), "<mx-rules><default maxConnections=\"4\"/>"
            + "</mx-rules>");
        ObjectName governor = new ObjectName("io.github.mxgovernor:type=Governor");
        james = start(directory, rules);
        String first = james.sendMail(EmbeddedJames.SENDER, "first@restart.test");
        await().atMost(LONG).until(() -> mx.messageIds().contains(first));
        jmx.invoke(governor, "suspend", new Object[] {DESTINATION, 60L, "test: held across a restart"},
            MINUTES_SIGNATURE);

        List<String> held = james.sendMails(MAILS, EmbeddedJames.SENDER, i -> List.of("r" + i + "@restart.test"));

        await().atMost(LONG).until(() -> jmx.getAttribute(governor, "Waiting").equals((long) MAILS)
            && james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0);
        List<Object> waitingIn = james.readMails(PLACE, address -> true, mail -> mail
            .getAttribute(DeferralAttributes.DEFERRAL)
            .map(record -> ((Map<?, ?>) record.getValue().value()).get(DeferralAttributes.WAITING_IN))
            .map(value -> ((AttributeValue<?>) value).value()));
        assertThat(waitingIn).hasSize(MAILS).containsOnly(PLACE);
        james.close();
        james = start(directory, rules);

        assertThat(jmx.getAttribute(governor, "Waiting")).isEqualTo((long) MAILS);
        CompositeData[] rows = (CompositeData[]) jmx.getAttribute(governor, "WaitingMails");
        assertThat(rows).hasSize(1);
        assertThat(rows[0].get("destination")).isEqualTo(DESTINATION);
        assertThat(rows[0].get("reason")).isEqualTo(DeferralReason.SUSPENDED.name());
        assertThat(rows[0].get("mails")).isEqualTo((long) MAILS);
        assertThat(rows[0].get("repository")).isEqualTo(PLACE);
        assertThat(mx.messageIds()).containsExactly(first);

        Object released = jmx.invoke(governor, "releaseWaiting", new Object[] {DESTINATION},
            new String[] {String.class.getName()});

        assertThat((String) released).startsWith(MAILS + " mails waiting for " + DESTINATION);
        await().atMost(LONG).until(() -> mx.messageIds().size() == MAILS + 1);
        await().atMost(LONG).until(() -> jmx.getAttribute(governor, "Waiting").equals(0L));
        Map<String, Long> receipts = mx.messageIds().stream()
            .collect(Collectors.groupingBy(id -> id, LinkedHashMap::new, Collectors.counting()));
        assertThat(receipts.keySet()).containsAll(held);
        assertThat(receipts.values()).containsOnly(1L);
        assertThat(james.repositorySize(PLACE)).isZero();
    }

    private EmbeddedJames start(Path directory, Path rules) throws Exception {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("waitingRepository", PLACE);
        parameters.put("mtaSts", "false");
        parameters.put("shutdownGrace", "1s");
        return EmbeddedJames.builder()
            .workingDirectory(directory)
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("restart.test", DESTINATION, mx)
            .start();
    }
}

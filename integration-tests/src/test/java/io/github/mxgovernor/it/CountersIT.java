package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One meaning per counter, the same on every view: an embedded James delivers to an MX that throttles every
 * transaction with Yahoo's {@code 421 4.7.0 [TSS04]}, one that refuses every recipient with a 5xx, and a healthy one.
 * Each mail is counted once per end it reaches, under the name its meaning gives it, on the Destination beans, on the
 * Governor bean and in James's metrics (DropWizard's, exported on the same MBean server), all read over JMX as a client
 * without mx-governor's classes would.
 */
class CountersIT {
    private static final Duration LONG = Duration.ofSeconds(90);
    private static final int HEALTHY = 5;
    private static final int REFUSED = 3;
    private static final int THROTTLED = 2;

    @TempDir
    static Path temp;

    private static FakeMxServer healthy;
    private static FakeMxServer refusing;
    private static FakeMxServer throttling;
    private static EmbeddedJames james;
    private static final MBeanServerConnection jmx = ManagementFactory.getPlatformMBeanServer();

    @BeforeAll
    static void start() throws Exception {
        healthy = FakeMxServer.start("127.0.0.91");
        refusing = FakeMxServer.builder("127.0.0.92")
            .replyPolicy(ReplyPolicy.at(SmtpStage.RCPT, ReplyPolicy.NO_SUCH_USER)).start();
        throttling = FakeMxServer.builder("127.0.0.93")
            .replyPolicy(ReplyPolicy.at(SmtpStage.MAIL, ReplyPolicy.TSS04_DEFERRED)).start();
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules>\n  <default maxConnections=\"2\"/>\n</mx-rules>\n");
        Map<String, String> parameters = new LinkedHashMap<>();
        // one retry, half a second after the first failed attempt; the second failed attempt bounces
        parameters.put("delayTime", "500");
        parameters.put("maxRetries", "1");
        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("ok.counters.test", "mx1.ok.counters.test", healthy)
            .mx("refused.counters.test", "mx1.refused.counters.test", refusing)
            .mx("throttled.counters.test", "mx1.throttled.counters.test", throttling)
            .start();
    }

    @AfterAll
    static void stop() {
        if (james != null) {
            james.close();
        }
        for (FakeMxServer server : new FakeMxServer[] {healthy, refusing, throttling}) {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    void eachMailShouldBeCountedOnceUnderTheSameNameOnEveryView() throws Exception {
        ObjectName governor = new ObjectName("io.github.mxgovernor:type=Governor");
        Map<String, Long> governorBefore = counters(governor);
        Map<String, Long> metricsBefore = jamesMetrics();

        james.sendMails(HEALTHY, EmbeddedJames.SENDER, i -> List.of("user" + i + "@ok.counters.test"));
        james.sendMails(REFUSED, EmbeddedJames.SENDER, i -> List.of("gone" + i + "@refused.counters.test"));
        james.sendMails(THROTTLED, EmbeddedJames.SENDER, i -> List.of("busy" + i + "@throttled.counters.test"));

        await().atMost(LONG).until(() -> healthy.messageCount() == HEALTHY);
        await().atMost(LONG).until(() -> counters(governor).get("Bounced") - governorBefore.get("Bounced")
            == REFUSED + THROTTLED);
        await().atMost(LONG).until(() -> james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0);

        Map<String, Long> ok = counters(destination("mx1.ok.counters.test"));
        assertThat(ok).containsEntry("Delivered", (long) HEALTHY).containsEntry("Deferred", 0L)
            .containsEntry("Bounced", 0L).containsEntry("Failed", 0L);
        Map<String, Long> refused = counters(destination("mx1.refused.counters.test"));
        assertThat(refused).containsEntry("Delivered", 0L).containsEntry("Deferred", 0L)
            .containsEntry("Bounced", (long) REFUSED).containsEntry("Failed", 0L);
        Map<String, Long> throttled = counters(destination("mx1.throttled.counters.test"));
        assertThat(throttled).as("every 421 a deferral under its reason, then a bounce once the retry is spent")
            .containsEntry("Delivered", 0L).containsEntry("Deferred", (long) THROTTLED)
            .containsEntry("Deferred.SMTP_TEMPORARY_FAILURE", (long) THROTTLED)
            .containsEntry("Bounced", (long) THROTTLED)
            .containsEntry("Failed", 2L * THROTTLED).containsEntry("Failed.SMTP_TEMPORARY_FAILURE", 2L * THROTTLED);
        assertThat(throttled.entrySet()).filteredOn(entry -> entry.getKey().startsWith("Deferred.")
            && !entry.getKey().equals("Deferred.SMTP_TEMPORARY_FAILURE")).allSatisfy(entry ->
                assertThat(entry.getValue()).as(entry.getKey()).isZero());

        Map<String, Long> governorDelta = delta(governorBefore, counters(governor));
        assertThat(governorDelta).as("the Governor bean adds the destinations up")
            .containsEntry("Delivered", (long) HEALTHY)
            .containsEntry("Deferred", (long) THROTTLED)
            .containsEntry("Deferred.SMTP_TEMPORARY_FAILURE", (long) THROTTLED)
            .containsEntry("Bounced", (long) (REFUSED + THROTTLED))
            .containsEntry("Failed", 2L * THROTTLED)
            .containsEntry("Failed.SMTP_TEMPORARY_FAILURE", 2L * THROTTLED);
        Map<String, Long> metricsDelta = delta(metricsBefore, jamesMetrics());
        assertThat(metricsDelta).as("James's metrics count the same ends under the same names")
            .containsEntry("mxgovernor.delivered", (long) HEALTHY)
            .containsEntry("mxgovernor.deferred", (long) THROTTLED)
            .containsEntry("mxgovernor.deferred.SMTP_TEMPORARY_FAILURE", (long) THROTTLED)
            .containsEntry("mxgovernor.bounced", (long) (REFUSED + THROTTLED));
        assertThat(governorDelta.get("Delivered") + governorDelta.get("Bounced"))
            .as("every mail ended once: delivered or bounced").isEqualTo(HEALTHY + REFUSED + THROTTLED);
        assertThat(throttling.messageCount()).isZero();
        assertThat(refusing.messageCount()).isZero();
    }

    private static ObjectName destination(String name) throws Exception {
        ObjectName bean = new ObjectName("io.github.mxgovernor:type=Destination,name=" + name);
        await().atMost(LONG).until(() -> jmx.isRegistered(bean));
        return bean;
    }

    /** The counters a bean shares ({@code CountersMXBean}), the maps flattened as {@code Deferred.<REASON>}. */
    private static Map<String, Long> counters(ObjectName bean) throws Exception {
        Map<String, Long> counters = new LinkedHashMap<>();
        for (String name : List.of("Delivered", "Deferred", "Bounced", "Failed")) {
            counters.put(name, (Long) jmx.getAttribute(bean, name));
        }
        flatten(counters, "Deferred.", (TabularData) jmx.getAttribute(bean, "DeferredByReason"));
        flatten(counters, "Failed.", (TabularData) jmx.getAttribute(bean, "FailedByCause"));
        return counters;
    }

    private static void flatten(Map<String, Long> into, String prefix, TabularData map) {
        for (Object row : map.values()) {
            CompositeData entry = (CompositeData) row;
            into.put(prefix + entry.get("key"), (Long) entry.get("value"));
        }
    }

    /** James's {@code mxgovernor.*} counters, as DropWizard's JMX reporter exports them ({@code Count}). */
    private static Map<String, Long> jamesMetrics() throws Exception {
        Set<ObjectName> names = jmx.queryNames(new ObjectName("metrics:*"), null);
        Map<String, Long> metrics = new LinkedHashMap<>();
        for (ObjectName name : names) {
            String metric = name.getKeyProperty("name");
            if (metric != null && metric.startsWith("mxgovernor.") && !metric.equals("mxgovernor.attempt")) {
                metrics.put(metric, ((Number) jmx.getAttribute(name, "Count")).longValue());
            }
        }
        assertThat(metrics).as("James's metrics of mx-governor on the MBean server").containsKey("mxgovernor.delivered");
        return metrics;
    }

    private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> delta = new LinkedHashMap<>();
        after.forEach((name, value) -> delta.put(name, value - before.getOrDefault(name, 0L)));
        return delta;
    }
}

package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.james.DeferralAttributes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.mailet.Mail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic flow control in a real (embedded) James 3.8.1: one fake MX starts throttling after some mails, with
 * Yahoo's TSS04 reply or with 4xx replies above the error-rate threshold. Its destination alone is suspended or
 * backed off, the healthy destinations keep their pace, the mail held back says why, and once the MX recovers every
 * mail arrives exactly once. Each test starts its own James, configured for its case.
 */
class FlowControlIT {
    private static final Logger LOGGER = LoggerFactory.getLogger(FlowControlIT.class);
    private static final String DELIVERED = "memory://var/mail/delivered/";
    private static final String BOUNCED = "memory://var/mail/bounced/";
    private static final Duration LONG = Duration.ofSeconds(60);
    /**
     * How long after a fake MX sent a reply the delivery client has surely acted on it, even on a loaded 2-core
     * machine; attempts inside this margin were already under way.
     */
    private static final Duration REACTION = Duration.ofSeconds(1);
    /** The default rule's cap: the most attempts that can be in flight when a destination changes state. */
    private static final int MAX_CONNECTIONS = 4;
    /**
     * The healthy MX hosts answer each burst of replies after this delay and the healthy rule allows 5 connections,
     * so their pace (about 25 mails/s) is set by round trips, as over a real network, rather than by how much CPU
     * the test machine has left: that is what makes two runs' rates comparable. A long round trip keeps the few
     * milliseconds a busy machine adds to each one small beside it.
     */
    private static final Duration HEALTHY_LATENCY = Duration.ofMillis(200);
    private static final String HEALTHY_RULE =
        "  <rule name=\"healthy\" mx=\"*.healthy.test\" maxConnections=\"5\" maxMessagesPerConnection=\"10000\"/>";

    @TempDir
    Path temp;

    private final List<FakeMxServer> servers = new ArrayList<>();
    private EmbeddedJames james;

    @AfterEach
    void stop() {
        if (james != null) {
            james.close();
        }
        servers.forEach(FakeMxServer::close);
    }

    @Test
    void tss04RepliesShouldSuspendOnlyTheirDestinationWhileTheOthersKeepTheirPace() throws Exception {
        Duration suspension = Duration.ofSeconds(6);
        FakeMxServer healthy1 = server(FakeMxServer.builder("127.0.0.51").latency(HEALTHY_LATENCY)
            .retainContent(false));
        FakeMxServer healthy2 = server(FakeMxServer.builder("127.0.0.52").latency(HEALTHY_LATENCY)
            .retainContent(false));
        FakeMxServer yahoo = server(FakeMxServer.builder("127.0.0.53").retainContent(false));
        FakeMxServer warm = server(FakeMxServer.builder("127.0.0.50").retainContent(false));
        // Lifted before the suspension ends: from then on only the suspension keeps attempts away.
        Outage tss04 = new Outage(yahoo::messageCount, 20, Duration.ofSeconds(4), ReplyPolicy.TSS04_DEFERRED);
        yahoo.replyPolicy(tss04);
        james = start(Duration.ofSeconds(60), builder -> builder
                .mx("healthy1.test", "mx1.healthy.test", healthy1)
                .mx("healthy2.test", "mx2.healthy.test", healthy2)
                .mx("yahoo.test", "mx1.yahoo.test", yahoo)
                .mx("warm.test", "mx1.warm.test", warm),
            HEALTHY_RULE,
            "  <rule name=\"yahoo-like\" mx=\"*.yahoo.test\">",
            "    <response match=\"421 4\\.7\\.0 \\[TSS04\\]\" threshold=\"2\" window=\"10s\" action=\"suspend\"",
            "              duration=\"" + suspension.toSeconds() + "s\"/>",
            "  </rule>");
        String[] healthyDomains = {"healthy1.test", "healthy2.test"};
        int healthyMails = 300;

        // Compiles the hot paths (and opens the healthy connections) before anything is measured.
        List<String> warmUp = james.sendMails(400, EmbeddedJames.SENDER,
            i -> List.of("warm" + i + "@" + (i < 380 ? "warm.test" : healthyDomains[i % 2])));
        awaitArrival(warmUp, warm, healthy1, healthy2);

        List<String> alone = james.sendMails(healthyMails, EmbeddedJames.SENDER,
            i -> List.of("alone" + i + "@" + healthyDomains[i % 2]));
        SteadyPace paceAlone = SteadyPace.of(awaitArrival(alone, healthy1, healthy2));

        // Every third mail goes to the throttling MX; the healthy ones are as many as in the run alone.
        long sending = System.nanoTime();
        List<String> mixed = james.sendMails(healthyMails * 3 / 2, EmbeddedJames.SENDER,
            i -> List.of("mixed" + i + "@" + (i % 3 == 2 ? "yahoo.test" : healthyDomains[(i - i / 3) % 2])));
        Duration sendingTime = Duration.ofNanos(System.nanoTime() - sending);
        List<String> mixedHealthy = everyIndex(mixed, i -> i % 3 != 2);
        List<String> toYahoo = everyIndex(mixed, i -> i % 3 == 2);
        SteadyPace paceMixed = SteadyPace.of(awaitArrival(mixedHealthy, healthy1, healthy2));
        List<ReceivedMessage> yahooMessages = awaitArrival(toYahoo, yahoo);

        List<Instant> refusals = tss04.refusals();
        // The response rule fires at its second TSS04; only attempts already in flight get one more.
        assertThat(refusals).hasSizeBetween(2, 2 + MAX_CONNECTIONS);
        Instant tripped = refusals.get(1);
        Instant suspendedUntil = tripped.plus(suspension);
        LOGGER.info("Healthy MX hosts: {} alone, {} beside the throttling MX ({} mails sent into James"
                + " in {}). Throttling MX: {} TSS04 replies, suspended at {}, {} connections and {} MAIL commands in"
                + " the {} after it, lifted its block at {}", paceAlone, paceMixed, mixed.size(), sendingTime,
            refusals.size(),
            tripped, tss04.connectionsBetween(tripped, suspendedUntil),
            tss04.mailCommandsBetween(tripped, suspendedUntil), suspension, tss04.end());

        assertThat(tss04.end()).isBefore(suspendedUntil.minus(REACTION));
        assertThat(tss04.connectionsBetween(tripped.plus(REACTION), suspendedUntil)).isZero();
        assertThat(tss04.mailCommandsBetween(tripped.plus(REACTION), suspendedUntil)).isZero();
        // The healthy pace is measured while the throttling MX is suspended and while its held-back mail returns.
        assertThat(paceMixed.from).isBefore(suspendedUntil.minus(suspension.dividedBy(2)));
        assertThat(paceMixed.to).isAfter(suspendedUntil.plus(REACTION));
        // The healthy destinations lose at most a tenth of their pace (running faster beside it would be no fault),
        // and flow control holds none of their mail back. (A burst larger than a lane holds may still wait for
        // their own connection cap: CONNECTION_QUOTA_REACHED, no failed attempt.)
        assertThat(paceMixed.mailsPerSecond).isGreaterThanOrEqualTo(0.9 * paceAlone.mailsPerSecond);
        assertNotHeldBackByFlowControl(deliveredRecords("healthy1.test"));
        assertNotHeldBackByFlowControl(deliveredRecords("healthy2.test"));

        Map<String, DeferralRecord> records = deliveredRecords("yahoo.test");
        assertThat(records).isNotEmpty();
        List<DeferralEvent> events = records.values().stream().flatMap(record -> record.history().stream())
            .collect(Collectors.toList());
        assertThat(events).extracting(DeferralEvent::reason)
            .contains(DeferralReason.SUSPENDED, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .containsOnly(DeferralReason.SUSPENDED, DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(events).filteredOn(event -> event.reason() == DeferralReason.SMTP_TEMPORARY_FAILURE)
            .allSatisfy(event -> {
                assertThat(event.smtpCode()).contains(421);
                assertThat(event.reply()).hasValueSatisfying(reply -> assertThat(reply).contains("[TSS04]"));
            });
        assertThat(events).filteredOn(event -> event.reason() == DeferralReason.SUSPENDED).allSatisfy(event -> {
            assertThat(event.message()).startsWith("Messages queued (destination suspended): mx1.yahoo.test in"
                + " SUSPENDED until ").contains("2 replies matching", "mx-rules.xml:");
            assertThat(event.destination()).isEqualTo("mx1.yahoo.test");
            assertThat(event.rule()).isEqualTo("yahoo-like");
        });
        // Held back locally, never a failed attempt: only the TSS04 itself counts against the retries.
        assertThat(records.values()).allSatisfy(record -> {
            assertThat(record.status()).isEqualTo(DeferralRecord.Status.DELIVERED);
            assertThat(record.failedAttempts()).isLessThanOrEqualTo(1);
        });
        Set<String> suspendedMails = records.entrySet().stream()
            .filter(entry -> entry.getValue().history().stream()
                .anyMatch(event -> event.reason() == DeferralReason.SUSPENDED))
            .map(Map.Entry::getKey).collect(Collectors.toSet());
        assertThat(suspendedMails).isNotEmpty();
        // No mail held back by the suspension came back before it ended.
        assertThat(yahooMessages).filteredOn(message -> suspendedMails.contains(message.messageId().orElseThrow()))
            .allSatisfy(message -> assertThat(message.receivedAt()).isAfterOrEqualTo(suspendedUntil));

        assertEveryMailArrivedOnce(List.of(warmUp, alone, mixed), warm, healthy1, healthy2, yahoo);
    }

    @Test
    void errorRateAboveTheThresholdShouldBackOffToTheBackoffRateAndDeferWithDynamicFlowControl() throws Exception {
        Duration backoff = Duration.ofSeconds(8);
        // Shorter than the backoff, so the failures that started it are forgotten by the time it ends.
        Duration window = Duration.ofSeconds(5);
        int backoffPerHour = 360;
        FakeMxServer healthy = server(FakeMxServer.builder("127.0.0.55").retainContent(false));
        FakeMxServer failing = server(FakeMxServer.builder("127.0.0.54").retainContent(false));
        // Lifted before the backoff ends: from then on only the backoff holds attempts down.
        Outage errors = new Outage(failing::messageCount, 10, Duration.ofSeconds(5),
            "451 4.3.0 Temporary system problem, try again later");
        failing.replyPolicy(errors);
        james = start(Duration.ofSeconds(2), builder -> builder
                .mx("healthy.test", "mx1.healthy.test", healthy)
                .mx("errors.test", "mx1.errors.test", failing),
            "  <rule name=\"errors\" mx=\"*.errors.test\">",
            "    <backoff maxConnections=\"1\" messagesPerHour=\"" + backoffPerHour + "\"/>",
            "    <errorRate minAttempts=\"10\" ratio=\"0.5\" window=\"" + window.toSeconds()
                + "s\" action=\"backoff\"",
            "               duration=\"" + backoff.toSeconds() + "s\"/>",
            "  </rule>");

        List<String> sent = james.sendMails(160, EmbeddedJames.SENDER,
            i -> List.of("user" + i + "@" + (i % 2 == 0 ? "errors.test" : "healthy.test")));
        awaitArrival(everyIndex(sent, i -> i % 2 == 1), healthy);
        List<ReceivedMessage> failingMessages = awaitArrival(everyIndex(sent, i -> i % 2 == 0), failing);

        // The ratio goes above 0.5 at the latest with one failure more than the successes before the outage ended,
        // and not before the first failure: the backoff surely holds from the one until the other's end.
        long successes = failingMessages.stream().filter(message -> message.receivedAt().isBefore(errors.end()))
            .count();
        List<Instant> refusals = errors.refusals();
        assertThat(refusals).hasSizeGreaterThan((int) successes);
        Instant firstRefusal = refusals.get(0);
        Instant tripped = refusals.get((int) successes);
        Instant backedOffUntil = firstRefusal.plus(backoff);
        Duration measured = Duration.between(tripped.plus(REACTION), backedOffUntil);
        // A backoff starts with a minute's share of its hourly rate, then refills at that rate.
        long allowed = backoffPerHour / 60 + (long) Math.ceil(backoffPerHour * measured.toMillis() / 3_600_000.0);
        long before = errors.mailCommandsBetween(firstRefusal.minus(measured), tripped);
        long during = errors.mailCommandsBetween(tripped.plus(REACTION), backedOffUntil);
        LOGGER.info("Failing MX: {} mails accepted before its outage, {} refusals, backed off at the latest at {}, {}"
                + " MAIL commands in the {} before, {} in the {} of backoff (the backoff rate allows {}), lifted its"
                + " block at {}", successes, refusals.size(), tripped, before, measured, during, measured, allowed,
            errors.end());

        assertThat(Duration.between(firstRefusal, tripped)).isLessThanOrEqualTo(window);
        assertThat(errors.end()).isBefore(backedOffUntil.minus(REACTION));
        assertThat(during).isLessThanOrEqualTo(allowed).isLessThan(before);
        assertNotHeldBackByFlowControl(deliveredRecords("healthy.test"));

        Map<String, DeferralRecord> records = deliveredRecords("errors.test");
        List<DeferralEvent> events = records.values().stream().flatMap(record -> record.history().stream())
            .collect(Collectors.toList());
        assertThat(events).extracting(DeferralEvent::reason)
            .contains(DeferralReason.DYNAMIC_FLOW_CONTROL, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .containsOnly(DeferralReason.DYNAMIC_FLOW_CONTROL, DeferralReason.SMTP_TEMPORARY_FAILURE);
        assertThat(events).filteredOn(event -> event.reason() == DeferralReason.SMTP_TEMPORARY_FAILURE)
            .allSatisfy(event -> assertThat(event.enhancedCode()).contains("4.3.0"));
        assertThat(events).filteredOn(event -> event.reason() == DeferralReason.DYNAMIC_FLOW_CONTROL)
            .allSatisfy(event -> {
                assertThat(event.message()).startsWith("Messages queued (dynamic flow control): mx1.errors.test in"
                    + " BACKOFF until ").contains("attempts failed within " + window);
                assertThat(event.rule()).isEqualTo("errors");
            });
        assertThat(records.values()).allSatisfy(record ->
            assertThat(record.status()).isEqualTo(DeferralRecord.Status.DELIVERED));
        Set<String> heldBack = records.entrySet().stream()
            .filter(entry -> entry.getValue().history().stream()
                .anyMatch(event -> event.reason() == DeferralReason.DYNAMIC_FLOW_CONTROL))
            .map(Map.Entry::getKey).collect(Collectors.toSet());
        // Mail held back comes back once the backoff is over.
        assertThat(failingMessages).filteredOn(message -> heldBack.contains(message.messageId().orElseThrow()))
            .isNotEmpty()
            .allSatisfy(message -> assertThat(message.receivedAt()).isAfterOrEqualTo(backedOffUntil));

        assertEveryMailArrivedOnce(List.of(sent), healthy, failing);
    }

    @Test
    void aPermanentThrottlingReplyThatTheRuleDefersShouldHoldTheMailNotBounceIt() throws Exception {
        FakeMxServer qq = server(FakeMxServer.builder("127.0.0.56").retainContent(false));
        // QQ throttles with a 5xx: after 5 mails, every MAIL gets it for 2 s
        Outage frequencyLimited = new Outage(qq::messageCount, 5, Duration.ofSeconds(2),
            "550 Ip frequency limited");
        qq.replyPolicy(frequencyLimited);
        james = start(Duration.ofSeconds(2), builder -> builder.mx("qq.test", "mx1.qq.test", qq),
            "  <rule name=\"qq-like\" mx=\"*.qq.test\">",
            "    <response match=\"550 (Ip|Connection|Domain) frequency limited\" action=\"backoff\"",
            "              duration=\"3s\" deferMail=\"true\"/>",
            "  </rule>");

        List<String> sent = james.sendMails(30, EmbeddedJames.SENDER, i -> List.of("user" + i + "@qq.test"));
        awaitArrival(sent, qq);

        assertThat(frequencyLimited.refusals()).isNotEmpty();
        Map<String, DeferralRecord> records = deliveredRecords("qq.test");
        assertThat(records.values()).extracting(DeferralRecord::status).containsOnly(DeferralRecord.Status.DELIVERED);
        List<DeferralEvent> events = records.values().stream().flatMap(record -> record.history().stream())
            .collect(Collectors.toList());
        assertThat(events).filteredOn(event -> event.reason() == DeferralReason.SMTP_TEMPORARY_FAILURE)
            .isNotEmpty()
            .allSatisfy(event -> {
                assertThat(event.smtpCode()).contains(550);
                assertThat(event.reply()).contains("550 Ip frequency limited");
            });
        assertEveryMailArrivedOnce(List.of(sent), qq);
    }

    /** The Message-IDs sent at the indexes {@code which} accepts, in sending order. */
    private static List<String> everyIndex(List<String> messageIds, IntPredicate which) {
        return IntStream.range(0, messageIds.size()).filter(which).mapToObj(messageIds::get)
            .collect(Collectors.toList());
    }

    private FakeMxServer server(FakeMxServer.Builder builder) {
        FakeMxServer server = builder.start();
        servers.add(server);
        return server;
    }

    /**
     * Starts James with the governed delivery mailet and a rules file whose default rule has
     * {@value #MAX_CONNECTIONS} connections, a one-connection backoff and a 30 s half-open after a suspension,
     * followed by {@code rules}.
     */
    private EmbeddedJames start(Duration maxLaneWait, UnaryOperator<EmbeddedJames.Builder> mxHosts, String... rules)
            throws Exception {
        List<String> lines = new ArrayList<>(List.of(
            "<mx-rules>",
            "  <default maxConnections=\"" + MAX_CONNECTIONS + "\" maxMessagesPerConnection=\"50\""
                + " connectTimeout=\"2s\" commandTimeout=\"5s\" dataTimeout=\"5s\" idleTimeout=\"2s\">",
            "    <backoff maxConnections=\"1\"/>",
            "    <recovery probes=\"5\" halfOpen=\"30s\"/>",
            "  </default>"));
        lines.addAll(Arrays.asList(rules));
        lines.add("</mx-rules>");
        Path rulesFile = temp.resolve("mx-rules.xml");
        Files.writeString(rulesFile, String.join("\n", lines));

        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("delayTime", "500");
        parameters.put("maxRetries", "10");
        parameters.put("maxDnsProblemRetries", "0");
        parameters.put("sendpartial", "true");
        parameters.put("maxLaneWait", maxLaneWait.toMillis() + "ms");
        parameters.put("localDeferralDelay", "500ms");
        parameters.put("deliveryThreads", "32");
        return mxHosts.apply(EmbeddedJames.builder()
                .transportMailets(EmbeddedJames.governedRemoteDelivery(rulesFile, parameters)))
            .start();
    }

    /** Waits until every one of {@code messageIds} reached one of {@code mxHosts}, and returns those messages. */
    private static List<ReceivedMessage> awaitArrival(List<String> messageIds, FakeMxServer... mxHosts) {
        return await().atMost(LONG).until(() -> received(messageIds, mxHosts),
            messages -> messages.size() >= messageIds.size());
    }

    private static List<ReceivedMessage> received(List<String> messageIds, FakeMxServer... mxHosts) {
        Set<String> wanted = new HashSet<>(messageIds);
        return Arrays.stream(mxHosts).flatMap(server -> server.messages().stream())
            .filter(message -> message.messageId().map(wanted::contains).orElse(false))
            .collect(Collectors.toList());
    }

    /**
     * Mails per second over the steady part of a run: from the arrival of its 10th percentile mail to that of its
     * 90th, which leaves out the ramp-up and the tail where the last connections run dry.
     */
    private static final class SteadyPace {
        final Instant from;
        final Instant to;
        final double mailsPerSecond;

        private SteadyPace(Instant from, Instant to, double mailsPerSecond) {
            this.from = from;
            this.to = to;
            this.mailsPerSecond = mailsPerSecond;
        }

        static SteadyPace of(List<ReceivedMessage> messages) {
            List<Instant> arrivals = messages.stream().map(ReceivedMessage::receivedAt).sorted()
                .collect(Collectors.toList());
            int first = arrivals.size() / 10;
            int last = arrivals.size() - 1 - arrivals.size() / 10;
            Instant from = arrivals.get(first);
            Instant to = arrivals.get(last);
            return new SteadyPace(from, to, (last - first) / (Duration.between(from, to).toNanos() / 1e9));
        }

        @Override
        public String toString() {
            return String.format("%.1f mails/s from %s to %s", mailsPerSecond, from, to);
        }
    }

    private void assertEveryMailArrivedOnce(List<List<String>> batches, FakeMxServer... mxHosts) throws Exception {
        List<String> sent = batches.stream().flatMap(List::stream).collect(Collectors.toList());
        List<String> received = Arrays.stream(mxHosts).flatMap(server -> server.messageIds().stream())
            .collect(Collectors.toList());
        assertThat(received).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(sent);
        assertThat(james.repositorySize(BOUNCED)).isZero();
        assertThat(james.repositorySize(EmbeddedJames.ERROR_REPOSITORY)).isZero();
        await().atMost(LONG).until(() -> james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0);
    }

    /** The deferral record of every delivered mail to {@code domain} that has one, by Message-ID. */
    private Map<String, DeferralRecord> deliveredRecords(String domain) throws Exception {
        return james.readMails(DELIVERED, EmbeddedJames.inDomain(domain), mail -> {
            String messageId = mail.getMessage().getMessageID();
            return DeferralAttributes.read(mail).map(record -> Map.entry(messageId, record));
        }).stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (first, second) -> second,
            LinkedHashMap::new));
    }

    /**
     * A fake MX's trouble: once it has accepted {@code afterAccepted} mails it answers {@code reply} to every MAIL
     * command for {@code lasting}, then answers normally again, as a provider lifts a temporary block. Records when
     * each connection and each MAIL command arrived, and when it refused one.
     */
    private static final class Outage implements ReplyPolicy {
        private final IntSupplier accepted;
        private final int afterAccepted;
        private final Duration lasting;
        private final String reply;
        private final Queue<Instant> connections = new ConcurrentLinkedQueue<>();
        private final Queue<Instant> mailCommands = new ConcurrentLinkedQueue<>();
        private final Queue<Instant> refusals = new ConcurrentLinkedQueue<>();
        private volatile Instant end;

        Outage(IntSupplier accepted, int afterAccepted, Duration lasting, String reply) {
            this.accepted = accepted;
            this.afterAccepted = afterAccepted;
            this.lasting = lasting;
            this.reply = reply;
        }

        @Override
        public String replyTo(ClientCommand command) {
            Instant now = Instant.now();
            if (command.stage() == SmtpStage.GREETING) {
                connections.add(now);
                return null;
            }
            if (command.stage() != SmtpStage.MAIL) {
                return null;
            }
            mailCommands.add(now);
            if (accepted.getAsInt() < afterAccepted) {
                return null;
            }
            synchronized (this) {
                if (end == null) {
                    end = now.plus(lasting);
                }
            }
            if (!now.isBefore(end)) {
                return null;
            }
            refusals.add(now);
            return reply;
        }

        /** When the MX answered normally again; null while the outage has not begun. */
        Instant end() {
            return end;
        }

        List<Instant> refusals() {
            return refusals.stream().sorted().collect(Collectors.toList());
        }

        long connectionsBetween(Instant from, Instant to) {
            return between(connections, from, to);
        }

        long mailCommandsBetween(Instant from, Instant to) {
            return between(mailCommands, from, to);
        }

        private static long between(Queue<Instant> instants, Instant from, Instant to) {
            return instants.stream().filter(at -> !at.isBefore(from) && at.isBefore(to)).count();
        }
    }

    private static void assertNotHeldBackByFlowControl(Map<String, DeferralRecord> records) {
        assertThat(records.values()).allSatisfy(record -> {
            assertThat(record.failedAttempts()).isZero();
            assertThat(record.history()).allSatisfy(event ->
                assertThat(event.reason()).isEqualTo(DeferralReason.CONNECTION_QUOTA_REACHED));
        });
    }
}

package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.spy;

import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.james.jmx.DequeueRow;
import io.github.mxgovernor.james.jmx.GovernorBeans;
import io.github.mxgovernor.testing.CountingMx;
import io.github.mxgovernor.testing.MailQueueDouble;
import io.github.mxgovernor.testing.MailQueueDouble.Redelivery;

import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import javax.mail.MessagingException;
import javax.management.openmbean.CompositeData;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.queue.api.MailQueue.MailQueueItem.CompletionStatus;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The governed mailet end to end against a loopback MX that counts what each recipient received, with queues and a
 * mailet context that fail on demand: whatever fails, no recipient receives a mail twice, every queue item is completed
 * exactly once, and failures are tried again after a growing wait rather than in a loop.
 */
class GovernedRemoteDeliveryFaultsTest {
    private static final Duration LONG = Duration.ofSeconds(20);
    /** Steps: 4 tries, 50 ms then doubling to 400 ms, each jittered to between half and all of it. */
    private static final RecoveryTiming FAST = new RecoveryTiming(
        new Backoff(Duration.ofMillis(50), Duration.ofMillis(400), 4),
        new Backoff(Duration.ofMillis(50), Duration.ofMillis(200), 3),
        new Backoff(Duration.ofMillis(50), Duration.ofMillis(500), 0));

    private final CountingMx mx;
    private final JamesLikeDns dns = new JamesLikeDns();
    private final DeliveryLedger ledger = new DeliveryLedger();
    private final FakeMailContext context = spy(FakeMailContext.defaultContext());
    private final Map<String, AtomicInteger> contextFailures = new ConcurrentHashMap<>();
    private final List<String> errorMessages = new CopyOnWriteArrayList<>();
    private final List<GovernedRemoteDelivery> mailets = new ArrayList<>();
    private MailQueueDouble queue;

    GovernedRemoteDeliveryFaultsTest() throws Exception {
        mx = CountingMx.start();
        for (String domain : List.of("a.test", "b.test", "c.test")) {
            dns.mx(domain, "mx." + domain + ":" + mx.port()).address("mx." + domain, "127.0.0.1");
        }
        doAnswer(invocation -> {
            AtomicInteger left = contextFailures.get((String) invocation.getArgument(1));
            if (left != null && left.getAndDecrement() > 0) {
                throw new MessagingException("injected failure of processor " + invocation.getArgument(1));
            }
            if (Mail.ERROR.equals(invocation.getArgument(1))) {
                errorMessages.add(((Mail) invocation.getArgument(0)).getErrorMessage());
            }
            return invocation.callRealMethod();
        }).when(context).sendMail(any(Mail.class), anyString());
    }

    @AfterEach
    void stop() throws Exception {
        for (GovernedRemoteDelivery mailet : mailets) {
            mailet.destroy();
        }
        mx.close();
        if (queue != null) {
            queue.shutdown();
        }
    }

    @ParameterizedTest(name = "{0} queue, {1} failed enqueues")
    @CsvSource({"MEMORY, 1", "MEMORY, 6", "PERSISTENT, 1", "PERSISTENT, 6"})
    void aFailedReEnqueueAfterAPartialDeliveryShouldNotSendTheMailTwice(Redelivery redelivery, int failures)
            throws Exception {
        queue = queue(redelivery).failEnqueues(call -> call >= 2 && call < 2 + failures);
        refuseOnce("y@b.test", "451 4.3.0 try again later");
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test", "y@b.test"));

        await().atMost(LONG).until(() -> mx.count("<m1@test>", "y@b.test") == 1);
        assertDeliveredOnce("m1", "x@a.test", "y@b.test");
        assertEveryItemCompletedOnce();
        assertBacksOff(queue.failedEnqueueNanos(), failures);
    }

    @ParameterizedTest(name = "{0} queue, {1} failed bounces")
    @CsvSource({"MEMORY, 1", "MEMORY, 6", "PERSISTENT, 1", "PERSISTENT, 6"})
    void aFailedBounceAfterAPartialDeliveryShouldNotSendTheMailTwice(Redelivery redelivery, int failures)
            throws Exception {
        queue = queue(redelivery);
        mx.rcptPolicy(recipient -> recipient.equals("z@b.test") ? "550 5.1.1 no such user" : null);
        contextFailures.put("bounces", new AtomicInteger(failures));
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test", "z@b.test"));

        await().atMost(LONG).until(() -> sentTo("bounces").size() == 1);
        assertThat(sentTo("bounces").get(0)).containsExactly("z@b.test");
        assertDeliveredOnce("m1", "x@a.test");
        assertEveryItemCompletedOnce();
        assertThat(sentTo("bounces")).hasSize(1);
    }

    @ParameterizedTest(name = "{0} queue, {1} failed copies")
    @CsvSource({"MEMORY, 1", "MEMORY, 6", "PERSISTENT, 1", "PERSISTENT, 6"})
    void aFailedOnSuccessCopyShouldNotSendTheMailTwice(Redelivery redelivery, int failures) throws Exception {
        queue = queue(redelivery);
        contextFailures.put("delivered", new AtomicInteger(failures));
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test", "y@b.test"));

        await().atMost(LONG).until(() -> sentTo("delivered").stream().mapToInt(List::size).sum() == 2);
        assertDeliveredOnce("m1", "x@a.test", "y@b.test");
        assertEveryItemCompletedOnce();
        assertThat(sentTo("delivered").stream().flatMap(List::stream).collect(Collectors.toList()))
            .containsExactlyInAnyOrder("x@a.test", "y@b.test");
    }

    @ParameterizedTest(name = "{0} queue")
    @EnumSource(Redelivery.class)
    void aFailedAcknowledgementShouldBeTriedAgainAlone(Redelivery redelivery) throws Exception {
        queue = queue(redelivery).failDone(CompletionStatus.SUCCESS, 2);
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test", "y@b.test"));

        await().atMost(LONG).until(() -> queue.size() == 0);
        assertDeliveredOnce("m1", "x@a.test", "y@b.test");
        assertEveryItemCompletedOnce();
        assertThat(queue.completions()).containsExactly(Map.entry("SUCCESS", 1));
    }

    @Test
    void serviceShouldTryARefusedEnqueueAgainThenLetJamesErrorPathApply() throws Exception {
        queue = queue(Redelivery.MEMORY).failEnqueues(call -> call == 1 || call >= 3);
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test"));

        assertThat(queue.failedEnqueueNanos()).hasSize(1);
        await().atMost(LONG).until(() -> mx.count("<m1@test>", "x@a.test") == 1);
        Mail refused = mail("m2", "x@a.test");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> mailet.service(refused))
            .isInstanceOf(MessagingException.class).hasMessageContaining("injected enqueue failure #5");
        assertThat(refused.getState()).isNotEqualTo(Mail.GHOST);
    }

    @Test
    void anItemWhoseAcknowledgementKeepsFailingShouldBeAcknowledgedWithoutSendingWhenTheQueueGivesItAgain()
            throws Exception {
        queue = queue(Redelivery.PERSISTENT).failDone(CompletionStatus.SUCCESS, FAST.steps().maxTries());
        GovernedRemoteDelivery mailet = start();
        mailet.service(mail("m1", "x@a.test", "y@b.test"));
        await().atMost(LONG).until(() -> mx.deliveries() == 2 && queue.openItems().size() == 1
            && mailet.dequeueState().getInFlight() == 0);

        queue.breakConsumers();

        await().atMost(LONG).until(() -> queue.size() == 0);
        assertDeliveredOnce("m1", "x@a.test", "y@b.test");
        assertThat(queue.handedOut()).isEqualTo(2);
        assertThat(mailet.dequeueState().getErrors()).isEqualTo(1);
    }

    @Test
    void destroyShouldCompleteEveryItemOnceAndSendNothingAfterItReturnsAndANewMailetShouldDeliverTheRest()
            throws Exception {
        queue = queue(Redelivery.PERSISTENT);
        mx.holdAtMail(sender -> sender.startsWith("slow"));
        GovernedRemoteDelivery first = start();
        List<String> recipients = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String recipient = "r" + i + "@a.test";
            recipients.add(recipient);
            first.service(mail("m" + i, (i % 2 == 0 ? "slow" : "fast") + "@local.test", List.of(recipient)));
        }
        await().atMost(LONG).until(() -> mx.deliveries() == 6 && mx.held() >= 1);

        first.destroy();
        mailets.remove(first);
        long returned = System.nanoTime();
        int commandsThen = mx.commandCount();

        assertThat(queue.openItems()).isEmpty();
        assertThat(queue.abandonedItems()).isEmpty();
        assertThat(queue.itemsCompletedMoreThanOnce()).isEmpty();
        mx.release();
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() ->
            mx.commandCount() == commandsThen && mx.lastCommandNanos() < returned);

        start();
        await().atMost(LONG).until(() -> mx.deliveries() == 12);
        for (int i = 0; i < 12; i++) {
            assertThat(mx.count("<m" + i + "@test>", recipients.get(i))).as("m" + i).isEqualTo(1);
        }
        await().atMost(LONG).until(() -> queue.size() == 0);
        assertEveryItemCompletedOnce();
    }

    @Test
    void anUnreadableMessageShouldBeReadAgainAFewTimesApartThenGoToTheErrorProcessor() throws Exception {
        queue = queue(Redelivery.PERSISTENT);
        List<Long> reads = new CopyOnWriteArrayList<>();
        queue.handOutAs(mail -> {
            Mail unreadable = spy(mail);
            try {
                doAnswer(invocation -> {
                    reads.add(System.nanoTime());
                    throw new MessagingException("the message's blob cannot be loaded");
                }).when(unreadable).getMessage();
            } catch (MessagingException e) {
                throw new IllegalStateException(e);
            }
            return unreadable;
        });
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "x@a.test"));

        await().atMost(LONG).until(() -> sentTo(Mail.ERROR).size() == 1);
        await().atMost(LONG).until(() -> queue.size() == 0);
        assertThat(sentTo(Mail.ERROR).get(0)).containsExactly("x@a.test");
        assertThat(queue.handedOut()).isEqualTo(1);
        // the tries to read it, then the error processor's copy, which cannot take the message either
        assertThat(reads).hasSize(FAST.unreadable().maxTries() + 1);
        assertBacksOff(reads.subList(0, FAST.unreadable().maxTries()), FAST.unreadable().maxTries());
        assertThat(errorMessages).singleElement().asString()
            .startsWith("mx-governor: the message cannot be read (3 tries): javax.mail.MessagingException: the message's"
                + " blob cannot be loaded");
        assertEveryItemCompletedOnce();
    }

    @Test
    void aDequeueStreamErrorShouldSubscribeAgainAndShowOnTheGovernorBean() throws Exception {
        queue = queue(Redelivery.MEMORY).failDequeueAfter(1);
        GovernedRemoteDelivery mailet = start();

        for (int i = 0; i < 3; i++) {
            mailet.service(mail("m" + i, "r" + i + "@a.test"));
        }

        await().atMost(LONG).until(() -> mx.deliveries() == 3);
        for (int i = 0; i < 3; i++) {
            assertThat(mx.count("<m" + i + "@test>", "r" + i + "@a.test")).isEqualTo(1);
        }
        DequeueRow state = mailet.dequeueState();
        assertThat(state.getErrors()).isEqualTo(1);
        assertThat(state.getLastError()).contains("injected dequeue failure");
        assertThat(state.getState()).isEqualTo("RUNNING");
        CompositeData[] rows = (CompositeData[]) ManagementFactory.getPlatformMBeanServer()
            .getAttribute(GovernorBeans.governorName(), "DequeueStates");
        assertThat(rows).extracting(row -> row.get("errors")).containsExactly(1L);
        assertThat(rows).extracting(row -> row.get("queue")).containsExactly("outgoing");
    }

    @Test
    void aTemporaryFailureLookingUpTheMxHostsAddressShouldDeferNotBounce() throws Exception {
        queue = queue(Redelivery.MEMORY);
        dns.tryAgain("mx.c.test");
        GovernedRemoteDelivery mailet = start();

        mailet.service(mail("m1", "u@c.test"));

        await().atMost(LONG).until(() -> queue.storedMails().stream().map(DeferralAttributes::read)
            .anyMatch(record -> record.map(DeferralRecord::reason).orElse(null)
                == DeferralReason.DNS_TEMPORARY_FAILURE));
        assertThat(sentTo("bounces")).isEmpty();

        dns.answerAgain("mx.c.test");

        await().atMost(LONG).until(() -> mx.count("<m1@test>", "u@c.test") == 1);
        assertThat(sentTo("bounces")).isEmpty();
    }

    private MailQueueDouble queue(Redelivery redelivery) {
        return redelivery == Redelivery.MEMORY ? MailQueueDouble.memory("outgoing")
            : MailQueueDouble.persistent("outgoing");
    }

    private void refuseOnce(String address, String reply) {
        Set<String> refused = ConcurrentHashMap.newKeySet();
        mx.rcptPolicy(recipient -> recipient.equals(address) && refused.add(recipient) ? reply : null);
    }

    private GovernedRemoteDelivery start() throws MessagingException {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("heloName", "james.local");
        parameters.put("delayTime", "200");
        parameters.put("maxRetries", "5");
        parameters.put("sendpartial", "true");
        parameters.put("bounceProcessor", "bounces");
        parameters.put("onSuccess", "delivered");
        parameters.put("maxLaneWait", "2s");
        parameters.put("localDeferralDelay", "200ms");
        parameters.put("deliveryThreads", "8");
        parameters.put("mtaSts", "false");
        parameters.put("shutdownGrace", "500ms");
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("GovernedRemoteDelivery")
            .mailetContext(context);
        parameters.forEach(config::setProperty);
        GovernedRemoteDelivery mailet = new GovernedRemoteDelivery(dns, mock(DomainList.class), queue.factory(),
            mock(FileSystem.class), new RecordingMetricFactory(), Clock.systemUTC(), FAST, ledger);
        mailet.init(config.build());
        mailets.add(mailet);
        return mailet;
    }

    private static Mail mail(String name, String... recipients) throws MessagingException {
        return mail(name, "sender@local.test", List.of(recipients));
    }

    private static Mail mail(String name, String sender, List<String> recipients) throws MessagingException {
        List<MailAddress> addresses = new ArrayList<>();
        for (String recipient : recipients) {
            addresses.add(new MailAddress(recipient));
        }
        return FakeMail.builder().name(name).sender(sender).recipients(addresses)
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("test " + name).setText("body")
                .addHeader("Message-ID", "<" + name + "@test>")).build();
    }

    /** The recipients of each mail sent to a processor, in order. */
    private List<List<String>> sentTo(String state) {
        List<List<String>> sent = new ArrayList<>();
        for (FakeMailContext.SentMail mail : context.getSentMails()) {
            if (mail.getState().equals(state)) {
                sent.add(mail.getRecipients().stream().map(MailAddress::asString).collect(Collectors.toList()));
            }
        }
        return sent;
    }

    /** Each recipient received the mail once, and still has once a moment later. */
    private void assertDeliveredOnce(String name, String... recipients) {
        String messageId = "<" + name + "@test>";
        await().atMost(LONG).until(() -> {
            for (String recipient : recipients) {
                if (mx.count(messageId, recipient) == 0) {
                    return false;
                }
            }
            return true;
        });
        await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(3)).until(() -> {
            for (String recipient : recipients) {
                if (mx.count(messageId, recipient) != 1) {
                    return false;
                }
            }
            return true;
        });
        Set<String> expected = new HashSet<>();
        for (String recipient : recipients) {
            expected.add(messageId + " " + recipient);
        }
        assertThat(mx.receipts().keySet()).containsExactlyInAnyOrderElementsOf(expected);
    }

    private void assertEveryItemCompletedOnce() {
        await().atMost(LONG).until(() -> queue.size() == 0 && queue.openItems().isEmpty());
        assertThat(queue.itemsCompletedMoreThanOnce()).isEmpty();
        assertThat(queue.abandonedItems()).isEmpty();
    }

    /** Failed tries come apart, at least half the first backoff, and the waits grow. */
    private static void assertBacksOff(List<Long> failureNanos, int failures) {
        assertThat(failureNanos).hasSize(failures);
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < failureNanos.size(); i++) {
            gaps.add((failureNanos.get(i) - failureNanos.get(i - 1)) / 1_000_000);
        }
        assertThat(gaps).allSatisfy(gap -> assertThat(gap).isGreaterThanOrEqualTo(25));
        if (gaps.size() >= 3) {
            assertThat(gaps.get(gaps.size() - 1)).isGreaterThan(Collections.min(gaps.subList(0, 1)));
        }
    }
}

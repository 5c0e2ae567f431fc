package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.inject.Singleton;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.memory.MemoryMailQueueFactory;
import org.apache.mailet.Mail;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reactivestreams.Publisher;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;

import reactor.core.publisher.Mono;

/**
 * Exactly once under faults, in a real (embedded) James: James's memory queue behind a wrapper that makes every 50th
 * enqueue on the outgoing queue fail, and an MX that refuses some recipients of each mail with a 451 the first time.
 * Every recipient must receive each mail exactly once.
 */
class FailingQueueIT {
    private static final int MAILS = 2000;
    private static final int FAIL_EVERY = 50;
    private static final Duration LONG = Duration.ofSeconds(60);

    @TempDir
    static Path temp;

    private static final Set<String> refusedOnce = ConcurrentHashMap.newKeySet();
    private static final AtomicReference<FailingEnqueues> factory = new AtomicReference<>();
    private static FakeMxServer first;
    private static FakeMxServer second;
    private static EmbeddedJames james;

    @BeforeAll
    static void start() throws Exception {
        ReplyPolicy refuseEvenMailsOnce = ReplyPolicy.at(SmtpStage.RCPT, command -> command.address()
            .filter(address -> address.startsWith("b") && Integer.parseInt(address.substring(1,
                address.indexOf('@'))) % 2 == 0)
            .map(refusedOnce::add).orElse(false), "451 4.3.0 try again later");
        first = FakeMxServer.builder("127.0.0.71").retainContent(false).replyPolicy(refuseEvenMailsOnce).start();
        second = FakeMxServer.builder("127.0.0.72").retainContent(false).start();
        Path rules = temp.resolve("mx-rules.xml");
        Files.writeString(rules, "<mx-rules>\n  <default maxConnections=\"8\" maxMessagesPerConnection=\"100\""
            + " connectTimeout=\"2s\" commandTimeout=\"5s\" dataTimeout=\"5s\" idleTimeout=\"2s\">\n"
            // half the attempts to two.test are refused once by design: the error window would back it off for 15 min
            + "    <errorRate enabled=\"false\"/>\n  </default>\n</mx-rules>\n");
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("delayTime", "300");
        parameters.put("maxRetries", "5");
        parameters.put("sendpartial", "true");
        parameters.put("maxLaneWait", "5s");
        parameters.put("localDeferralDelay", "300ms");
        parameters.put("deliveryThreads", "32");
        parameters.put("mtaSts", "false");
        james = EmbeddedJames.builder()
            .transportMailets(EmbeddedJames.governedRemoteDelivery(rules, parameters))
            .mx("one.test", "mx1.one.test", first)
            .mx("two.test", "mx1.two.test", first)
            .mx("three.test", "mx1.three.test", second)
            .override(new AbstractModule() {
                @Provides
                @Singleton
                MailQueueFactory<?> failingEveryFiftiethEnqueue(MemoryMailQueueFactory memory) {
                    FailingEnqueues failing = new FailingEnqueues(memory, EmbeddedJames.OUTGOING_QUEUE, FAIL_EVERY);
                    factory.set(failing);
                    return failing;
                }
            })
            .start();
    }

    @AfterAll
    static void stop() {
        if (james != null) {
            james.close();
        }
        for (FakeMxServer server : new FakeMxServer[] {first, second}) {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    void everyRecipientShouldReceiveEachMailExactlyOnceWhenTheQueueFailsEveryFiftiethEnqueue() throws Exception {
        List<String> sent = james.sendMails(MAILS, EmbeddedJames.SENDER,
            i -> List.of("a" + i + "@one.test", "b" + i + "@two.test", "c" + i + "@three.test"));

        await().atMost(LONG).until(() -> receipts(first).size() + receipts(second).size() >= 3 * MAILS
            && james.queueSize(EmbeddedJames.OUTGOING_QUEUE) == 0);

        Map<String, Integer> received = new HashMap<>(receipts(first));
        receipts(second).forEach((pair, count) -> received.merge(pair, count, Integer::sum));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < MAILS; i++) {
            for (String recipient : List.of("a" + i + "@one.test", "b" + i + "@two.test", "c" + i + "@three.test")) {
                expected.add(sent.get(i) + " " + recipient);
            }
        }
        assertThat(received.keySet()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(received.entrySet()).filteredOn(entry -> entry.getValue() != 1).isEmpty();
        assertThat(refusedOnce).hasSize(MAILS / 2);
        assertThat(factory.get().failures()).isGreaterThanOrEqualTo((MAILS + MAILS / 2) / FAIL_EVERY);
        assertThat(james.repositorySize(EmbeddedJames.ERROR_REPOSITORY)).isZero();
    }

    /** How many times each recipient received each Message-ID. */
    private static Map<String, Integer> receipts(FakeMxServer server) {
        Map<String, Integer> receipts = new HashMap<>();
        for (ReceivedMessage message : server.messages()) {
            String messageId = message.messageId().orElse("<none>");
            for (String recipient : message.recipients()) {
                receipts.merge(messageId + " " + recipient, 1, Integer::sum);
            }
        }
        return receipts;
    }

    /** James's memory queues, with every n-th enqueue on one queue failing. */
    private static final class FailingEnqueues implements MailQueueFactory<MailQueue> {
        private final MemoryMailQueueFactory memory;
        private final String failing;
        private final int every;
        private final AtomicInteger enqueues = new AtomicInteger();
        private final AtomicInteger failures = new AtomicInteger();

        FailingEnqueues(MemoryMailQueueFactory memory, String failing, int every) {
            this.memory = memory;
            this.failing = failing;
            this.every = every;
        }

        int failures() {
            return failures.get();
        }

        @Override
        public Optional<MailQueue> getQueue(MailQueueName name, PrefetchCount count) {
            return memory.getQueue(name, count).map(queue -> wrap(name, queue));
        }

        @Override
        public MailQueue createQueue(MailQueueName name, PrefetchCount count) {
            return wrap(name, memory.createQueue(name, count));
        }

        @Override
        public Set<MailQueueName> listCreatedMailQueues() {
            return memory.listCreatedMailQueues();
        }

        private MailQueue wrap(MailQueueName name, MailQueue queue) {
            return name.asString().equals(failing) ? new Failing(queue) : queue;
        }

        private final class Failing implements MailQueue {
            private final MailQueue queue;

            Failing(MailQueue queue) {
                this.queue = queue;
            }

            @Override
            public MailQueueName getName() {
                return queue.getName();
            }

            @Override
            public void enQueue(Mail mail, Duration delay) throws MailQueueException {
                check(mail);
                queue.enQueue(mail, delay);
            }

            @Override
            public void enQueue(Mail mail) throws MailQueueException {
                check(mail);
                queue.enQueue(mail);
            }

            @Override
            public Publisher<Void> enqueueReactive(Mail mail) {
                return Mono.fromCallable(() -> {
                    enQueue(mail);
                    return true;
                }).then();
            }

            @Override
            public Publisher<MailQueueItem> deQueue() {
                return queue.deQueue();
            }

            @Override
            public void close() {
                try {
                    queue.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }

            private void check(Mail mail) throws MailQueueException {
                if (enqueues.incrementAndGet() % every == 0) {
                    failures.incrementAndGet();
                    throw new MailQueueException("injected failure of enqueue #" + enqueues.get() + " ("
                        + mail.getName() + ")");
                }
            }
        }
    }
}

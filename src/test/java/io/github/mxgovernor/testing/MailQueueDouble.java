package io.github.mxgovernor.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import javax.mail.MessagingException;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;

import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;

/**
 * A {@link MailQueue} for tests that behaves like one of James's queues and fails on demand.
 *
 * <p>{@link Redelivery#MEMORY} is James's memory queue: {@code done(RETRY)} puts the mail object back as the consumer
 * left it, at once. {@link Redelivery#PERSISTENT} is a broker (ActiveMQ, RabbitMQ): the queue stores a copy of each
 * mail; {@code done(RETRY)}, and the end of the subscription an unacknowledged item was taken by, make the stored
 * original due again, with none of the consumer's changes; an item whose subscription ended cannot be acknowledged
 * any more (RabbitMQ's channel is closed).
 *
 * <p>Faults: enqueues that throw (by call number), {@code done()} that throws, a dequeue stream that errors. Every
 * item handed out is kept with its {@code done()} calls, so a test can check each was completed exactly once.
 *
 * <p>James's RabbitMQ queue: {@link #persistent} with {@link #ignoreDelays()} (every enqueue is published at once) and
 * {@link #redeliverUnacknowledgedAfter} (RabbitMQ's {@code consumer_timeout}: an item not acknowledged in time is given
 * again, and its first taker can no longer complete it). Enqueues are counted per mail name (publishes).
 */
public final class MailQueueDouble implements MailQueue {
    /** What the queue gives back after {@code done(RETRY)}, or when an unacknowledged item's consumer goes away. */
    public enum Redelivery { MEMORY, PERSISTENT }

    private final MailQueueName name;
    private final Redelivery redelivery;
    private final ScheduledExecutorService pump;
    private final List<Stored> stored = new ArrayList<>();
    private final List<Item> handedOut = new ArrayList<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private final List<Long> failedEnqueueNanos = new ArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    private IntPredicate enqueueFails = call -> false;
    private int enqueueCalls;
    private int doneFailures;
    private MailQueue.MailQueueItem.CompletionStatus doneFailing;
    private int dequeueErrorAfter = -1;
    private int dequeueErrors;
    private boolean ignoreDelays;
    private UnaryOperator<Mail> handOutAs = mail -> mail;
    private final Map<String, Integer> enqueuesByName = new LinkedHashMap<>();
    private long ackTimeoutNanos = -1;
    private int timedOut;

    private MailQueueDouble(String name, Redelivery redelivery) {
        this.name = MailQueueName.of(name);
        this.redelivery = redelivery;
        this.pump = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "mail-queue-double");
            thread.setDaemon(true);
            return thread;
        });
        pump.scheduleWithFixedDelay(this::pump, 5, 5, TimeUnit.MILLISECONDS);
    }

    public static MailQueueDouble memory(String name) {
        return new MailQueueDouble(name, Redelivery.MEMORY);
    }

    public static MailQueueDouble persistent(String name) {
        return new MailQueueDouble(name, Redelivery.PERSISTENT);
    }

    /** A factory handing out this queue whatever the name asked. */
    public MailQueueFactory<MailQueueDouble> factory() {
        MailQueueDouble queue = this;
        return new MailQueueFactory<>() {
            @Override
            public Optional<MailQueueDouble> getQueue(MailQueueName queueName, PrefetchCount count) {
                return Optional.of(queue);
            }

            @Override
            public MailQueueDouble createQueue(MailQueueName queueName, PrefetchCount count) {
                return queue;
            }

            @Override
            public Set<MailQueueName> listCreatedMailQueues() {
                return Set.of(name);
            }
        };
    }

    /** Enqueue calls whose number (from 1, counting every call from now on) the predicate accepts throw. */
    public synchronized MailQueueDouble failEnqueues(IntPredicate calls) {
        this.enqueueFails = calls;
        this.enqueueCalls = 0;
        return this;
    }

    /** The next {@code times} calls of {@code done(status)} throw. */
    public synchronized MailQueueDouble failDone(MailQueue.MailQueueItem.CompletionStatus status, int times) {
        this.doneFailing = status;
        this.doneFailures = times;
        return this;
    }

    /** The dequeue stream of the consumer errors once it has handed out {@code items} more items. */
    public synchronized MailQueueDouble failDequeueAfter(int items) {
        this.dequeueErrorAfter = items;
        return this;
    }

    /** Hands out each mail as the operator makes it (a mail whose message cannot be read, say). */
    public synchronized MailQueueDouble handOutAs(UnaryOperator<Mail> decorator) {
        this.handOutAs = decorator;
        return this;
    }

    /** Ends every consumer's dequeue stream with an error, as a lost broker connection does. */
    public void breakConsumers() {
        List<Consumer> broken;
        synchronized (this) {
            broken = new ArrayList<>(consumers);
            dequeueErrors += broken.size();
            broken.forEach(consumer -> consumer.ended = true);
        }
        for (Consumer consumer : broken) {
            consumer.sink.error(new MailQueueException("injected loss of the broker connection"));
        }
    }

    /** Makes enqueued mail due at once whatever its delay, as James's RabbitMQ queue does. */
    public synchronized MailQueueDouble ignoreDelays() {
        this.ignoreDelays = true;
        return this;
    }

    /**
     * Gives again an item not completed within {@code timeout} of being handed out, as RabbitMQ does past its
     * {@code consumer_timeout} (30 minutes by default): the channel is closed, the item requeued, and the first taker's
     * {@code done()} fails.
     */
    public synchronized MailQueueDouble redeliverUnacknowledgedAfter(Duration timeout) {
        this.ackTimeoutNanos = timeout.toNanos();
        return this;
    }

    /** Items given again because they were not completed within the timeout. */
    public synchronized int redeliveredForTimeout() {
        return timedOut;
    }

    /** Successful enqueues (publishes) of mails with this name, copies put back to wait included. */
    public synchronized int enqueues(String mailName) {
        return enqueuesByName.getOrDefault(mailName, 0);
    }

    /** Successful enqueues so far, by mail name. */
    public synchronized Map<String, Integer> enqueuesByName() {
        return new LinkedHashMap<>(enqueuesByName);
    }

    @Override
    public MailQueueName getName() {
        return name;
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        synchronized (this) {
            enqueueCalls++;
            if (enqueueFails.test(enqueueCalls)) {
                failedEnqueueNanos.add(System.nanoTime());
                throw new MailQueueException("injected enqueue failure #" + enqueueCalls + " of " + mail.getName());
            }
            long readyAt = System.nanoTime() + (ignoreDelays || delay.isNegative() ? 0 : delay.toNanos());
            stored.add(new Stored(ids.incrementAndGet(), copy(mail), readyAt));
            enqueuesByName.merge(mail.getName(), 1, Integer::sum);
        }
        pump.execute(this::pump);
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        enQueue(mail, Duration.ZERO);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return Mono.fromRunnable(() -> {
            try {
                enQueue(mail);
            } catch (MailQueueException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return Flux.create(sink -> {
            Consumer consumer = new Consumer(sink);
            synchronized (this) {
                consumers.add(consumer);
            }
            sink.onRequest(n -> pump.execute(this::pump));
            sink.onDispose(() -> end(consumer));
        }, FluxSink.OverflowStrategy.BUFFER);
    }

    @Override
    public void close() {
        // the queue outlives the mailets that use it, as a broker does
    }

    /** Stops the pump thread. */
    public void shutdown() {
        pump.shutdownNow();
    }

    /** Mails stored and not acknowledged, taken or not. */
    public synchronized int size() {
        return (int) stored.stream().filter(entry -> !entry.removed).count();
    }

    /** Items handed out and not completed (neither acknowledged nor handed back nor lost with their consumer). */
    public synchronized List<String> openItems() {
        return handedOut.stream().filter(item -> item.effective == null && !item.stale)
            .map(Item::describe).collect(Collectors.toList());
    }

    /** Items whose consumer went away before completing them (the queue gives their mail again). */
    public synchronized List<String> abandonedItems() {
        return handedOut.stream().filter(item -> item.stale).map(Item::describe).collect(Collectors.toList());
    }

    /** Items completed more than once, or acknowledged again after their completion. */
    public synchronized List<String> itemsCompletedMoreThanOnce() {
        return handedOut.stream().filter(item -> item.effectiveCount > 1 || item.callsAfterEffective > 0)
            .map(Item::describe).collect(Collectors.toList());
    }

    /** How many items were handed out so far. */
    public synchronized int handedOut() {
        return handedOut.size();
    }

    /** Completions by status, over every item. */
    public synchronized Map<String, Integer> completions() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Item item : handedOut) {
            if (item.effective != null) {
                counts.merge(item.effective.name(), item.effectiveCount, Integer::sum);
            }
        }
        return counts;
    }

    /** {@link System#nanoTime()} of each enqueue that failed. */
    public synchronized List<Long> failedEnqueueNanos() {
        return List.copyOf(failedEnqueueNanos);
    }

    public synchronized int dequeueErrors() {
        return dequeueErrors;
    }

    /** The stored mails not acknowledged, as the queue holds them. */
    public synchronized List<Mail> storedMails() {
        return stored.stream().filter(entry -> !entry.removed).map(entry -> entry.original)
            .collect(Collectors.toList());
    }

    private static Mail copy(Mail mail) throws MailQueueException {
        try {
            MailImpl copy = MailImpl.duplicate(mail);
            copy.setName(mail.getName());
            copy.setState(mail.getState());
            return copy;
        } catch (MessagingException e) {
            throw new MailQueueException("cannot store " + mail.getName(), e);
        }
    }

    private void pump() {
        List<Runnable> signals = new ArrayList<>();
        synchronized (this) {
            long now = System.nanoTime();
            if (ackTimeoutNanos >= 0) {
                for (Item item : handedOut) {
                    if (item.effective == null && !item.stale && now - item.handedOutNanos > ackTimeoutNanos) {
                        item.stale = true;
                        item.entry.taken = false;
                        timedOut++;
                    }
                }
            }
            for (Consumer consumer : consumers) {
                if (consumer.ended) {
                    continue;
                }
                long budget = consumer.sink.requestedFromDownstream();
                for (Iterator<Stored> it = stored.iterator(); it.hasNext() && budget > 0; ) {
                    Stored entry = it.next();
                    if (entry.removed || entry.taken || entry.readyAt > now) {
                        continue;
                    }
                    if (dequeueErrorAfter == 0) {
                        dequeueErrorAfter = -1;
                        dequeueErrors++;
                        consumer.ended = true;
                        signals.add(() -> consumer.sink.error(new MailQueueException("injected dequeue failure")));
                        break;
                    }
                    if (dequeueErrorAfter > 0) {
                        dequeueErrorAfter--;
                    }
                    Item item;
                    try {
                        item = new Item(entry, handOutAs.apply(copy(entry.original)), consumer);
                    } catch (MailQueueException e) {
                        throw new IllegalStateException(e);
                    }
                    entry.taken = true;
                    handedOut.add(item);
                    budget--;
                    signals.add(() -> consumer.sink.next(item));
                }
            }
        }
        signals.forEach(Runnable::run);
    }

    private void end(Consumer consumer) {
        synchronized (this) {
            consumer.ended = true;
            consumers.remove(consumer);
            for (Iterator<Item> it = handedOut.iterator(); it.hasNext(); ) {
                Item item = it.next();
                if (item.consumer != consumer || item.effective != null) {
                    continue;
                }
                if (!item.seen) {
                    // emitted as the subscription was cancelled: Reactor dropped it, the consumer never had it
                    it.remove();
                    item.entry.taken = false;
                } else if (redelivery == Redelivery.PERSISTENT) {
                    item.stale = true;
                    item.entry.taken = false;
                }
            }
        }
        pump.execute(this::pump);
    }

    private void done(Item item, MailQueueItem.CompletionStatus status) throws MailQueueException {
        synchronized (this) {
            item.calls.add(status.name());
            if (item.effective != null) {
                item.callsAfterEffective++;
            }
            if (doneFailures > 0 && doneFailing == status) {
                doneFailures--;
                item.calls.add("failed");
                throw new MailQueueException("injected failure of done(" + status + ") for " + item.mail.getName());
            }
            if (item.stale) {
                throw new MailQueueException("the consumer that took " + item.mail.getName() + " is gone");
            }
            if (item.effective == null) {
                item.effective = status;
            }
            item.effectiveCount++;
            switch (status) {
                case SUCCESS:
                case REJECT:
                    item.entry.removed = true;
                    break;
                case RETRY:
                default:
                    if (redelivery == Redelivery.MEMORY) {
                        item.entry.removed = true;
                        stored.add(new Stored(ids.incrementAndGet(), copy(item.mail), System.nanoTime()));
                    } else {
                        item.entry.taken = false;
                        item.entry.readyAt = System.nanoTime();
                    }
                    break;
            }
        }
        pump.execute(this::pump);
    }

    private static final class Stored {
        final long id;
        final Mail original;
        long readyAt;
        boolean taken;
        boolean removed;

        Stored(long id, Mail original, long readyAt) {
            this.id = id;
            this.original = original;
            this.readyAt = readyAt;
        }
    }

    private final class Consumer {
        final FluxSink<MailQueueItem> sink;
        boolean ended;

        Consumer(FluxSink<MailQueueItem> sink) {
            this.sink = sink;
        }
    }

    private final class Item implements MailQueueItem {
        final Stored entry;
        final Mail mail;
        final Consumer consumer;
        final List<String> calls = new ArrayList<>();
        final long handedOutNanos = System.nanoTime();
        CompletionStatus effective;
        volatile boolean seen;
        int effectiveCount;
        int callsAfterEffective;
        boolean stale;

        Item(Stored entry, Mail mail, Consumer consumer) {
            this.entry = entry;
            this.mail = mail;
            this.consumer = consumer;
        }

        @Override
        public Mail getMail() {
            seen = true;
            return mail;
        }

        @Override
        public void done(CompletionStatus status) throws MailQueueException {
            seen = true;
            MailQueueDouble.this.done(this, status);
        }

        String describe() {
            return mail.getName() + "#" + entry.id + " " + mail.getRecipients() + " " + calls;
        }
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.waiting.FlowControlRelease;
import io.github.mxgovernor.waiting.ReleaseLeases;
import io.github.mxgovernor.waiting.ReleaseLoop;
import io.github.mxgovernor.waiting.WaitingCount;
import io.github.mxgovernor.waiting.WaitingIndex;
import io.github.mxgovernor.waiting.WaitingKey;
import io.github.mxgovernor.waiting.WaitingMail;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.mail.MessagingException;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a governed mailet's deferred mail waits instead of the outgoing queue: a James mail repository, indexed in
 * memory by due time, from which a {@link ReleaseLoop} puts each mail back on the queue when it is due.
 *
 * <p><b>When a mail waits here</b> ({@link #holds}): when the queue does not honour delays (James's RabbitMQ queue
 * publishes at once whatever the delay: a deferred mail would come straight back, again and again until due), any wait
 * longer than a second; on any other queue, waits longer than {@code waitingThreshold}.
 *
 * <p><b>Storing</b> ({@link #store}) happens as one step of the mail's end, so its queue item is acknowledged only
 * after the copy is stored. The copy is stored under a {@link WaitingKey}, named after the queue entry it came from and
 * its recipients: should the queue give that entry again (a crash between the store and the acknowledgement), its
 * record says it is early, it is stored again under the same key, and it does not wait twice. The copy keeps its
 * deferral record, which says where it waits ({@link DeferralAttributes#WAITING_IN}), and its name in
 * {@value #WAITING_NAME_TEXT}.
 *
 * <p><b>Releasing</b> reads the mail, gives it back its name, says in its record that it left (a release before its
 * time brings {@code nextAttemptAt} to now), stamps it as a queue entry of its own (its key), puts it on the queue, and
 * only then removes it from the repository: a crash between the two leaves it to be released again at start, and the
 * {@link DeliveryLedger} acknowledges the second copy without sending it as long as the JVM runs. A mail whose
 * removal fails is not put on the queue again; only its removal is tried again.
 *
 * <p><b>At start</b> the index is rebuilt from the repository's keys alone ({@link #open}): a key made here carries the
 * due time, reason and destination, so no mail is read. Other keys (a destination too long for a key, a mail put there
 * by hand) cost one read of the mail; a mail whose record cannot be read goes back on the queue at once, never kept.
 *
 * <p><b>Several nodes, one repository</b> (a cluster store configured): each node releases a mail only under its
 * lease ({@link ReleaseLeases}), and lists the repository every {@code rescanEvery} to index the mails other nodes
 * stored (keys only, as at start; a mail of an identity it knows is left as it is), so that any node releases a mail
 * when it is due, whoever stored it. A node that finds a mail gone (another node released it) forgets it. A mail put
 * back on the queue whose removal failed keeps its lease until its removal is tried again (or the lease expires).
 */
final class WaitingRoom implements AutoCloseable {
    static final String WAITING_NAME_TEXT = "mxgovernor.waitingName";
    /** The stored copy's own name (a String): the copy is stored under its key, James's repositories key by name. */
    static final AttributeName WAITING_NAME = AttributeName.of(WAITING_NAME_TEXT);
    /** A shorter wait is never worth a round trip through a repository (the queue runner's own early tolerance). */
    static final Duration MIN_WAIT = Duration.ofSeconds(1);
    /** With a cluster store: how often the repository is listed again for the mails other nodes stored. */
    static final Duration RESCAN_EVERY = Duration.ofSeconds(30);
    private static final String RABBITMQ_PACKAGE = "org.apache.james.queue.rabbitmq.";
    private static final Logger LOGGER = LoggerFactory.getLogger(WaitingRoom.class);

    private final MailRepository repository;
    private final String url;
    private final MailQueue queue;
    private final boolean queueHonoursDelays;
    private final Duration threshold;
    private final Governor governor;
    private final DeliveryLedger ledger;
    private final Clock clock;
    private final WaitingThreads threads;
    private final WaitingIndex index = new WaitingIndex();
    private final ReleaseLoop loop;
    private final FlowControlRelease flowControlRelease;
    private final Set<String> enqueuedNotRemoved = ConcurrentHashMap.newKeySet();
    private final RateLimitedLog warnings;
    private final ReleaseLeases leases;
    private final boolean shared;
    private final Optional<Duration> rescanEvery;
    private final Object rescanLock = new Object();
    private WaitingThreads.Repeating rescans;

    private WaitingRoom(MailRepository repository, String url, MailQueue queue, boolean queueHonoursDelays,
                        WaitingSettings settings, ReleaseLeases leases, Optional<Duration> rescanEvery,
                        Governor governor, DeliveryLedger ledger, Clock clock, WaitingThreads threads) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.url = Objects.requireNonNull(url, "url");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.queueHonoursDelays = queueHonoursDelays;
        this.threshold = settings.threshold();
        this.governor = Objects.requireNonNull(governor, "governor");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.threads = Objects.requireNonNull(threads, "threads");
        this.warnings = new RateLimitedLog(LOGGER, clock, Duration.ofMinutes(1));
        this.leases = Objects.requireNonNull(leases, "leases");
        this.shared = leases != ReleaseLeases.LOCAL;
        this.rescanEvery = Objects.requireNonNull(rescanEvery, "rescanEvery");
        this.loop = new ReleaseLoop(index, this::release, keptWhileNotRemoved(leases), settings.releasePerSecond(),
            WaitingThreads.RELEASE_THREADS, clock, threads.ticker, threads.scheduler, threads.releases);
        this.flowControlRelease = new FlowControlRelease(loop, threads.scheduler, url);
    }

    /**
     * Opens the waiting place: rebuilds its index from the repository, starts releasing, and listens to the governor's
     * flow-control changes.
     *
     * @param queueHonoursDelays false for a queue that ignores enqueue delays ({@link #ignoresDelays})
     * @param leases      who may release a mail now: {@link ReleaseLeases#LOCAL} on one node
     * @param rescanEvery how often to list the repository again for mails other nodes stored; empty on one node
     */
    static WaitingRoom open(MailRepository repository, String url, MailQueue queue, boolean queueHonoursDelays,
                            WaitingSettings settings, ReleaseLeases leases, Optional<Duration> rescanEvery,
                            Governor governor, DeliveryLedger ledger, Clock clock, WaitingThreads threads)
            throws MessagingException {
        WaitingRoom room = new WaitingRoom(repository, url, queue, queueHonoursDelays, settings, leases, rescanEvery,
            governor, ledger, clock, threads);
        try {
            room.rebuild();
        } catch (MessagingException | RuntimeException e) {
            room.loop.close();
            threads.close();
            throw e;
        }
        governor.addFlowControlListener(room.flowControlRelease);
        room.loop.wake();
        room.scheduleRescan();
        return room;
    }

    /**
     * Whether James's queue is known to ignore enqueue delays: James's RabbitMQ queue (distributed server), recognised
     * by its package, {@code org.apache.james.queue.rabbitmq}, in the queue's class or a superclass. Every other queue
     * of James 3.8.1 honours them (memory, ActiveMQ, Pulsar).
     */
    static boolean ignoresDelays(MailQueue queue) {
        for (Class<?> type = queue.getClass(); type != null; type = type.getSuperclass()) {
            if (type.getName().startsWith(RABBITMQ_PACKAGE)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a mail deferred for {@code delay} waits here rather than on the queue. */
    boolean holds(Duration delay) {
        if (delay.compareTo(MIN_WAIT) <= 0) {
            return false;
        }
        return !queueHonoursDelays || delay.compareTo(threshold) > 0;
    }

    /**
     * Stores the copy of a deferred mail until {@code due}. The copy must carry the deferral record it waits with.
     *
     * @param sourceEntry the queue entry the deferred mail was taken from (the copy's identity, with its recipients)
     * @throws MessagingException when the repository refused it: nothing was kept, the caller tries again
     */
    void store(Mail copy, String sourceEntry, List<String> recipients, Instant due) throws MessagingException {
        DeferralRecord record = DeferralAttributes.read(copy).orElseThrow(() -> new MessagingException(
            "Mail " + copy.getName() + " has no deferral record to wait with"));
        WaitingKey key = WaitingKey.of(WaitingKey.identity(sourceEntry, recipients), due, record.reason(),
            record.latest().destination());
        copy.setAttribute(new Attribute(WAITING_NAME, AttributeValue.of(copy.getName())));
        copy.setName(key.asString());
        DeferralAttributes.markWaiting(copy, url);
        repository.store(copy);
        Optional<WaitingMail> replaced = index.add(WaitingMail.of(key, record.reason(), record.latest().destination(), due,
            false));
        replaced.filter(old -> !old.key().equals(key.asString())).ifPresent(old -> {
            LOGGER.info("Mail {} was stored to wait again under {}: its earlier copy {} is removed", copy.getName(),
                key, old.key());
            removeQuietly(old.key());
        });
        loop.added(due.toEpochMilli());
    }

    /** Puts mails back on the queue now, at the release pace: those of one destination, or every one. */
    int releaseNow(Optional<String> destination) {
        return loop.releaseNow(destination);
    }

    /** Mails waiting by destination and reason. */
    List<WaitingCount> counts() {
        return index.counts();
    }

    int size() {
        return index.size();
    }

    /** Destinations with waiting mail. */
    List<String> destinations() {
        return index.destinations();
    }

    String url() {
        return url;
    }

    /** Who may release a mail now: {@link ReleaseLeases#LOCAL}, or the cluster store's leases. */
    ReleaseLeases leases() {
        return leases;
    }

    /** How often the repository is listed again for mails other nodes stored; empty when never. */
    Optional<Duration> rescanEvery() {
        return rescanEvery;
    }

    String queueName() {
        return queue.getName().asString();
    }

    /** Stops releasing (releases under way end first); the mails stay in the repository for the next start. */
    @Override
    public void close() {
        synchronized (rescanLock) {
            if (rescans != null) {
                rescans.cancel();
            }
        }
        governor.removeFlowControlListener(flowControlRelease);
        loop.close();
        threads.close();
    }

    private void rebuild() throws MessagingException {
        long started = System.nanoTime();
        int fromKeys = 0;
        int read = 0;
        int putBack = 0;
        for (Iterator<MailKey> keys = repository.list(); keys.hasNext(); ) {
            String key = keys.next().asString();
            Optional<WaitingKey> parsed = WaitingKey.parse(key);
            if (parsed.isPresent() && parsed.get().isComplete()) {
                WaitingKey waiting = parsed.get();
                index.add(WaitingMail.of(waiting, waiting.reason().get(), waiting.destination().get(),
                    Instant.ofEpochMilli(waiting.dueMillis()), true));
                fromKeys++;
            } else if (indexFromRecord(key, parsed, true)) {
                read++;
            } else {
                putBack++;
            }
        }
        LOGGER.info("Waiting place {} opened in {} ms: {} mails wait ({} known by their key, {} read); {} without a"
            + " readable record put back on queue {}", url, (System.nanoTime() - started) / 1_000_000, index.size(),
            fromKeys, read, putBack, queueName());
    }

    /**
     * Lists the repository and indexes the mails of identities the index does not know (other nodes stored them), as
     * at start; a mail without a readable record is left to the next start. Runs on a release thread.
     */
    void rescan() {
        int found = 0;
        try {
            for (Iterator<MailKey> keys = repository.list(); keys.hasNext(); ) {
                String key = keys.next().asString();
                Optional<WaitingKey> parsed = WaitingKey.parse(key);
                if (index.contains(parsed.map(WaitingKey::identity).orElseGet(() -> foreignIdentity(key)))) {
                    continue;
                }
                if (parsed.isPresent() && parsed.get().isComplete()) {
                    WaitingKey waiting = parsed.get();
                    found += index.addIfAbsent(WaitingMail.of(waiting, waiting.reason().get(),
                        waiting.destination().get(), Instant.ofEpochMilli(waiting.dueMillis()), true)) ? 1 : 0;
                } else if (indexFromRecord(key, parsed, false)) {
                    found++;
                }
            }
        } catch (MessagingException | RuntimeException e) {
            warnings.warn("rescan", "Waiting place " + url + " cannot be listed now (listed again in "
                + rescanEvery.orElse(Duration.ZERO) + "): " + e, e);
        }
        if (found > 0) {
            LOGGER.debug("Waiting place {}: {} mails stored by other nodes found", url, found);
            loop.wake();
        }
    }

    private void scheduleRescan() {
        rescanEvery.ifPresent(every -> {
            synchronized (rescanLock) {
                rescans = threads.every(every, this::rescan);
            }
        });
    }

    private static long foreignIdentity(String key) {
        return WaitingKey.identity("foreign:" + key, List.of());
    }

    /**
     * Indexes a mail whose key does not say everything; false when it is not indexed: gone, or without a readable
     * record (then put back on the queue when {@code putBack}, else left as it is).
     */
    private boolean indexFromRecord(String key, Optional<WaitingKey> parsed, boolean putBack)
            throws MessagingException {
        Mail mail = repository.retrieve(new MailKey(key));
        if (mail == null) {
            return false;
        }
        try {
            Optional<DeferralRecord> record = DeferralAttributes.read(mail);
            if (record.isPresent()) {
                Instant due = parsed.map(waiting -> Instant.ofEpochMilli(waiting.dueMillis()))
                    .or(() -> record.get().nextAttemptAt()).orElse(clock.instant());
                WaitingMail waiting = parsed.isPresent()
                    ? WaitingMail.of(parsed.get(), record.get().reason(), record.get().latest().destination(), due, true)
                    : WaitingMail.foreign(key, foreignIdentity(key), record.get().reason(),
                        record.get().latest().destination(), due);
                if (!putBack) {
                    return index.addIfAbsent(waiting);
                }
                index.add(waiting);
                return true;
            }
            if (!putBack) {
                return false;
            }
            LOGGER.warn("Mail {} in waiting place {} has no readable deferral record: it goes back on queue {} now",
                key, url, queueName());
            queue.enQueue(leaving(mail, key));
            repository.remove(new MailKey(key));
            return false;
        } finally {
            LifecycleUtil.dispose(mail);
        }
    }

    /** The {@link ReleaseLoop.Releaser}: puts one mail back on the queue, then removes it from the repository. */
    private ReleaseLoop.Result release(WaitingMail waiting) {
        String key = waiting.key();
        if (!enqueuedNotRemoved.contains(key)) {
            Mail mail;
            try {
                mail = repository.retrieve(new MailKey(key));
            } catch (MessagingException | RuntimeException e) {
                warnings.warn("retrieve", "Waiting mail " + key + " cannot be read from " + url + " now: " + e, e);
                return ReleaseLoop.Result.FAILED;
            }
            if (mail == null) {
                if (shared) {
                    LOGGER.debug("Waiting mail {} is no longer in {}: another node released it", key, url);
                } else {
                    LOGGER.warn("Waiting mail {} is no longer in {} (removed by hand?): nothing to put back", key, url);
                }
                return ReleaseLoop.Result.GONE;
            }
            try {
                if (waiting.recovered()) {
                    // it may have reached the queue already, just before the JVM stopped
                    ledger.mayComeAgain(key);
                }
                queue.enQueue(leaving(mail, key));
            } catch (MessagingException | RuntimeException e) {
                warnings.warn("enqueue", "Waiting mail " + key + " cannot be put back on queue " + queueName()
                    + " now: " + e, e);
                return ReleaseLoop.Result.FAILED;
            } finally {
                LifecycleUtil.dispose(mail);
            }
        }
        try {
            repository.remove(new MailKey(key));
            enqueuedNotRemoved.remove(key);
            return ReleaseLoop.Result.RELEASED;
        } catch (MessagingException | RuntimeException e) {
            enqueuedNotRemoved.add(key);
            warnings.warn("remove", "Waiting mail " + key + " is back on queue " + queueName() + " but cannot be"
                + " removed from " + url + " now (tried again later; it is not put on the queue twice): " + e, e);
            return ReleaseLoop.Result.FAILED;
        }
    }

    /**
     * The leases, except that a mail put back on the queue whose removal failed keeps its lease (until its removal is
     * tried again, or the lease expires): another node must not find it still there and put it back again.
     */
    private ReleaseLeases keptWhileNotRemoved(ReleaseLeases leases) {
        return new ReleaseLeases() {
            @Override
            public boolean tryAcquire(String key, boolean storedHere) {
                return leases.tryAcquire(key, storedHere);
            }

            @Override
            public void release(String key) {
                if (!enqueuedNotRemoved.contains(key)) {
                    leases.release(key);
                }
            }

            @Override
            public String toString() {
                return leases.toString();
            }
        };
    }

    /** The mail as it goes back on the queue: its own name, a record that no longer waits, its key as queue entry. */
    private Mail leaving(Mail mail, String key) {
        Optional<String> name = mail.getAttribute(WAITING_NAME).map(attribute -> attribute.getValue().value())
            .filter(String.class::isInstance).map(String.class::cast);
        mail.removeAttribute(WAITING_NAME);
        name.ifPresent(mail::setName);
        DeferralAttributes.leftWaiting(mail, clock.instant());
        DeliveryLedger.stamp(mail, key);
        return mail;
    }

    private void removeQuietly(String key) {
        try {
            repository.remove(new MailKey(key));
        } catch (MessagingException | RuntimeException e) {
            LOGGER.warn("Earlier copy {} in {} could not be removed; it would be put back on the queue as well: {}",
                key, url, e.toString());
        }
    }
}

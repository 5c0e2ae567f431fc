package io.github.mxgovernor.waiting;

import io.github.mxgovernor.deferral.DeferralReason;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The mails waiting in one waiting place, in memory, by when they go back on the queue. One mail per identity: a mail
 * added again replaces the one it was (see {@link WaitingKey#identity}).
 *
 * <p>Two lines lead out: mails released early (their destination's suspension ended, an operator released them) go
 * first, in the order they were given; then mails merely due, in due-time order. {@link #next} hands out the next mail
 * to release and keeps it, marked as releasing, until {@link #released} (it left) or {@link #retryAt} (it stays).
 *
 * <p>Thread-safe; every operation takes the index's lock for O(log n), except the releases on demand, which go over
 * the mails once.
 */
public final class WaitingIndex {
    private static final Comparator<WaitingMail> ORDER = Comparator
        .<WaitingMail>comparingLong(mail -> mail.releaseAtMillis)
        .thenComparingLong(WaitingMail::storedDueMillis)
        .thenComparingLong(WaitingMail::identity);
    private static final int REASONS = DeferralReason.values().length;

    private final Map<Long, WaitingMail> byIdentity = new HashMap<>();
    private final TreeSet<WaitingMail> scheduled = new TreeSet<>(ORDER);
    private final TreeSet<WaitingMail> early = new TreeSet<>(ORDER);
    /** Mails per destination and reason, with the one copy of the destination's name every mail shares. */
    private final Map<String, PerDestination> destinations = new HashMap<>();

    /**
     * Adds a mail to wait until its due time.
     *
     * @return the mail it replaces (same identity), if any: when its key differs, the caller removes that key from the
     *         repository
     */
    public synchronized Optional<WaitingMail> add(WaitingMail mail) {
        Objects.requireNonNull(mail, "mail");
        WaitingMail previous = byIdentity.put(mail.identity(), mail);
        if (previous != null) {
            unlink(previous);
        }
        PerDestination counts = destinations.computeIfAbsent(mail.destination, PerDestination::new);
        mail.destination = counts.name;
        counts.mails[mail.reason().ordinal()]++;
        mail.early = false;
        mail.releasing = false;
        scheduled.add(mail);
        return Optional.ofNullable(previous);
    }

    /**
     * Adds a mail unless one of its identity waits already (a rescan of a repository other nodes store in: what this
     * node knows stays as it is).
     *
     * @return whether it was added
     */
    public synchronized boolean addIfAbsent(WaitingMail mail) {
        if (byIdentity.containsKey(mail.identity())) {
            return false;
        }
        add(mail);
        return true;
    }

    /** Whether a mail of this identity waits (see {@link WaitingKey#identity}). */
    public synchronized boolean contains(long identity) {
        return byIdentity.containsKey(identity);
    }

    /**
     * Takes the next mail to release at {@code nowMillis}: the first released early, else the first due. It stays in
     * the index (counted as waiting) until {@link #released} or {@link #retryAt}.
     *
     * @return null when no mail is due
     */
    public synchronized WaitingMail next(long nowMillis) {
        TreeSet<WaitingMail> line = !early.isEmpty() && early.first().releaseAtMillis <= nowMillis ? early : scheduled;
        if (line.isEmpty() || line.first().releaseAtMillis > nowMillis) {
            return null;
        }
        WaitingMail next = line.pollFirst();
        next.releasing = true;
        return next;
    }

    /** The mail left (back on the queue, or gone from the repository): it is forgotten. */
    public synchronized void released(WaitingMail mail) {
        if (byIdentity.get(mail.identity()) == mail) {
            byIdentity.remove(mail.identity());
            unlink(mail);
        }
    }

    /** The mail could not be released now: it waits again until {@code atMillis}, counted as one more failure. */
    public synchronized void retryAt(WaitingMail mail, long atMillis) {
        waitAgain(mail, atMillis, 1);
    }

    /**
     * The mail was not tried now (another node holds its lease): it waits again until {@code atMillis}, not counted as
     * a failure.
     */
    public synchronized void postpone(WaitingMail mail, long atMillis) {
        waitAgain(mail, atMillis, 0);
    }

    private void waitAgain(WaitingMail mail, long atMillis, int failed) {
        if (byIdentity.get(mail.identity()) != mail || !mail.releasing) {
            return;
        }
        mail.releasing = false;
        mail.early = false;
        mail.failures += failed;
        mail.releaseAtMillis = atMillis;
        scheduled.add(mail);
    }

    /** How many times the mail could not be released so far. */
    public synchronized int failures(WaitingMail mail) {
        return mail.failures;
    }

    /** When the next mail falls due (possibly in the past); empty when none waits, or all are being released. */
    public synchronized OptionalLong nextReleaseMillis() {
        long next = Long.MAX_VALUE;
        if (!early.isEmpty()) {
            next = early.first().releaseAtMillis;
        }
        if (!scheduled.isEmpty()) {
            next = Math.min(next, scheduled.first().releaseAtMillis);
        }
        return next == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next);
    }

    /**
     * Releases early the mails of {@code destination} that wait for one of {@code reasons}, spread as they were meant
     * to come back: each keeps its distance from the first of them, at most {@code maxSpread}, counted from
     * {@code nowMillis}. A mail already due sooner keeps its time.
     *
     * @return how many mails now go earlier
     */
    public synchronized int releaseEarly(String destination, Set<DeferralReason> reasons, long nowMillis,
                                         Duration maxSpread) {
        if (!waitsFor(destination, reasons)) {
            return 0;
        }
        List<WaitingMail> matching = new ArrayList<>();
        for (WaitingMail mail : scheduled) {
            if (mail.destination.equals(destination) && reasons.contains(mail.reason())) {
                matching.add(mail);
            }
        }
        if (matching.isEmpty()) {
            return 0;
        }
        long first = matching.get(0).releaseAtMillis;
        int moved = 0;
        for (WaitingMail mail : matching) {
            long at = nowMillis + Math.min(maxSpread.toMillis(), mail.releaseAtMillis - first);
            if (at < mail.releaseAtMillis) {
                scheduled.remove(mail);
                mail.releaseAtMillis = at;
                mail.early = true;
                early.add(mail);
                moved++;
            }
        }
        return moved;
    }

    /**
     * Releases now, in due-time order, the mails waiting for {@code destination} (every reason), or every mail when
     * empty.
     *
     * @return how many mails now go earlier
     */
    public synchronized int releaseNow(Optional<String> destination, long nowMillis) {
        List<WaitingMail> matching = new ArrayList<>();
        for (TreeSet<WaitingMail> line : List.of(scheduled, early)) {
            for (WaitingMail mail : line) {
                if (mail.releaseAtMillis > nowMillis
                    && destination.map(name -> name.equals(mail.destination)).orElse(true)) {
                    matching.add(mail);
                }
            }
        }
        for (WaitingMail mail : matching) {
            (mail.early ? early : scheduled).remove(mail);
            mail.releaseAtMillis = nowMillis;
            mail.early = true;
            early.add(mail);
        }
        return matching.size();
    }

    /** Mails waiting, those being released included. */
    public synchronized int size() {
        return byIdentity.size();
    }

    /** Mails waiting for {@code destination}, every reason. */
    public synchronized int waitingFor(String destination) {
        PerDestination counts = destinations.get(destination);
        return counts == null ? 0 : counts.total();
    }

    /** Destinations with waiting mail, by name. */
    public synchronized List<String> destinations() {
        return new ArrayList<>(new TreeSet<>(destinations.keySet()));
    }

    /** Waiting mails by destination and reason, with the earliest time one of them goes; by destination, reason. */
    public synchronized List<WaitingCount> counts() {
        Map<String, Map<DeferralReason, long[]>> byDestination = new TreeMap<>();
        for (WaitingMail mail : byIdentity.values()) {
            long[] entry = byDestination.computeIfAbsent(mail.destination, name -> new TreeMap<>())
                .computeIfAbsent(mail.reason(), reason -> new long[] {0, Long.MAX_VALUE});
            entry[0]++;
            entry[1] = Math.min(entry[1], mail.releaseAtMillis);
        }
        List<WaitingCount> counts = new ArrayList<>();
        byDestination.forEach((destination, reasons) -> reasons.forEach((reason, entry) -> counts.add(
            new WaitingCount(destination, reason, entry[0], Instant.ofEpochMilli(entry[1])))));
        return counts;
    }

    private boolean waitsFor(String destination, Set<DeferralReason> reasons) {
        PerDestination counts = destinations.get(destination);
        if (counts == null) {
            return false;
        }
        for (DeferralReason reason : reasons) {
            if (counts.mails[reason.ordinal()] > 0) {
                return true;
            }
        }
        return false;
    }

    private void unlink(WaitingMail mail) {
        if (!mail.releasing) {
            (mail.early ? early : scheduled).remove(mail);
        }
        PerDestination counts = destinations.get(mail.destination);
        if (counts != null && --counts.mails[mail.reason().ordinal()] == 0 && counts.total() == 0) {
            destinations.remove(mail.destination);
        }
    }

    private static final class PerDestination {
        final String name;
        final int[] mails = new int[REASONS];

        PerDestination(String name) {
            this.name = name;
        }

        int total() {
            int total = 0;
            for (int count : mails) {
                total += count;
            }
            return total;
        }
    }
}

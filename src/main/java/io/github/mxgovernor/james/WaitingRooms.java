package io.github.mxgovernor.james;

import io.github.mxgovernor.james.jmx.WaitingPlaces;
import io.github.mxgovernor.james.jmx.WaitingRow;
import io.github.mxgovernor.waiting.WaitingCount;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The waiting places of the governed mailets running in this JVM, by repository URL: one mailet per place (two
 * releasing from one repository would put its mails on the queue twice), and the Governor bean's view of them all.
 * Thread-safe.
 */
final class WaitingRooms implements WaitingPlaces {
    private static final WaitingRooms JVM_WIDE = new WaitingRooms();

    private final Map<String, WaitingRoom> rooms = new ConcurrentHashMap<>();

    static WaitingRooms jvmWide() {
        return JVM_WIDE;
    }

    /**
     * Reserves {@code url} for one mailet's waiting place.
     *
     * @return the queue of the mailet whose place it already is, if another one's
     */
    synchronized Optional<String> takenBy(String url) {
        return Optional.ofNullable(rooms.get(url)).map(WaitingRoom::queueName);
    }

    /** The waiting place open at {@code url}, if any. */
    Optional<WaitingRoom> room(String url) {
        return Optional.ofNullable(rooms.get(url));
    }

    synchronized void add(WaitingRoom room) {
        WaitingRoom previous = rooms.putIfAbsent(room.url(), room);
        if (previous != null && previous != room) {
            throw new IllegalStateException("waiting place " + room.url() + " is already open");
        }
    }

    synchronized void remove(WaitingRoom room) {
        rooms.remove(room.url(), room);
    }

    @Override
    public List<WaitingRow> waitingRows() {
        List<WaitingRow> rows = new ArrayList<>();
        for (WaitingRoom room : rooms.values()) {
            for (WaitingCount count : room.counts()) {
                rows.add(new WaitingRow(count.destination(), count.reason().name(), count.mails(),
                    count.nextRelease(), room.url()));
            }
        }
        return rows;
    }

    @Override
    public long waiting() {
        long waiting = 0;
        for (WaitingRoom room : rooms.values()) {
            waiting += room.size();
        }
        return waiting;
    }

    @Override
    public List<String> destinations() {
        TreeSet<String> destinations = new TreeSet<>();
        for (WaitingRoom room : rooms.values()) {
            destinations.addAll(room.destinations());
        }
        return new ArrayList<>(destinations);
    }

    @Override
    public int releaseNow(Optional<String> destination) {
        int released = 0;
        for (WaitingRoom room : rooms.values()) {
            released += room.releaseNow(destination);
        }
        return released;
    }
}

package io.github.mxgovernor.james.jmx;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** Waiting places as a test sets them: rows to show, and the releases asked for. */
final class FakeWaitingPlaces implements WaitingPlaces {
    final List<WaitingRow> rows = new ArrayList<>();
    final List<Optional<String>> releases = new ArrayList<>();

    @Override
    public List<WaitingRow> waitingRows() {
        return List.copyOf(rows);
    }

    @Override
    public long waiting() {
        return rows.stream().mapToLong(WaitingRow::getMails).sum();
    }

    @Override
    public List<String> destinations() {
        TreeSet<String> destinations = new TreeSet<>();
        rows.forEach(row -> destinations.add(row.getDestination()));
        return new ArrayList<>(destinations);
    }

    @Override
    public int releaseNow(Optional<String> destination) {
        releases.add(destination);
        return (int) rows.stream().filter(row -> destination.map(row.getDestination()::equals).orElse(true))
            .mapToLong(WaitingRow::getMails).sum();
    }
}

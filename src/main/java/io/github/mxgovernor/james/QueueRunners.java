package io.github.mxgovernor.james;

import io.github.mxgovernor.james.jmx.DequeueRow;
import io.github.mxgovernor.james.jmx.DequeueStates;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The queue runners of the governed mailets of this JVM, whose states the Governor bean shows. Thread-safe. */
final class QueueRunners implements DequeueStates {
    private final List<QueueRunner> runners = new CopyOnWriteArrayList<>();

    void add(QueueRunner runner) {
        runners.add(runner);
    }

    void remove(QueueRunner runner) {
        runners.remove(runner);
    }

    @Override
    public List<DequeueRow> dequeueStates() {
        List<DequeueRow> rows = new ArrayList<>(runners.size());
        for (QueueRunner runner : runners) {
            rows.add(runner.status());
        }
        return rows;
    }
}

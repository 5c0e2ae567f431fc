package io.github.mxgovernor.bench;

/** A run broke one of the benchmark's checks (every mail once, caps held, in time); the message says which. */
final class BenchFailure extends Exception {
    private static final long serialVersionUID = 1L;

    BenchFailure(String message) {
        super(message);
    }
}

package io.github.mxgovernor.bench;

/** A contender cannot run on this machine (Postfix without root or apt); the run is reported as skipped. */
final class ContenderUnavailable extends Exception {
    private static final long serialVersionUID = 1L;

    ContenderUnavailable(String reason) {
        super(reason);
    }
}

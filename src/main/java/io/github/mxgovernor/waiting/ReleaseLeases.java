package io.github.mxgovernor.waiting;

/**
 * Who may put a waiting mail back on the queue now. On one node every mail is its own; with several nodes sharing one
 * repository (James's distributed server), a lease in the cluster store lets one node at a time release a given mail,
 * and any node can: the release loop asks before it releases a mail, and gives the lease back after, whatever
 * happened.
 */
public interface ReleaseLeases {
    /** One node: every mail may be released at once. */
    ReleaseLeases LOCAL = new ReleaseLeases() {
        @Override
        public boolean tryAcquire(String key, boolean storedHere) {
            return true;
        }

        @Override
        public void release(String key) {
            // nothing is held on one node
        }

        @Override
        public String toString() {
            return "local (one node)";
        }
    };

    /**
     * Takes the lease of the mail stored under {@code key}. Must not block long: it runs on the release loop.
     *
     * @param storedHere whether this node stored the mail since it started (rather than finding it in the repository at
     *                   start or by a rescan): what a lease that cannot ask its store may go by
     * @return false while another node holds it (the mail is tried again later), or when the store cannot say and the
     *         mail is not this node's own
     */
    boolean tryAcquire(String key, boolean storedHere);

    /** Gives the lease back once the mail left or stays. */
    void release(String key);
}

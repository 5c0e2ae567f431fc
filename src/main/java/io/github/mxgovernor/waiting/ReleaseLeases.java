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
        public boolean tryAcquire(String key) {
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
     * @return false while another node holds it (the mail is tried again later), or when the store cannot say
     */
    boolean tryAcquire(String key);

    /** Gives the lease back once the mail left or stays. */
    void release(String key);
}

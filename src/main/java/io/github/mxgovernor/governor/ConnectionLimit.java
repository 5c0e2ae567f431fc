package io.github.mxgovernor.governor;

/**
 * The connections of one destination this node may open: counted in this JVM ({@link ConnectionQuota}), or across
 * every node sharing the cluster store ({@link SharedConnectionLimit}). Thread-safe; no method blocks.
 */
interface ConnectionLimit extends ConnectionCount {
    /**
     * A connection under {@code cap}, now, or null. When null and the answer may change other than by one of this
     * node's connections closing (a lease the cluster store grants later, a retry after the cluster was full),
     * {@code wake} runs once, on any thread, when it is worth asking again: it must only hand work to an executor.
     *
     * @param wake what to run when asking again may succeed; null when the caller asks again by itself
     */
    ConnectionPermit tryAcquire(int cap, Runnable wake);
}

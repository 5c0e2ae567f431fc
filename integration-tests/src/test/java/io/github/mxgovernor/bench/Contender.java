package io.github.mxgovernor.bench;

import java.time.Instant;
import java.util.OptionalLong;

/**
 * What a benchmark run delivers through: an embedded James with one delivery mailet ({@link JamesContender}) or a
 * private Postfix ({@link PostfixContender}). Mails are submitted to its SMTP server on 127.0.0.1; a mail carrying
 * {@link BenchRun#HOLD_HEADER} is held until {@link #schedule} and {@link #release}.
 */
interface Contender extends AutoCloseable {
    /** The port of its SMTP server on 127.0.0.1, where mails are submitted. */
    int smtpPort();

    /** The domain of the submitted mails' Message-IDs. */
    String localDomain();

    /** Whether the {@code mails} of the burst are all held and no other mail waits or is in flight. */
    boolean holding(int mails) throws Exception;

    /**
     * Makes the {@code mails} held mails due at {@code release} and not before, as its own queue would keep mails
     * whose next attempt is then.
     *
     * @throws BenchFailure when fewer than {@code mails} were made due
     */
    void schedule(int mails, Instant release) throws Exception;

    /** Called at the release instant, after which the burst is measured. */
    void release() throws Exception;

    /** Whether no mail waits or is in flight. */
    boolean idle() throws Exception;

    /** Starts measuring the CPU of the delivering side. */
    CpuMeter startCpu() throws Exception;

    /** Fails the run when some mail bounced or failed instead of being delivered. */
    void checkNothingFailed(String run) throws Exception;

    /**
     * Commands sent to the cluster store since the contender started ({@code ClusterStore.commands()}, each one round
     * trip); empty when it has no store.
     */
    default OptionalLong storeCommands() throws Exception {
        return OptionalLong.empty();
    }

    /** What the report says of the run beyond the figures; read before {@link #close()}. */
    String detail() throws Exception;

    /** Stops it; afterwards every connection it opened is closed. */
    @Override
    void close() throws Exception;
}

package io.github.mxgovernor.delivery;

import io.github.mxgovernor.flowcontrol.MessageBudget;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One message's token, taken from the budget in force when the part left its lane. Refunded, to that same budget,
 * at most once: when the message was not sent after all (its session could not be opened, or the part goes again on
 * a fresh session).
 */
final class MessageToken {
    private final MessageBudget budget;
    private final AtomicBoolean refunded = new AtomicBoolean();

    private MessageToken(MessageBudget budget) {
        this.budget = budget;
    }

    /** A token of {@code budget} if one is available now; null otherwise. */
    static MessageToken tryTake(MessageBudget budget) {
        return budget.tryConsume() ? new MessageToken(budget) : null;
    }

    /** Gives the token back; true the first time only. */
    boolean refund() {
        if (refunded.compareAndSet(false, true)) {
            budget.refund();
            return true;
        }
        return false;
    }
}

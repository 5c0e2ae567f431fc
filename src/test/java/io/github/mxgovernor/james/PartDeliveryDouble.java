package io.github.mxgovernor.james;

import io.github.mxgovernor.deferral.DeferralEvent;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.deferral.DeferralRecord;
import io.github.mxgovernor.delivery.DeliveryPart;
import io.github.mxgovernor.delivery.Outcome;
import io.github.mxgovernor.delivery.PartDelivery;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * The core as the queue runner sees it: parts are kept with their futures, which the test completes; {@link #close}
 * completes those still open as the engine does, with a local deferral, and later parts at once alike.
 */
final class PartDeliveryDouble implements PartDelivery {
    final List<DeliveryPart> parts = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<Map<String, Outcome>>> futures = new CopyOnWriteArrayList<>();
    volatile Duration closedWith;
    private volatile boolean closed;

    @Override
    public CompletableFuture<Map<String, Outcome>> deliver(DeliveryPart part) {
        CompletableFuture<Map<String, Outcome>> future = new CompletableFuture<>();
        parts.add(part);
        futures.add(future);
        if (closed) {
            future.complete(each(part, recipient -> stopping(part)));
        }
        return future;
    }

    @Override
    public void close(Duration grace) {
        closedWith = grace;
        closed = true;
        for (int i = 0; i < parts.size(); i++) {
            DeliveryPart part = parts.get(i);
            futures.get(i).complete(each(part, recipient -> stopping(part)));
        }
    }

    /** Completes part {@code index} with one outcome per recipient. */
    void complete(int index, Function<String, Outcome> outcome) {
        futures.get(index).complete(each(parts.get(index), outcome));
    }

    static Outcome delivered() {
        return Outcome.delivered(Optional.empty(), "mx.test", "default", Optional.empty(), Optional.empty());
    }

    /** A first deferral for a 451, due again in a minute, as the core would make it. */
    static Outcome deferred451() {
        Instant now = Instant.now();
        return Outcome.deferred(DeferralRecord.first(DeferralEvent.builder(now, DeferralReason.SMTP_TEMPORARY_FAILURE)
            .message("451 4.3.0 try later").destination("mx.test").rule("default").build(),
            Optional.of(now.plusSeconds(60))), Optional.empty());
    }

    private static Outcome stopping(DeliveryPart part) {
        Instant now = Instant.now();
        DeferralEvent stopping = DeferralEvent.builder(now, DeferralReason.CONNECTION_QUOTA_REACHED)
            .message("Messages queued (delivery is stopping)").destination(part.recipientDomain()).rule("default")
            .build();
        return Outcome.deferred(part.previous().map(record -> record.deferredAgain(stopping, Optional.of(now)))
            .orElseGet(() -> DeferralRecord.first(stopping, Optional.of(now))), Optional.empty());
    }

    private static Map<String, Outcome> each(DeliveryPart part, Function<String, Outcome> outcome) {
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (String recipient : part.recipients()) {
            outcomes.put(recipient, outcome.apply(recipient));
        }
        return outcomes;
    }
}

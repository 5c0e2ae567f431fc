package io.github.mxgovernor.demo;

import io.github.mxgovernor.bench.MailInjector;
import io.github.mxgovernor.bench.SentMail;
import io.github.mxgovernor.deferral.DeferralReason;
import io.github.mxgovernor.governor.Destination;
import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.it.ClientCommand;
import io.github.mxgovernor.it.EmbeddedJames;
import io.github.mxgovernor.it.FakeMxServer;
import io.github.mxgovernor.it.ReplyPolicy;
import io.github.mxgovernor.it.SmtpStage;
import io.github.mxgovernor.james.SharedGovernor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;

/**
 * The demo ({@code mvn -B -Pdemo verify}): an embedded James 3.8.1 whose transport processor delivers with our
 * governed mailet to three fake MX servers on loopback: a fast one, a slow one (100 ms per round trip) and a busy
 * one that answers the first attempt of every fourth mail with {@code 421 4.7.0 [TSS04]}, as Yahoo does when it
 * throttles; its rule suspends that destination for a few seconds when those replies pile up (flow control). It
 * submits {@code demo.mails} mails (default 3000) to five domains, prints every two seconds, per destination, its
 * flow-control state, the connections in use against the cap in effect, the mails delivered and the deferrals by
 * reason, then a summary, and exits (status 1 if a mail was lost or duplicated or a cap was exceeded).
 */
public final class Demo {
    private static final Duration REFRESH = Duration.ofSeconds(2);
    private static final String FAST_MX = "mx.fast.test";
    private static final String SLOW_MX = "mx.slow.test";
    private static final String BUSY_MX = "mx.busy.test";
    private static final Map<String, Integer> CAPS = Map.of(FAST_MX, 4, SLOW_MX, 3, BUSY_MX, 3);
    /** Recipient domains by MX host; mail i goes to DOMAINS[i % 10]. */
    private static final String[] DOMAINS = {"shop-a.test", "shop-b.test", "news.test", "shop-a.test", "shop-b.test",
        "news.test", "slow-isp.test", "slow-isp.test", "bigmail.test", "bigmail.test"};
    private static final Map<String, DeferralReason> REASONS = new LinkedHashMap<>();

    static {
        for (DeferralReason reason : DeferralReason.values()) {
            REASONS.put(label(reason), reason);
        }
    }

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        // James warns at start-up about optional configuration files the embedded server does without
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(Level.ERROR);
        // our mailet logs every deferral at INFO; the table below shows them instead
        ((Logger) LoggerFactory.getLogger("io.github.mxgovernor")).setLevel(Level.WARN);
        ((Logger) LoggerFactory.getLogger("org.apache.james.lifecycle.api.Disposable")).setLevel(Level.OFF);
        int mails = Integer.parseInt(System.getProperty("demo.mails", "3000").trim());
        Duration timeout = Duration.ofSeconds(Integer.parseInt(System.getProperty("demo.timeoutSeconds", "300")));
        if (mails < 1 || mails > 100_000) {
            throw new IllegalArgumentException("demo.mails must be from 1 to 100000, was " + mails);
        }
        System.exit(new Demo().run(mails, timeout) ? 0 : 1);
    }

    private boolean run(int mails, Duration timeout) throws Exception {
        Set<String> throttledOnce = ConcurrentHashMap.newKeySet();
        Map<String, FakeMxServer> servers = new LinkedHashMap<>();
        servers.put(FAST_MX, FakeMxServer.builder("127.0.0.61").hostName(FAST_MX).retainContent(false).start());
        servers.put(SLOW_MX, FakeMxServer.builder("127.0.0.62").hostName(SLOW_MX).retainContent(false)
            .latency(Duration.ofMillis(100)).start());
        servers.put(BUSY_MX, FakeMxServer.builder("127.0.0.63").hostName(BUSY_MX).retainContent(false)
            .latency(Duration.ofMillis(10))
            .replyPolicy(ReplyPolicy.at(SmtpStage.END_OF_DATA, command -> firstTryOfEveryFourth(command, throttledOnce),
                ReplyPolicy.TSS04_DEFERRED))
            .start());
        Path rules = Files.createTempFile("demo-mx-rules-", ".xml");
        EmbeddedJames james = null;
        try {
            Files.writeString(rules, String.join("\n",
                "<mx-rules>",
                "  <rule name=\"fast\" mx=\"" + FAST_MX + "\" maxConnections=\"" + CAPS.get(FAST_MX) + "\""
                    + " maxMessagesPerConnection=\"100\"/>",
                "  <rule name=\"slow\" mx=\"" + SLOW_MX + "\" maxConnections=\"" + CAPS.get(SLOW_MX) + "\""
                    + " maxMessagesPerConnection=\"50\"/>",
                "  <rule name=\"busy\" mx=\"" + BUSY_MX + "\" maxConnections=\"" + CAPS.get(BUSY_MX) + "\""
                    + " maxMessagesPerConnection=\"20\">",
                "    <response match=\"421 4\\.7\\.0 \\[TSS04\\]\" threshold=\"20\" window=\"1m\" action=\"suspend\""
                    + " duration=\"4s\"/>",
                "    <backoff maxConnections=\"1\"/>",
                "    <recovery probes=\"5\" halfOpen=\"4s\"/>",
                "  </rule>",
                "</mx-rules>"));
            james = startJames(rules, servers);
            printIntro(mails, servers);
            return watch(james, servers, mails, timeout);
        } finally {
            if (james != null) {
                james.close();
            }
            servers.values().forEach(FakeMxServer::close);
            Files.deleteIfExists(rules);
        }
    }

    /** The busy MX throttles the first delivery attempt of mails 0, 4, 8, ... and accepts the retry. */
    private static boolean firstTryOfEveryFourth(ClientCommand command, Set<String> throttledOnce) {
        return command.messageId().map(id -> indexOf(id) % 4 == 0 && throttledOnce.add(id)).orElse(false);
    }

    private static int indexOf(String messageId) {
        int dot = messageId.lastIndexOf('.', messageId.indexOf('@'));
        return Integer.parseInt(messageId.substring(dot + 1, messageId.indexOf('@')));
    }

    private static EmbeddedJames startJames(Path rules, Map<String, FakeMxServer> servers) throws Exception {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("outgoing", EmbeddedJames.OUTGOING_QUEUE);
        parameters.put("rules", rules.toString());
        parameters.put("delayTime", "4*2s");
        parameters.put("maxRetries", "4");
        parameters.put("maxDnsProblemRetries", "0");
        parameters.put("bounceProcessor", EmbeddedJames.BOUNCE_PROCESSOR);
        parameters.put("maxLaneWait", "3s");
        parameters.put("localDeferralDelay", "2s");
        EmbeddedJames.Builder builder = EmbeddedJames.builder().transportMailets(EmbeddedJames.mailet(
            "HasMailAttribute=RelayAllowed", "io.github.mxgovernor.james.GovernedRemoteDelivery", parameters));
        Set<String> seen = new HashSet<>();
        for (String domain : DOMAINS) {
            if (seen.add(domain)) {
                String mx = domain.startsWith("slow") ? SLOW_MX : domain.startsWith("bigmail") ? BUSY_MX : FAST_MX;
                builder.mx(domain, mx, servers.get(mx));
            }
        }
        return builder.start();
    }

    private static void printIntro(int mails, Map<String, FakeMxServer> servers) {
        System.out.println();
        System.out.println("mx-governor demo: an embedded James 3.8.1 delivering with GovernedRemoteDelivery");
        System.out.printf(Locale.ROOT, "  %-14s %s:%d  no latency, cap %d connections, 100 mails per connection%n",
            FAST_MX, servers.get(FAST_MX).address().getHostAddress(), servers.get(FAST_MX).port(), CAPS.get(FAST_MX));
        System.out.printf(Locale.ROOT, "  %-14s %s:%d  100 ms per round trip, cap %d connections, 50 per connection%n",
            SLOW_MX, servers.get(SLOW_MX).address().getHostAddress(), servers.get(SLOW_MX).port(), CAPS.get(SLOW_MX));
        System.out.printf(Locale.ROOT, "  %-14s %s:%d  answers every 4th mail's first try with '%s', cap %d;%n"
            + "  %-14s %-15s  its rule suspends it for 4 s after 20 of those in a minute, then runs it half-open%n",
            BUSY_MX, servers.get(BUSY_MX).address().getHostAddress(), servers.get(BUSY_MX).port(),
            ReplyPolicy.TSS04_DEFERRED, CAPS.get(BUSY_MX), "", "");
        System.out.printf(Locale.ROOT, "Sending %d mails to %s.%nA mail that finds its destination's lane full or"
            + " gets no connection within 3 s (maxLaneWait) is deferred for the quota and comes back about 2 s later;"
            + " a 4xx reply is retried after 2 s; a suspended destination defers its mails until the suspension"
            + " ends.%n%n",
            mails, String.join(", ", new LinkedHashSet<>(List.of(DOMAINS))));
    }

    private boolean watch(EmbeddedJames james, Map<String, FakeMxServer> servers, int mails, Duration timeout)
        throws Exception {
        MailInjector injector = new MailInjector(james.smtpPort(), EmbeddedJames.SENDER, james.localDomain());
        long start = System.nanoTime();
        CompletableFuture<List<SentMail>> sending = CompletableFuture.supplyAsync(() -> {
            try {
                return injector.burst("demo", mails, i -> "user" + i + "@" + DOMAINS[i % DOMAINS.length], Map.of(), 2);
            } catch (Exception e) {
                throw new IllegalStateException("submitting the demo mails failed", e);
            }
        });
        long deadline = start + timeout.toNanos();
        while (true) {
            TimeUnit.MILLISECONDS.sleep(REFRESH.toMillis());
            long received = servers.values().stream().mapToLong(FakeMxServer::messageCount).sum();
            printStatus(james, servers, (System.nanoTime() - start) / 1e9, received, mails);
            if (received >= mails && sending.isDone()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                System.out.println("TIMED OUT after " + timeout + " with " + received + " of " + mails
                    + " mails delivered");
                return false;
            }
        }
        return summary(servers, sending.join(), (System.nanoTime() - start) / 1e9);
    }

    private static void printStatus(EmbeddedJames james, Map<String, FakeMxServer> servers, double seconds,
                                    long received, int mails) throws Exception {
        System.out.printf(Locale.ROOT, "[%5.1f s] delivered %d of %d, %d in James's outgoing queue; all deferrals: %s%n",
            seconds, received, mails, james.queueSize(EmbeddedJames.OUTGOING_QUEUE), totalDeferrals());
        System.out.printf(Locale.ROOT, "  %-14s %-5s %-9s %11s %10s %7s  %s%n", "destination", "rule", "state",
            "connections", "delivered", "failed", "deferrals by reason");
        for (Destination destination : destinations()) {
            System.out.printf(Locale.ROOT, "  %-14s %-5s %-9s %7d / %d %10d %7d  %s%n", destination.name(),
                destination.rule().name(), destination.flowControl().state().kind(),
                destination.connections().inUse(), destination.flowControl().maxConnections(),
                destination.stats().delivered(), destination.stats().failedAttempts(), deferrals(destination));
        }
    }

    /** One destination's deferrals by reason: our own (quota, rate, flow control) and those its replies asked for. */
    private static String deferrals(Destination destination) {
        return describe(reason -> destination.stats().deferred(reason));
    }

    /**
     * Every deferral by reason, over all destinations, attempts that failed included (the TSS04 replies count under
     * {@code SMTP_TEMPORARY_FAILURE}, and each among the destination's failed attempts).
     */
    private static String totalDeferrals() {
        return SharedGovernor.current().map(governor -> describe(reason -> governor.stats().deferred(reason)))
            .orElse("-");
    }

    private static String describe(ToLongFunction<DeferralReason> count) {
        String text = REASONS.entrySet().stream()
            .filter(entry -> count.applyAsLong(entry.getValue()) > 0)
            .map(entry -> entry.getKey() + " " + count.applyAsLong(entry.getValue()))
            .collect(Collectors.joining(", "));
        return text.isEmpty() ? "-" : text;
    }

    private static List<Destination> destinations() {
        List<Destination> destinations = new ArrayList<>(SharedGovernor.current().map(Governor::destinations)
            .orElse(List.of()));
        destinations.sort(Comparator.comparing(Destination::name));
        return destinations;
    }

    private static boolean summary(Map<String, FakeMxServer> servers, List<SentMail> sent, double seconds) {
        Map<String, Integer> counts = new HashMap<>();
        servers.values().forEach(server -> server.messageIds().forEach(id -> counts.merge(id, 1, Integer::sum)));
        long duplicated = counts.values().stream().filter(count -> count > 1).count();
        long missing = sent.stream().filter(mail -> !counts.containsKey(mail.messageId())).count();
        boolean ok = duplicated == 0 && missing == 0;
        System.out.printf(Locale.ROOT, "%nSummary after %.1f s: %d mails submitted, %d delivered exactly once"
            + " (%d missing, %d duplicated)%n", seconds, sent.size(), sent.size() - missing, missing, duplicated);
        System.out.printf(Locale.ROOT, "  %-14s %9s %14s %12s %16s %7s  %s%n", "MX host", "received", "peak / cap",
            "connections", "mails/connection", "failed", "deferrals by reason (governor)");
        Map<String, Destination> byName = destinations().stream()
            .collect(Collectors.toMap(Destination::name, destination -> destination));
        for (Map.Entry<String, FakeMxServer> entry : servers.entrySet()) {
            FakeMxServer server = entry.getValue();
            int cap = CAPS.get(entry.getKey());
            boolean capHeld = server.peakConnections() <= cap;
            ok &= capHeld;
            Destination destination = byName.get(entry.getKey());
            System.out.printf(Locale.ROOT, "  %-14s %9d %9d / %d%s %12d %16.1f %7d  %s%n", entry.getKey(),
                server.messageCount(), server.peakConnections(), cap, capHeld ? " " : "!", server.totalConnections(),
                (double) server.messageCount() / Math.max(1, server.totalConnections()),
                destination == null ? 0 : destination.stats().failedAttempts(), destination == null ? "-" : deferrals(destination));
        }
        System.out.println("  all deferrals, failed attempts included: " + totalDeferrals());
        System.out.println(ok ? "Every mail delivered exactly once; no MX host saw more connections than its cap."
            : "PROBLEM: see the lines above (! marks a cap exceeded).");
        return ok;
    }

    private static String label(DeferralReason reason) {
        switch (reason) {
            case CONNECTION_QUOTA_REACHED:
                return "quota";
            case RATE_LIMITED:
                return "rate";
            case DYNAMIC_FLOW_CONTROL:
                return "flow control";
            case SUSPENDED:
                return "suspended";
            case SMTP_TEMPORARY_FAILURE:
                return "4xx reply";
            case CONNECTION_FAILED:
                return "connection failed";
            case DNS_TEMPORARY_FAILURE:
                return "dns";
            case TLS_POLICY_FAILURE:
                return "tls";
            default:
                return reason.name();
        }
    }
}

package io.github.mxgovernor.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What the runs of one scenario deliver, and where to: the fake MX hosts, the recipient domains and which MX host
 * serves each, the recipients of the warm-up, steady and burst phases, and how the contenders find the MX hosts.
 * <ul>
 *   <li>{@link Kind#BURST}: {@value BenchSettings#MX_HOSTS} MX hosts on 127.0.0.101-104 (ephemeral ports), 
 *       {@value BenchSettings#DOMAINS} domains spread round-robin, no DNS (James gets the records in memory, Postfix
 *       a transport map); at each of {@code bench.latencies}.</li>
 *   <li>{@link Kind#LONG_TAIL}: {@code bench.tailMails} over {@code bench.tailDomains} domains with a Zipf share
 *       ({@link ZipfSplit}); {@link Kind#ONE_PER_DOMAIN}: {@code bench.perDomainMails} mails, each to its own domain.
 *       Both over {@value BenchSettings#DNS_MX_HOSTS} MX hosts {@code mx<n>.dns.bench.test} on port 25 of
 *       127.0.0.121-140 (an MX record carries no port), domain {@code k} served by MX host {@code k mod 20}, every
 *       contender resolving MX and A records through the name server on port 53 of {@code bench.dnsAddress}. The
 *       warm-up goes to one more domain per MX host ({@code w<n>.warm.bench.test}), so the burst's domains are
 *       unknown to every cache when it is released; no steady phase.</li>
 * </ul>
 * The burst's mails are queued in a shuffled order (a fixed seed), so domains come mixed as in a real campaign.
 */
final class Scenario {
    private static final long SHUFFLE_SEED = 15;
    private static final int FIRST_DNS_MX_OCTET = 121;
    static final int SMTP_PORT = 25;

    /** The scenarios, by the name {@code bench.scenarios} lists them with. */
    enum Kind {
        BURST("burst", "4-MX burst", "ours, with the default deliveryThreads and with 10: mails/s at least the "
            + "README's figure at that latency"),
        LONG_TAIL("longtail", "long tail", "ours >= 8x stock and >= 2.5x Postfix mails/s"),
        ONE_PER_DOMAIN("perdomain", "one mail per domain", "ours >= 5x stock and >= 2x Postfix mails/s");

        private final String propertyValue;
        private final String title;
        private final String issueTarget;

        Kind(String propertyValue, String title, String issueTarget) {
            this.propertyValue = propertyValue;
            this.title = title;
            this.issueTarget = issueTarget;
        }

        /** Whether the contenders look MX and A records up through the benchmark's name server. */
        boolean resolvesThroughDns() {
            return this != BURST;
        }

        /** What issue 15 asks of the engine after its rework, for the report (the run does not fail on it). */
        String issueTarget() {
            return issueTarget;
        }

        String propertyValue() {
            return propertyValue;
        }

        String title() {
            return title;
        }

        static Optional<Kind> fromPropertyValue(String value) {
            return Arrays.stream(values()).filter(kind -> kind.propertyValue.equals(value.toLowerCase(Locale.ROOT)))
                .findFirst();
        }
    }

    /** A fake MX host: its name in the MX records, the loopback address and the port it listens on (0: any). */
    static final class MxHost {
        final String name;
        final String address;
        final int port;

        MxHost(String name, String address, int port) {
            this.name = name;
            this.address = address;
            this.port = port;
        }
    }

    private final Kind kind;
    private final List<MxHost> mxHosts;
    private final Map<String, Integer> mxOfDomain;
    private final List<String> warmupDomains;
    private final List<String> burstDomains;
    private final int[] burstDomainOfMail;
    private final List<Integer> latenciesMillis;
    private final Optional<Duration> dnsDelay;
    private final String description;

    private Scenario(Kind kind, List<MxHost> mxHosts, Map<String, Integer> mxOfDomain, List<String> warmupDomains,
                     List<String> burstDomains, int[] burstDomainOfMail, List<Integer> latenciesMillis,
                     Optional<Duration> dnsDelay, String description) {
        this.kind = kind;
        this.mxHosts = List.copyOf(mxHosts);
        this.mxOfDomain = mxOfDomain;
        this.warmupDomains = List.copyOf(warmupDomains);
        this.burstDomains = List.copyOf(burstDomains);
        this.burstDomainOfMail = burstDomainOfMail;
        this.latenciesMillis = List.copyOf(latenciesMillis);
        this.dnsDelay = dnsDelay;
        this.description = description;
    }

    static Scenario of(Kind kind, BenchSettings settings) {
        switch (kind) {
            case BURST:
                return burst(settings);
            case LONG_TAIL:
                return withDns(kind, settings, ZipfSplit.mailsPerDomain(settings.tailMails(), settings.tailDomains(),
                    settings.zipfExponent()), "tail", String.format(Locale.ROOT, "%d mails over %d domains, Zipf "
                    + "exponent %s", settings.tailMails(), settings.tailDomains(), settings.zipfExponent()));
            case ONE_PER_DOMAIN:
                int[] one = new int[settings.perDomainMails()];
                Arrays.fill(one, 1);
                return withDns(kind, settings, one, "once", settings.perDomainMails() + " mails to as many domains");
            default:
                throw new IllegalArgumentException("unknown scenario " + kind);
        }
    }

    private static Scenario burst(BenchSettings settings) {
        List<MxHost> hosts = new ArrayList<>();
        for (int i = 0; i < BenchSettings.MX_HOSTS; i++) {
            hosts.add(new MxHost("mx" + (i + 1) + ".bench.test", "127.0.0." + (101 + i), 0));
        }
        Map<String, Integer> mxOf = new LinkedHashMap<>();
        List<String> domains = new ArrayList<>();
        for (int domain = 1; domain <= BenchSettings.DOMAINS; domain++) {
            String name = "d" + domain + ".bench.test";
            domains.add(name);
            mxOf.put(name, (domain - 1) % BenchSettings.MX_HOSTS);
        }
        int[] domainOfMail = new int[settings.mails()];
        for (int i = 0; i < domainOfMail.length; i++) {
            domainOfMail[i] = i % BenchSettings.DOMAINS;
        }
        return new Scenario(Kind.BURST, hosts, mxOf, domains, domains, domainOfMail, settings.latenciesMillis(),
            Optional.empty(), settings.mails() + " mails over " + BenchSettings.DOMAINS + " domains and "
                + BenchSettings.MX_HOSTS + " MX hosts, no DNS");
    }

    private static Scenario withDns(Kind kind, BenchSettings settings, int[] mailsPerDomain, String zone,
                                    String description) {
        List<MxHost> hosts = new ArrayList<>();
        Map<String, Integer> mxOf = new LinkedHashMap<>();
        List<String> warmup = new ArrayList<>();
        for (int i = 0; i < BenchSettings.DNS_MX_HOSTS; i++) {
            hosts.add(new MxHost("mx" + (i + 1) + ".dns.bench.test", "127.0.0." + (FIRST_DNS_MX_OCTET + i),
                SMTP_PORT));
            String domain = "w" + (i + 1) + ".warm.bench.test";
            warmup.add(domain);
            mxOf.put(domain, i);
        }
        List<String> domains = new ArrayList<>();
        for (int k = 1; k <= mailsPerDomain.length; k++) {
            String domain = "d" + k + "." + zone + ".bench.test";
            domains.add(domain);
            mxOf.put(domain, (k - 1) % BenchSettings.DNS_MX_HOSTS);
        }
        return new Scenario(kind, hosts, mxOf, warmup, domains, ZipfSplit.domainOfEachMail(mailsPerDomain,
            SHUFFLE_SEED), List.of(settings.dnsMxLatencyMillis()), Optional.of(settings.dnsDelay()),
            description + ", " + BenchSettings.DNS_MX_HOSTS + " MX hosts, DNS answers after "
                + settings.dnsDelay().toMillis() + " ms");
    }

    Kind kind() {
        return kind;
    }

    List<MxHost> mxHosts() {
        return mxHosts;
    }

    /** Every domain that gets mail, warm-up ones included, each with the index of its MX host. */
    Map<String, Integer> mxOfDomain() {
        return mxOfDomain;
    }

    int burstMails() {
        return burstDomainOfMail.length;
    }

    String warmupRecipient(int mail) {
        return "user" + mail + "@" + warmupDomains.get(mail % warmupDomains.size());
    }

    /** Recipients of the steady phase (the burst scenario's only). */
    String steadyRecipient(int mail) {
        return warmupRecipient(mail);
    }

    String burstRecipient(int mail) {
        return "user" + mail + "@" + burstDomains.get(burstDomainOfMail[mail]);
    }

    List<Integer> latenciesMillis() {
        return latenciesMillis;
    }

    /** The name server's answer delay when the contenders resolve through DNS; empty when they get no DNS. */
    Optional<Duration> dnsDelay() {
        return dnsDelay;
    }

    boolean resolvesThroughDns() {
        return kind.resolvesThroughDns();
    }

    /** Whether the run has a steady phase (only the burst scenario: the others measure cold caches). */
    boolean steadyPhase() {
        return kind == Kind.BURST;
    }

    String description() {
        return description;
    }

    /**
     * The contenders of this scenario: {@code bench.mailets}, and in the burst our mailet again with each of
     * {@code bench.deliveryThreads}.
     */
    List<ContenderVariant> contenders(BenchSettings settings) {
        List<ContenderVariant> contenders = new ArrayList<>();
        for (BenchSettings.MailetKind mailet : settings.mailets()) {
            contenders.add(ContenderVariant.of(mailet));
            if (mailet == BenchSettings.MailetKind.OURS && kind == Kind.BURST) {
                settings.deliveryThreads().forEach(threads -> contenders.add(ContenderVariant.ours(
                    Map.of("deliveryThreads", String.valueOf(threads)))));
            }
        }
        return contenders;
    }
}

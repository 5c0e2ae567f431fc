package io.github.mxgovernor.it;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.InternetAddress;

import org.apache.james.GuiceJamesServer;
import org.apache.james.MemoryJamesServerMain;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.modules.data.MemoryUsersRepositoryModule;
import org.apache.james.modules.protocols.SmtpGuiceProbe;
import org.apache.james.server.core.configuration.Configuration;
import org.apache.james.utils.DataProbeImpl;
import org.apache.james.utils.GuiceProbe;
import org.apache.james.utils.SpoolerProbe;
import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.mailet.Mail;

import com.google.inject.Module;
import com.google.inject.multibindings.Multibinder;
import com.sun.mail.smtp.SMTPMessage;
import com.sun.mail.smtp.SMTPTransport;

/**
 * A James 3.8.1 memory server inside the test JVM: SMTP on an ephemeral 127.0.0.1 port (loopback clients may relay),
 * mailboxes, mail queues and mail repositories in memory, DNS answered by a {@link LoopbackDns} (or, when the
 * builder names a {@linkplain Builder#nameServer name server}, by James's own dnsjava service asking it), and a
 * {@code mailetcontainer.xml} like James's default whose transport processor runs the remote-delivery mailets the
 * test supplies. Nothing binds or resolves outside loopback.
 *
 * <p>Bounces: {@code RemoteDelivery} sends permanent failures to the {@code bounces} processor, whose
 * {@code DSNBounce} mails a delivery status notification to the envelope sender; for a local sender such as
 * {@link #SENDER} it lands in that user's INBOX ({@link #inboxMessages(String)}). Mails a mailet fails on go to the
 * {@link #ERROR_REPOSITORY}.
 */
public final class EmbeddedJames implements AutoCloseable {
    public static final String DEFAULT_LOCAL_DOMAIN = "james.local";
    /** A local user created at start, allowed to relay from loopback. */
    public static final String SENDER = "sender@" + DEFAULT_LOCAL_DOMAIN;
    public static final String SENDER_PASSWORD = "secret";
    public static final String OUTGOING_QUEUE = "outgoing";
    public static final String BOUNCE_PROCESSOR = "bounces";
    public static final String ERROR_REPOSITORY = "memory://var/mail/error/";
    public static final String ADDRESS_ERROR_REPOSITORY = "memory://var/mail/address-error/";
    public static final String RELAY_DENIED_REPOSITORY = "memory://var/mail/relay-denied/";

    private static final String TEMPLATE_DIRECTORY = "/embedded-james/";
    private static final List<String> TEMPLATES = List.of("mailetcontainer.xml", "smtpserver.xml", "dnsservice.xml",
        "domainlist.xml", "mailrepositorystore.xml", "usersrepository.xml");
    private static final String CLIENT_HELO_NAME = "client.test";
    private static final DateTimeFormatter DATE_FORMAT = DateTimeFormatter.RFC_1123_DATE_TIME.withLocale(Locale.ROOT);

    static {
        // GuiceJamesServer reads this once when its class loads; the default would System.exit the test JVM.
        System.setProperty("james.exit.on.startup.error", "false");
    }

    private final GuiceJamesServer server;
    private final LoopbackDns dns;
    private final Path workingDirectory;
    private final boolean ownsWorkingDirectory;
    private final Duration startupTime;
    private final int smtpPort;
    private final String localDomain;

    private EmbeddedJames(GuiceJamesServer server, LoopbackDns dns, Path workingDirectory,
                          boolean ownsWorkingDirectory, Duration startupTime, String localDomain) {
        this.server = server;
        this.dns = dns;
        this.workingDirectory = workingDirectory;
        this.ownsWorkingDirectory = ownsWorkingDirectory;
        this.startupTime = startupTime;
        this.localDomain = localDomain;
        this.smtpPort = server.getProbe(SmtpGuiceProbe.class).getSmtpPort().getValue();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The XML of a {@code <mailet>} element: {@code mailet("HasMailAttribute=RelayAllowed", "RemoteDelivery",
     * Map.of("outgoingQueue", "outgoing"))}. Parameter values are escaped.
     */
    public static String mailet(String matcher, String mailetClass, Map<String, String> parameters) {
        StringBuilder xml = new StringBuilder("            <mailet match=\"").append(escape(matcher))
            .append("\" class=\"").append(escape(mailetClass)).append("\">\n");
        parameters.forEach((name, value) -> xml.append("                <").append(name).append('>')
            .append(escape(value)).append("</").append(name).append(">\n"));
        return xml.append("            </mailet>\n").toString();
    }

    /**
     * James's stock {@code RemoteDelivery} for relayed mail, tuned for tests: queue {@link #OUTGOING_QUEUE}, bounces to
     * {@link #BOUNCE_PROCESSOR}, {@code sendpartial}, short timeouts. {@code extraParameters} add to or replace these.
     *
     * <p>James 3.8.1 ignores {@code deliveryThreads}: the mailet delivers up to Reactor's bounded-elastic size
     * ({@code 10 x CPUs}) mails at once, each on a new connection.
     *
     * @param delayTime retry delays in RemoteDelivery's syntax, e.g. {@code "3*200ms"}
     */
    public static String stockRemoteDelivery(String delayTime, int maxRetries, Map<String, String> extraParameters) {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("outgoingQueue", OUTGOING_QUEUE);
        parameters.put("delayTime", delayTime);
        parameters.put("maxRetries", String.valueOf(maxRetries));
        parameters.put("maxDnsProblemRetries", "0");
        parameters.put("sendpartial", "true");
        parameters.put("bounceProcessor", BOUNCE_PROCESSOR);
        parameters.put("connectiontimeout", "5000");
        parameters.put("timeout", "10000");
        parameters.putAll(extraParameters);
        return mailet("HasMailAttribute=RelayAllowed", "RemoteDelivery", parameters);
    }

    /**
     * Our {@code GovernedRemoteDelivery} for relayed mail: queue {@link #OUTGOING_QUEUE}, the rules file {@code rules},
     * bounces to {@link #BOUNCE_PROCESSOR}, delivered copies to the {@code delivered} processor (which keeps them in
     * {@code memory://var/mail/delivered/}). {@code extraParameters} add to or replace these.
     */
    public static String governedRemoteDelivery(Path rules, Map<String, String> extraParameters) {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("outgoing", OUTGOING_QUEUE);
        parameters.put("rules", rules.toString());
        parameters.put("bounceProcessor", BOUNCE_PROCESSOR);
        parameters.put("onSuccess", "delivered");
        parameters.putAll(extraParameters);
        return mailet("HasMailAttribute=RelayAllowed", "io.github.mxgovernor.james.GovernedRemoteDelivery", parameters);
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Configures and starts an {@link EmbeddedJames}. */
    public static final class Builder {
        private String transportMailets;
        private String localDomain = DEFAULT_LOCAL_DOMAIN;
        private int spoolerThreads = 20;
        private LoopbackDns dns = new LoopbackDns();
        private InetAddress nameServer;
        private final List<Consumer<LoopbackDns>> dnsRecords = new ArrayList<>();
        private final Map<String, String> users = new LinkedHashMap<>();
        private final Map<String, String> extraConfigurationFiles = new LinkedHashMap<>();
        private final List<Module> modules = new ArrayList<>();
        private final List<Module> overrides = new ArrayList<>();
        private Path givenWorkingDirectory;

        private Builder() {
            users.put(SENDER, SENDER_PASSWORD);
        }

        /**
         * The {@code <mailet>} elements placed in the transport processor where James's default has
         * {@code RemoteDelivery}: after the RelayAllowed markers, before the fall-through to relay-denied. Required.
         */
        public Builder transportMailets(String xml) {
            this.transportMailets = Objects.requireNonNull(xml, "xml");
            return this;
        }

        /**
         * Changes the local domain (default {@value #DEFAULT_LOCAL_DOMAIN}); {@link #SENDER} exists only in the
         * default one.
         */
        public Builder localDomain(String localDomain) {
            this.localDomain = Objects.requireNonNull(localDomain, "localDomain");
            if (!localDomain.equals(DEFAULT_LOCAL_DOMAIN)) {
                users.remove(SENDER);
            }
            return this;
        }

        public Builder spoolerThreads(int spoolerThreads) {
            if (spoolerThreads < 1) {
                throw new IllegalArgumentException("spoolerThreads must be positive, got " + spoolerThreads);
            }
            this.spoolerThreads = spoolerThreads;
            return this;
        }

        /** Adds a local user (its domain must be the local domain). */
        public Builder user(String address, String password) {
            users.put(Objects.requireNonNull(address, "address"), Objects.requireNonNull(password, "password"));
            return this;
        }

        /**
         * Uses this DNS instead of an empty one; records given to {@code mx(...)} are added to it at start. It stays
         * changeable while James runs.
         */
        public Builder dns(LoopbackDns dns) {
            this.dns = Objects.requireNonNull(dns, "dns");
            return this;
        }

        /**
         * Resolves through James's own DNS service ({@code DNSJavaService}, configured by {@code dnsservice.xml}, with
         * its cache) asking only the name server on port 53 of {@code loopbackAddress}, instead of a
         * {@link LoopbackDns}: for tests that measure real lookups. Records given to {@code mx(...)} and {@link #dns}
         * then have no effect.
         */
        public Builder nameServer(InetAddress loopbackAddress) {
            if (!loopbackAddress.isLoopbackAddress()) {
                throw new IllegalArgumentException("the name server must be on loopback, got " + loopbackAddress);
            }
            this.nameServer = loopbackAddress;
            return this;
        }

        /** One MX for {@code domain}: {@code mxHost:port}, with {@code mxHost} resolving to {@code ip}. */
        public Builder mx(String domain, String mxHost, String ip, int port) {
            dnsRecords.add(target -> target.host(mxHost, ip).mx(domain, mxHost + ":" + port));
            return this;
        }

        /** One MX for {@code domain} served by {@code server} under the name {@code mxHost}. */
        public Builder mx(String domain, String mxHost, FakeMxServer server) {
            return mx(domain, mxHost, server.address().getHostAddress(), server.port());
        }

        /**
         * Writes another file into James's {@code conf/} directory (e.g. {@code mx-rules.xml},
         * {@code extensions.properties}).
         */
        public Builder configurationFile(String fileName, String content) {
            if (TEMPLATES.contains(fileName)) {
                throw new IllegalArgumentException(fileName + " is generated by EmbeddedJames and cannot be replaced");
            }
            extraConfigurationFiles.put(fileName, Objects.requireNonNull(content, "content"));
            return this;
        }

        /** Adds Guice modules to the server (e.g. the one that binds a custom mailet's collaborators). */
        public Builder module(Module... modules) {
            this.modules.addAll(List.of(modules));
            return this;
        }

        /** Overrides bindings of the server (applied after the DNS override). */
        public Builder override(Module... overrides) {
            this.overrides.addAll(List.of(overrides));
            return this;
        }

        /**
         * Runs James in this directory (its {@code conf/} written again at each start, the rest kept) instead of a
         * temporary one, and leaves it when James stops: a second James started on it finds what the first stored
         * in persistent repositories ({@code file://}).
         */
        public Builder workingDirectory(Path directory) {
            this.givenWorkingDirectory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /** Writes the configuration to a temporary directory and starts James; fails if James does not start. */
        public EmbeddedJames start() throws Exception {
            if (transportMailets == null) {
                throw new IllegalStateException("transportMailets must be set");
            }
            long begin = System.nanoTime();
            dnsRecords.forEach(record -> record.accept(dns));
            boolean owned = givenWorkingDirectory == null;
            Path workingDirectory = owned ? Files.createTempDirectory("embedded-james-")
                : Files.createDirectories(givenWorkingDirectory);
            try {
                writeConfiguration(workingDirectory.resolve("conf"));
                GuiceJamesServer server = GuiceJamesServer.forConfiguration(Configuration.builder()
                        .workingDirectory(workingDirectory.toFile())
                        .configurationPath(new Configuration.ConfigurationPath("file://conf/"))
                        .build())
                    .combineWith(MemoryJamesServerMain.SMTP_ONLY_MODULE, new MemoryUsersRepositoryModule())
                    .combineWith(binder -> Multibinder.newSetBinder(binder, GuiceProbe.class).addBinding()
                        .to(EmbeddedJamesProbe.class))
                    .combineWith(modules);
                if (nameServer == null) {
                    server = server.overrideWith(binder -> binder.bind(DNSService.class).toInstance(dns));
                }
                server = server.overrideWith(overrides);
                try {
                    server.start();
                    addDomainAndUsers(server);
                } catch (Exception e) {
                    server.stop();
                    throw e;
                }
                return new EmbeddedJames(server, dns, workingDirectory, owned,
                    Duration.ofNanos(System.nanoTime() - begin), localDomain);
            } catch (Exception e) {
                if (owned) {
                    deleteRecursively(workingDirectory);
                }
                throw e;
            }
        }

        private void writeConfiguration(Path conf) throws IOException {
            Files.createDirectories(conf);
            for (String template : TEMPLATES) {
                String content = readTemplate(template)
                    .replace("@TRANSPORT_MAILETS@", transportMailets)
                    .replace("@LOCAL_DOMAIN@", localDomain)
                    .replace("@SPOOLER_THREADS@", String.valueOf(spoolerThreads))
                    .replace("@NAME_SERVER@", nameServer == null ? "127.0.0.1" : nameServer.getHostAddress());
                Files.writeString(conf.resolve(template), content);
            }
            for (Map.Entry<String, String> file : extraConfigurationFiles.entrySet()) {
                Files.writeString(conf.resolve(file.getKey()), file.getValue());
            }
        }

        private static String readTemplate(String name) throws IOException {
            try (InputStream in = EmbeddedJames.class.getResourceAsStream(TEMPLATE_DIRECTORY + name)) {
                if (in == null) {
                    throw new IOException("missing template " + TEMPLATE_DIRECTORY + name + " on the test classpath");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }

        private void addDomainAndUsers(GuiceJamesServer server) throws Exception {
            DataProbeImpl data = server.getProbe(DataProbeImpl.class);
            if (!data.containsDomain(localDomain)) {
                data.addDomain(localDomain);
            }
            for (Map.Entry<String, String> user : users.entrySet()) {
                data.addUser(user.getKey(), user.getValue());
            }
        }
    }

    /** The port of James's SMTP server on 127.0.0.1. */
    public int smtpPort() {
        return smtpPort;
    }

    public String localDomain() {
        return localDomain;
    }

    /** From the builder's {@code start()} call to a running server with its domain and users. */
    public Duration startupTime() {
        return startupTime;
    }

    /** The in-memory DNS James resolves with, records changeable while it runs; unused with a name server. */
    public LoopbackDns dns() {
        return dns;
    }

    public Path workingDirectory() {
        return workingDirectory;
    }

    /** The Guice server, for James's own probes ({@code server().getProbe(...)}). */
    public GuiceJamesServer server() {
        return server;
    }

    public EmbeddedJamesProbe probe() {
        return server.getProbe(EmbeddedJamesProbe.class);
    }

    /** Sends one mail through James's SMTP server and returns its Message-ID. */
    public String sendMail(String from, String... to) throws MessagingException {
        List<String> recipients = List.of(to);
        return sendMails(1, from, index -> recipients).get(0);
    }

    /**
     * Sends {@code count} mails from {@code from} over one SMTP connection to James; mail {@code i} (from 0) goes to
     * {@code recipientsOf.apply(i)}. Each mail has a unique Message-ID and a body line that starts with a dot, so
     * dot-stuffing is exercised end to end.
     *
     * @return the Message-IDs, in sending order
     */
    public List<String> sendMails(int count, String from, IntFunction<List<String>> recipientsOf)
        throws MessagingException {
        Properties properties = new Properties();
        properties.setProperty("mail.smtp.localhost", CLIENT_HELO_NAME);
        properties.setProperty("mail.smtp.connectiontimeout", "10000");
        properties.setProperty("mail.smtp.timeout", "30000");
        Session session = Session.getInstance(properties);
        String batch = UUID.randomUUID().toString();
        List<String> messageIds = new ArrayList<>(count);
        SMTPTransport transport = (SMTPTransport) session.getTransport("smtp");
        transport.connect("127.0.0.1", smtpPort, null, null);
        try {
            for (int i = 0; i < count; i++) {
                List<String> recipients = recipientsOf.apply(i);
                String messageId = "<" + batch + "." + i + "@" + localDomain + ">";
                SMTPMessage message = new SMTPMessage(session, new ByteArrayInputStream(
                    rfc5322(from, recipients, messageId, i).getBytes(StandardCharsets.UTF_8)));
                message.setEnvelopeFrom(from);
                transport.sendMessage(message, toAddresses(recipients));
                messageIds.add(messageId);
            }
        } finally {
            transport.close();
        }
        return messageIds;
    }

    private static InternetAddress[] toAddresses(List<String> recipients) throws MessagingException {
        InternetAddress[] addresses = new InternetAddress[recipients.size()];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = new InternetAddress(recipients.get(i), true);
        }
        return addresses;
    }

    private static String rfc5322(String from, List<String> recipients, String messageId, int index) {
        return "From: <" + from + ">\r\n"
            + "To: " + recipients.stream().map(r -> "<" + r + ">").collect(Collectors.joining(", ")) + "\r\n"
            + "Subject: test mail " + index + "\r\n"
            + "Date: " + DATE_FORMAT.format(ZonedDateTime.now()) + "\r\n"
            + "Message-ID: " + messageId + "\r\n"
            + "MIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=UTF-8\r\n"
            + "\r\n"
            + "Test mail " + index + ".\r\n"
            + ".a line that starts with a dot\r\n";
    }

    /** The full content of each message in {@code user}'s INBOX, decoded as UTF-8, oldest first. */
    public List<String> inboxMessages(String user) throws Exception {
        return probe().inboxMessages(user).stream()
            .map(bytes -> new String(bytes, StandardCharsets.UTF_8))
            .collect(Collectors.toList());
    }

    /** Mails in a mail queue such as {@link #OUTGOING_QUEUE}, including those being delivered right now. */
    public long queueSize(String queueName) throws MessagingException {
        return probe().queueSize(queueName);
    }

    /**
     * Makes every waiting mail of a queue due now (ends a retry delay early). Mails being delivered at that moment are
     * not affected and keep whatever delay their attempt sets.
     */
    public void flushQueue(String queueName) throws MessagingException {
        probe().flushQueue(queueName);
    }

    /** Mails in a mail repository such as {@link #ERROR_REPOSITORY}. */
    public long repositorySize(String url) throws Exception {
        return probe().repositorySize(url);
    }

    public List<Mail> repositoryMails(String url) throws Exception {
        return probe().repositoryMails(url);
    }

    /** Reads what a test needs of one stored mail, before the mail is disposed. */
    @FunctionalInterface
    public interface MailReader<T> {
        Optional<T> read(Mail mail) throws Exception;
    }

    /**
     * What {@code reader} finds in each mail of the repository with a recipient {@code recipients} accepts, in the
     * repository's order; every mail is disposed once read.
     */
    public <T> List<T> readMails(String url, Predicate<MailAddress> recipients, MailReader<T> reader)
            throws Exception {
        List<T> found = new ArrayList<>();
        for (Mail mail : repositoryMails(url)) {
            try {
                if (mail.getRecipients().stream().anyMatch(recipients)) {
                    reader.read(mail).ifPresent(found::add);
                }
            } finally {
                LifecycleUtil.dispose(mail);
            }
        }
        return found;
    }

    /** Recipients in this domain. */
    public static Predicate<MailAddress> inDomain(String domain) {
        return address -> address.getDomain().asString().equals(domain);
    }

    /** This one recipient. */
    public static Predicate<MailAddress> recipient(String address) {
        return candidate -> candidate.asString().equals(address);
    }

    /** Whether the spooler has no mail in processing (mail may still wait in queues). */
    public boolean spoolerIdle() {
        return server.getProbe(SpoolerProbe.class).processingFinished();
    }

    /** Stops James and deletes its working directory, unless the builder was given it. */
    @Override
    public void close() {
        try {
            server.stop();
        } finally {
            if (ownsWorkingDirectory) {
                deleteRecursively(workingDirectory);
            }
        }
    }

    private static void deleteRecursively(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + directory, e);
        }
    }
}

package io.github.mxgovernor.it;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A name server on one loopback address, over UDP, for a resolver outside the test's control: James's
 * {@code dnsservice.xml} (which names servers by address only, always on port 53) or a Postfix instance's
 * {@code resolv.conf}. It answers MX and A queries from the records it was given, NODATA for other types of a known
 * name and NXDOMAIN for every other name, both with an SOA record so resolvers may cache them; it never asks any other
 * server, so nothing leaves the machine. Each answer may be held back by a fixed delay, as a remote name server's
 * round trip would, without holding back the answers to other queries meanwhile; queries about a name it was told to
 * {@linkplain #hang(String) hang} on are never answered, as by a dead name server. TXT records may be given too.
 * Answers are small, so no query needs TCP.
 */
public final class LoopbackDnsServer implements AutoCloseable {
    /** The only port resolvers configured by address alone ask. */
    public static final int PORT = 53;
    /** TTL of every record and of negative answers: long enough that a cache keeps all of a run. */
    public static final long TTL_SECONDS = 3600;

    private final DatagramSocket socket;
    private final Duration answerDelay;
    private final Map<Name, List<Name>> mx = new ConcurrentHashMap<>();
    private final Map<Name, List<InetAddress>> addresses = new ConcurrentHashMap<>();
    private final Map<Name, List<String>> texts = new ConcurrentHashMap<>();
    private final Set<Name> hanging = ConcurrentHashMap.newKeySet();
    private final LongAdder unanswered = new LongAdder();
    private volatile long lastUnansweredNanos;
    private final Queue<String> queries = new ConcurrentLinkedQueue<>();
    private final Map<String, LongAdder> queryCounts = new ConcurrentHashMap<>();
    private final Thread thread;
    private final ScheduledExecutorService delayedAnswers;

    /**
     * Binds UDP port 53 of {@code address}; answers at once.
     *
     * @throws SocketException when the port is taken or this process may not bind privileged ports
     */
    public LoopbackDnsServer(InetAddress address) throws SocketException {
        this(new InetSocketAddress(address, PORT), Duration.ZERO);
    }

    /**
     * Binds UDP {@code endpoint} (port 0 for an ephemeral one) and sends each answer {@code answerDelay} after its
     * query arrived.
     *
     * @throws IllegalArgumentException when {@code endpoint} is not a loopback address or the delay is negative
     * @throws SocketException when the port is taken or this process may not bind it
     */
    public LoopbackDnsServer(InetSocketAddress endpoint, Duration answerDelay) throws SocketException {
        Objects.requireNonNull(endpoint, "endpoint");
        if (endpoint.getAddress() == null || !endpoint.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("a LoopbackDnsServer binds a loopback address only, got " + endpoint);
        }
        if (answerDelay.isNegative()) {
            throw new IllegalArgumentException("answerDelay must not be negative, got " + answerDelay);
        }
        this.answerDelay = answerDelay;
        socket = new DatagramSocket(null);
        try {
            socket.bind(endpoint);
        } catch (SocketException e) {
            socket.close();
            throw e;
        }
        String name = "loopback-dns-" + endpoint.getAddress().getHostAddress();
        delayedAnswers = answerDelay.isZero() ? null : Executors.newSingleThreadScheduledExecutor(task -> {
            Thread answering = new Thread(task, name + "-answers");
            answering.setDaemon(true);
            return answering;
        });
        thread = new Thread(this::serve, name);
        thread.setDaemon(true);
        thread.start();
    }

    public InetAddress address() {
        return socket.getLocalAddress();
    }

    /** The bound port: {@value #PORT}, or the ephemeral one. */
    public int port() {
        return socket.getLocalPort();
    }

    /** Sets the MX hosts of {@code domain}, all with preference 10. */
    public LoopbackDnsServer mx(String domain, String... hosts) {
        List<Name> targets = new ArrayList<>();
        for (String host : hosts) {
            targets.add(name(host));
        }
        mx.put(name(domain), List.copyOf(targets));
        return this;
    }

    /** Sets the A records of {@code host}. */
    public LoopbackDnsServer a(String host, InetAddress... hostAddresses) {
        addresses.put(name(host), List.of(hostAddresses));
        return this;
    }

    /** Sets the TXT records of {@code name}, one string each. */
    public LoopbackDnsServer txt(String name, String... strings) {
        texts.put(name(name), List.of(strings));
        return this;
    }

    /** Never answers a query about {@code name} (of any type), from now on. */
    public LoopbackDnsServer hang(String name) {
        hanging.add(name(name));
        return this;
    }

    /** Answers queries about {@code name} again, from now on. */
    public LoopbackDnsServer stopHanging(String name) {
        hanging.remove(name(name));
        return this;
    }

    /** Queries received and left without an answer (about a name it hangs on). */
    public long unansweredQueries() {
        return unanswered.sum();
    }

    /** How long ago the last query left without an answer arrived; empty when none did. */
    public Optional<Duration> sinceLastUnanswered() {
        return unanswered.sum() == 0 ? Optional.empty()
            : Optional.of(Duration.ofNanos(System.nanoTime() - lastUnansweredNanos));
    }

    /** The queries received so far, as {@code "TYPE name."} (e.g. {@code "MX example.test."}), in arrival order. */
    public List<String> queries() {
        return new ArrayList<>(queries);
    }

    /** How many queries were received so far, by type ({@code "MX"}, {@code "A"}, {@code "TXT"} ...). */
    public SortedMap<String, Long> queryCounts() {
        SortedMap<String, Long> counts = new TreeMap<>();
        queryCounts.forEach((type, count) -> counts.put(type, count.sum()));
        return counts;
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(5_000);
        if (delayedAnswers != null) {
            delayedAnswers.shutdownNow();
            delayedAnswers.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private void serve() {
        byte[] buffer = new byte[4096];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
                byte[] answer = answer(new Message(Arrays.copyOf(packet.getData(), packet.getLength())));
                if (answer == null) {
                    continue;
                }
                DatagramPacket reply = new DatagramPacket(answer, answer.length, packet.getSocketAddress());
                if (delayedAnswers == null) {
                    socket.send(reply);
                } else {
                    delayedAnswers.schedule(() -> send(reply), answerDelay.toNanos(), TimeUnit.NANOSECONDS);
                }
            } catch (IOException e) {
                // closed, or a packet that is not a DNS query: nothing to answer
            }
        }
    }

    private void send(DatagramPacket reply) {
        try {
            socket.send(reply);
        } catch (IOException closed) {
            // the server closed while the answer waited
        }
    }

    /** The answer to send, or null to send none. */
    private byte[] answer(Message query) {
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        response.getHeader().setFlag(Flags.RA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
        }
        Record question = query.getQuestion();
        if (question == null) {
            response.getHeader().setRcode(Rcode.FORMERR);
            return response.toWire();
        }
        response.addRecord(question, Section.QUESTION);
        Name name = question.getName();
        String type = Type.string(question.getType());
        queries.add(type + " " + name);
        queryCounts.computeIfAbsent(type, any -> new LongAdder()).increment();
        if (hanging.contains(name)) {
            lastUnansweredNanos = System.nanoTime();
            unanswered.increment();
            return null;
        }
        List<Name> mxTargets = mx.get(name);
        List<InetAddress> hostAddresses = addresses.get(name);
        List<String> textRecords = texts.get(name);
        if (mxTargets == null && hostAddresses == null && textRecords == null) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
            response.addRecord(soa(name), Section.AUTHORITY);
        } else if (question.getType() == Type.MX && mxTargets != null) {
            mxTargets.forEach(target -> response.addRecord(new MXRecord(name, DClass.IN, TTL_SECONDS, 10, target),
                Section.ANSWER));
        } else if (question.getType() == Type.A && hostAddresses != null) {
            hostAddresses.forEach(address -> response.addRecord(new ARecord(name, DClass.IN, TTL_SECONDS, address),
                Section.ANSWER));
        } else if (question.getType() == Type.TXT && textRecords != null) {
            textRecords.forEach(text -> response.addRecord(new TXTRecord(name, DClass.IN, TTL_SECONDS, text),
                Section.ANSWER));
        } else {
            response.addRecord(soa(name), Section.AUTHORITY);
        }
        return response.toWire();
    }

    /** The SOA of a negative answer, owned by the name's last two labels (the fake zone), minimum TTL as records. */
    private static SOARecord soa(Name name) {
        Name zone = name.labels() > 3 ? new Name(name, name.labels() - 3) : name;
        return new SOARecord(zone, DClass.IN, TTL_SECONDS, Name.fromConstantString("ns.loopback.test."),
            Name.fromConstantString("hostmaster.loopback.test."), 1, 3600, 600, 86400, TTL_SECONDS);
    }

    private static Name name(String text) {
        try {
            return Name.fromString(text.toLowerCase(Locale.ROOT), Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a domain name: '" + text + "'", e);
        }
    }
}

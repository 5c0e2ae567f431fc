package io.github.mxgovernor.tls.dane;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A recursive resolver stand-in on 127.0.0.1 (UDP and TCP on one free port) that answers from {@link TestZone}s
 * it holds in full, with their DNSSEC records: answers, CNAME chains, NODATA and NXDOMAIN with NSEC proofs, DS
 * queries answered by the parent zone. Over UDP an answer larger than the query's EDNS size (512 without EDNS) is
 * truncated, so the client retries over TCP. Names can be made to get SERVFAIL or no answer at all.
 */
public final class FakeDnsServer implements AutoCloseable {
    private static final int MAX_CNAME_CHAIN = 8;

    private final List<TestZone> zones;
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final ExecutorService threads = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "fake-dns");
        thread.setDaemon(true);
        return thread;
    });
    private final Set<Name> servfail = ConcurrentHashMap.newKeySet();
    private final Set<Name> silent = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tcpQueries = new AtomicInteger();

    private FakeDnsServer(List<TestZone> zones, DatagramSocket udp, ServerSocket tcp) {
        this.zones = List.copyOf(zones);
        this.udp = udp;
        this.tcp = tcp;
        threads.execute(this::serveUdp);
        threads.execute(this::acceptTcp);
    }

    public static FakeDnsServer start(TestZone... zones) throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        for (int attempt = 0; ; attempt++) {
            DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0));
            try {
                ServerSocket tcp = new ServerSocket(udp.getLocalPort(), 16, loopback);
                return new FakeDnsServer(List.of(zones), udp, tcp);
            } catch (BindException portTakenForTcp) {
                udp.close();
                if (attempt == 20) {
                    throw portTakenForTcp;
                }
            }
        }
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(udp.getLocalAddress(), udp.getLocalPort());
    }

    /** Queries for this name get SERVFAIL from now on. */
    public void answerServfail(Name name) {
        servfail.add(name);
    }

    /** Queries for this name get no answer from now on. */
    public void ignore(Name name) {
        silent.add(name);
    }

    /** How many queries came over TCP. */
    public int tcpQueries() {
        return tcpQueries.get();
    }

    @Override
    public void close() throws InterruptedException {
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // closing a listening socket only fails when it is already closed
        }
        threads.shutdownNow();
        threads.awaitTermination(5, TimeUnit.SECONDS);
    }

    private void serveUdp() {
        byte[] buffer = new byte[65535];
        while (!udp.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
                Message query = new Message(Arrays.copyOf(packet.getData(), packet.getLength()));
                Optional<Message> response = answer(query);
                if (response.isPresent()) {
                    OPTRecord edns = query.getOPT();
                    byte[] wire = response.get().toWire(edns == null ? 512 : Math.max(512, edns.getPayloadSize()));
                    udp.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
                }
            } catch (IOException closedOrMalformed) {
                // a closed socket ends the loop; a malformed query gets no answer
            }
        }
    }

    private void acceptTcp() {
        while (!tcp.isClosed()) {
            try {
                Socket connection = tcp.accept();
                threads.execute(() -> serveTcp(connection));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serveTcp(Socket connection) {
        try (connection) {
            DataInputStream in = new DataInputStream(connection.getInputStream());
            DataOutputStream out = new DataOutputStream(connection.getOutputStream());
            while (true) {
                byte[] query = new byte[in.readUnsignedShort()];
                in.readFully(query);
                tcpQueries.incrementAndGet();
                Optional<Message> response = answer(new Message(query));
                if (response.isPresent()) {
                    byte[] wire = response.get().toWire();
                    out.writeShort(wire.length);
                    out.write(wire);
                    out.flush();
                }
            }
        } catch (EOFException clientDone) {
            // the client closed the connection between queries
        } catch (IOException e) {
            // the client went away mid-query or the server is closing
        }
    }

    private Optional<Message> answer(Message query) {
        Message response = new Message(query.getHeader().getID());
        Header header = response.getHeader();
        header.setFlag(Flags.QR);
        header.setFlag(Flags.RA);
        if (query.getHeader().getFlag(Flags.RD)) {
            header.setFlag(Flags.RD);
        }
        Record question = query.getQuestion();
        if (question == null) {
            header.setRcode(Rcode.FORMERR);
            return Optional.of(response);
        }
        if (silent.contains(question.getName())) {
            return Optional.empty();
        }
        response.addRecord(question, Section.QUESTION);
        if (servfail.contains(question.getName())) {
            header.setRcode(Rcode.SERVFAIL);
        } else {
            resolve(response, question.getName(), question.getType(), 0);
        }
        if (query.getOPT() != null) {
            response.addRecord(new OPTRecord(1232, 0, 0, query.getOPT().getFlags() & ExtendedFlags.DO),
                Section.ADDITIONAL);
        }
        return Optional.of(response);
    }

    private void resolve(Message response, Name name, int type, int depth) {
        Optional<TestZone> found = zoneFor(name, type);
        if (found.isEmpty()) {
            response.getHeader().setRcode(Rcode.REFUSED);
            return;
        }
        TestZone zone = found.get();
        Optional<RRset> data = zone.rrset(name, type);
        if (data.isPresent()) {
            add(response, data.get(), Section.ANSWER);
            return;
        }
        Optional<RRset> alias = zone.rrset(name, Type.CNAME);
        if (alias.isPresent() && depth < MAX_CNAME_CHAIN) {
            add(response, alias.get(), Section.ANSWER);
            resolve(response, ((CNAMERecord) alias.get().first()).getTarget(), type, depth + 1);
            return;
        }
        add(response, zone.soa(), Section.AUTHORITY);
        zone.nsecFor(name).ifPresent(nsec -> add(response, nsec, Section.AUTHORITY));
        if (!zone.exists(name)) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
            zone.nsecFor(zone.wildcard).ifPresent(nsec -> add(response, nsec, Section.AUTHORITY));
        }
    }

    /** The deepest zone holding the name; for DS at a zone's apex, the parent zone. */
    private Optional<TestZone> zoneFor(Name name, int type) {
        TestZone best = null;
        for (TestZone zone : zones) {
            boolean holds = name.subdomain(zone.origin) && !(type == Type.DS && name.equals(zone.origin));
            if (holds && (best == null || zone.origin.labels() > best.origin.labels())) {
                best = zone;
            }
        }
        return Optional.ofNullable(best);
    }

    private static void add(Message response, RRset rrset, int section) {
        for (Record record : rrset.rrs()) {
            if (!response.findRecord(record, section)) {
                response.addRecord(record, section);
            }
        }
        for (Record signature : rrset.sigs()) {
            if (!response.findRecord(signature, section)) {
                response.addRecord(signature, section);
            }
        }
    }
}

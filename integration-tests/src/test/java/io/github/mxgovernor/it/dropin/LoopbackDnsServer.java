package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A DNS server for a James process: UDP on port 53 of one loopback address (James's {@code dnsservice.xml} names
 * servers by address only, always on port 53), answering MX and A queries from the records it was given,
 * NODATA for other types of a known name and NXDOMAIN for every other name, so nothing leaves the machine.
 * Answers are small, so no query needs TCP.
 */
final class LoopbackDnsServer implements AutoCloseable {
    static final int PORT = 53;
    private static final long TTL = 60;

    private final DatagramSocket socket;
    private final Map<Name, List<Name>> mx = new ConcurrentHashMap<>();
    private final Map<Name, List<InetAddress>> addresses = new ConcurrentHashMap<>();
    private final Queue<String> queries = new ConcurrentLinkedQueue<>();
    private final Thread thread;

    /**
     * Binds UDP port 53 of {@code address}.
     *
     * @throws SocketException when the port is taken or this process may not bind privileged ports
     */
    LoopbackDnsServer(InetAddress address) throws SocketException {
        if (!address.isLoopbackAddress()) {
            throw new IllegalArgumentException("address must be a loopback address, got " + address);
        }
        socket = new DatagramSocket(null);
        try {
            socket.bind(new InetSocketAddress(address, PORT));
        } catch (SocketException e) {
            socket.close();
            throw e;
        }
        thread = new Thread(this::serve, "loopback-dns-" + address.getHostAddress());
        thread.setDaemon(true);
        thread.start();
    }

    InetAddress address() {
        return socket.getLocalAddress();
    }

    /** Sets the MX hosts of {@code domain}, all with preference 10. */
    LoopbackDnsServer mx(String domain, String... hosts) {
        List<Name> targets = new ArrayList<>();
        for (String host : hosts) {
            targets.add(name(host));
        }
        mx.put(name(domain), List.copyOf(targets));
        return this;
    }

    /** Sets the A records of {@code host}. */
    LoopbackDnsServer a(String host, InetAddress... hostAddresses) {
        addresses.put(name(host), List.of(hostAddresses));
        return this;
    }

    /** The queries received so far, as {@code "TYPE name."} (e.g. {@code "MX example.test."}), in arrival order. */
    List<String> queries() {
        return new ArrayList<>(queries);
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(5_000);
    }

    private void serve() {
        byte[] buffer = new byte[4096];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
                byte[] answer = answer(new Message(Arrays.copyOf(packet.getData(), packet.getLength())));
                socket.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
            } catch (IOException e) {
                // closed, or a packet that is not a DNS query: nothing to answer
            }
        }
    }

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
        queries.add(Type.string(question.getType()) + " " + name);
        List<Name> mxTargets = mx.get(name);
        List<InetAddress> hostAddresses = addresses.get(name);
        if (mxTargets == null && hostAddresses == null) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
        } else if (question.getType() == Type.MX && mxTargets != null) {
            mxTargets.forEach(target -> response.addRecord(new MXRecord(name, DClass.IN, TTL, 10, target),
                Section.ANSWER));
        } else if (question.getType() == Type.A && hostAddresses != null) {
            hostAddresses.forEach(address -> response.addRecord(new ARecord(name, DClass.IN, TTL, address),
                Section.ANSWER));
        }
        return response.toWire();
    }

    private static Name name(String text) {
        try {
            return Name.fromString(text.toLowerCase(Locale.ROOT), Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a domain name: '" + text + "'", e);
        }
    }
}

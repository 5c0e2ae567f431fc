package io.github.mxgovernor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

class LoopbackDnsServerTest {
    private LoopbackDnsServer server;

    @AfterEach
    void close() throws InterruptedException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldAnswerMxAndAQueriesFromItsRecordsAndCountThemByType() throws Exception {
        server = start(Duration.ZERO);
        server.mx("d1.tail.bench.test", "mx1.dns.bench.test")
            .a("mx1.dns.bench.test", InetAddress.getByName("127.0.0.121"));

        Message mx = query("d1.tail.bench.test.", Type.MX);
        Message a = query("MX1.dns.bench.test.", Type.A);

        assertThat(mx.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(mx.getSection(Section.ANSWER)).singleElement().satisfies(record -> {
            assertThat(((MXRecord) record).getTarget()).isEqualTo(Name.fromString("mx1.dns.bench.test."));
            assertThat(record.getTTL()).isEqualTo(LoopbackDnsServer.TTL_SECONDS);
        });
        assertThat(a.getSection(Section.ANSWER)).singleElement()
            .satisfies(record -> assertThat(((ARecord) record).getAddress().getHostAddress()).isEqualTo("127.0.0.121"));
        assertThat(server.queryCounts()).containsExactly(entry("A", 1L), entry("MX", 1L));
        assertThat(server.queries()).containsExactly("MX d1.tail.bench.test.", "A MX1.dns.bench.test.");
    }

    @Test
    void shouldAnswerNodataWithAnSoaForAnotherTypeOfAKnownName() throws Exception {
        server = start(Duration.ZERO);
        server.mx("d1.tail.bench.test", "mx1.dns.bench.test");

        Message txt = query("d1.tail.bench.test.", Type.TXT);

        assertThat(txt.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(txt.getSection(Section.ANSWER)).isEmpty();
        assertThat(txt.getSection(Section.AUTHORITY)).singleElement().satisfies(record -> {
            assertThat(record.getType()).isEqualTo(Type.SOA);
            assertThat(record.getName()).isEqualTo(Name.fromString("bench.test."));
        });
        assertThat(server.queryCounts()).containsEntry("TXT", 1L);
    }

    @Test
    void shouldAnswerNxdomainForAnyOtherNameRatherThanAskAnotherServer() throws Exception {
        server = start(Duration.ZERO);

        Message answer = query("example.com.", Type.MX);

        assertThat(answer.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(answer.getSection(Section.ANSWER)).isEmpty();
        assertThat(answer.getSection(Section.AUTHORITY)).extracting(Record::getType).containsExactly(Type.SOA);
    }

    @Test
    void shouldAnswerTxtQueriesFromItsRecords() throws Exception {
        server = start(Duration.ZERO);
        server.txt("_mta-sts.sts.test", "v=STSv1; id=1;");

        Message txt = query("_mta-sts.sts.test.", Type.TXT);

        assertThat(txt.getSection(Section.ANSWER)).singleElement().satisfies(record ->
            assertThat(((TXTRecord) record).getStrings()).containsExactly("v=STSv1; id=1;"));
    }

    @Test
    void shouldNeverAnswerAboutANameItHangsOnAndStillAnswerTheOthers() throws Exception {
        server = start(Duration.ZERO);
        server.mx("hang.test", "mx1.hang.test").mx("fine.test", "mx1.fine.test").hang("HANG.test");
        assertThat(server.sinceLastUnanswered()).isEmpty();
        SimpleResolver resolver = resolver();
        resolver.setTimeout(Duration.ofMillis(500));

        assertThatThrownBy(() -> resolver.send(Message.newQuery(Record.newRecord(Name.fromString("hang.test."),
            Type.MX, DClass.IN)))).isInstanceOf(IOException.class);
        assertThat(query("fine.test.", Type.MX).getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(server.unansweredQueries()).isEqualTo(1);
        assertThat(server.sinceLastUnanswered()).hasValueSatisfying(since ->
            assertThat(since).isLessThan(Duration.ofSeconds(10)));
        assertThat(server.queries()).containsExactly("MX hang.test.", "MX fine.test.");
    }

    @Test
    void shouldHoldEachAnswerForTheDelayWithoutHoldingTheOthersBehindIt() throws Exception {
        Duration delay = Duration.ofMillis(300);
        server = start(delay);
        server.a("mx1.dns.bench.test", InetAddress.getByName("127.0.0.121"));
        SimpleResolver resolver = resolver();

        long begin = System.nanoTime();
        List<CompletableFuture<Long>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            answers.add(resolver.sendAsync(Message.newQuery(Record.newRecord(Name.fromString("mx1.dns.bench.test."),
                Type.A, DClass.IN))).toCompletableFuture().thenApply(any -> System.nanoTime() - begin));
        }
        List<Long> elapsed = new ArrayList<>();
        for (CompletableFuture<Long> answer : answers) {
            elapsed.add(answer.get(10, TimeUnit.SECONDS));
        }

        assertThat(elapsed).allSatisfy(nanos -> assertThat(nanos).isGreaterThanOrEqualTo(delay.toNanos()));
        // eight answers one after another would take 2.4 s
        assertThat(elapsed.stream().mapToLong(Long::longValue).max().orElseThrow())
            .isLessThan(Duration.ofMillis(1500).toNanos());
        assertThat(server.queryCounts()).containsEntry("A", 8L);
    }

    @Test
    void shouldRefuseToBindAnAddressOutsideLoopback() throws Exception {
        InetSocketAddress outside = new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 0);

        assertThatThrownBy(() -> new LoopbackDnsServer(outside, Duration.ZERO))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a LoopbackDnsServer binds a loopback address only, got /192.0.2.1:0");
    }

    @Test
    void shouldRefuseANegativeDelay() {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

        assertThatThrownBy(() -> new LoopbackDnsServer(loopback, Duration.ofMillis(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("answerDelay must not be negative, got PT-0.001S");
    }

    private static LoopbackDnsServer start(Duration delay) throws Exception {
        return new LoopbackDnsServer(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), delay);
    }

    private Message query(String name, int type) throws Exception {
        return resolver().send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    private SimpleResolver resolver() {
        SimpleResolver resolver = new SimpleResolver(new InetSocketAddress(server.address(), server.port()));
        resolver.setTimeout(Duration.ofSeconds(5));
        return resolver;
    }
}

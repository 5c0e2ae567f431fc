package io.github.mxgovernor.tls.dane;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.tls.dane.TlsaResult.Status;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

/**
 * The plugin JAR as operators install it: dnsjava only under our relocated name, and the relocated copy able to
 * validate. The test-side DNS server runs on the unrelocated dnsjava that James's test artifacts bring.
 */
class ShadedDnsjavaIT {
    private static final Instant NOW = Instant.parse("2026-03-01T00:00:00Z");
    private static final TlsaRecord DANE_EE = TlsaRecord.parse("3 1 1 " + "a1".repeat(32));

    @Test
    void pluginJarShouldHoldDnsjavaOnlyRelocated() throws Exception {
        Path jar = Paths.get(ValidatingTlsaLookup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(jar.getFileName().toString()).endsWith(".jar");

        List<String> entries;
        try (JarFile file = new JarFile(jar.toFile())) {
            entries = file.stream().map(entry -> entry.getName()).collect(Collectors.toList());
        }

        assertThat(entries).noneMatch(name -> name.startsWith("org/xbill/"))
            .noneMatch(name -> name.startsWith("META-INF/services/"))
            .noneMatch(name -> name.startsWith("META-INF/versions/"))
            .doesNotContain("messages.properties")
            .contains("io/github/mxgovernor/shaded/dnsjava/dnssec/ValidatingResolver.class");
        assertThat(ValidatingTlsaLookup.class.getDeclaredFields())
            .anyMatch(field -> field.getType().getName()
                .equals("io.github.mxgovernor.shaded.dnsjava.dnssec.ValidatingResolver"));
    }

    @Test
    void relocatedResolverShouldValidateSignedAndForgedRecords() throws Exception {
        TestZone zone = TestZone.signed("example.")
            .add("mx", Type.A, "192.0.2.25")
            .add("_25._tcp.mx", Type.TLSA, DANE_EE.toString())
            .add("forged", Type.A, "192.0.2.26")
            .add("_25._tcp.forged", Type.TLSA, DANE_EE.toString())
            .sign(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)))
            .corruptSignatures("_25._tcp.forged", Type.TLSA);
        try (FakeDnsServer server = FakeDnsServer.start(zone)) {
            ValidatingTlsaLookup lookup = ValidatingTlsaLookup.builder()
                .upstream(server.address())
                .trustAnchors(zone.trustAnchor())
                .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                .build();

            TlsaResult secure = lookup.lookup("mx.example", 25);
            TlsaResult forged = lookup.lookup("forged.example", 25);

            assertThat(secure.status()).isEqualTo(Status.SECURE);
            assertThat(secure.records()).containsExactly(DANE_EE);
            assertThat(forged.status()).isEqualTo(Status.BOGUS);
            assertThat(forged.detail()).startsWith("DNSSEC validation of _25._tcp.forged.example./TLSA failed: failed.");
        }
    }
}

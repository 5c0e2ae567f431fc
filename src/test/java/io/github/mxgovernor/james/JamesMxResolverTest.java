package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.delivery.MxResolution;
import io.github.mxgovernor.smtp.SmtpEndpoint;

import java.net.InetAddress;
import java.util.List;

import org.apache.james.dnsservice.api.InMemoryDNSService;
import org.junit.jupiter.api.Test;

class JamesMxResolverTest {
    private final InMemoryDNSService dns = new InMemoryDNSService();

    @Test
    void anMxHostShouldHaveItsTlsaRecordsAtPort25WhateverPortItsMxValueNames() throws Exception {
        InetAddress address = InetAddress.getByName("192.0.2.25");
        dns.registerMxRecord("mx.example.test", address.getHostAddress())
            .registerRecord("example.test", List.of(), List.of("mx.example.test:2525"), List.of());

        MxResolution resolution = new JamesMxResolver(dns, List.of(), false).resolve("example.test");

        assertThat(resolution.endpoints()).containsExactly(new SmtpEndpoint("mx.example.test", address, 2525, 25));
    }

    @Test
    void aGatewayShouldHaveItsTlsaRecordsAtItsOwnPort() throws Exception {
        InetAddress address = InetAddress.getByName("192.0.2.26");
        dns.registerMxRecord("relay.example.test", address.getHostAddress());

        MxResolution resolution = new JamesMxResolver(dns, List.of("relay.example.test:587"), false)
            .resolve("example.test");

        assertThat(resolution.endpoints()).containsExactly(new SmtpEndpoint("relay.example.test", address, 587));
        assertThat(resolution.endpoints().get(0).tlsaPort()).isEqualTo(587);
    }

    @Test
    void aTemporaryFailureLookingUpTheAddressOfTheOnlyMxHostShouldBeATemporaryFailure() {
        JamesLikeDns james = new JamesLikeDns().mx("example.test", "mx.example.test").tryAgain("mx.example.test");

        MxResolution resolution = new JamesMxResolver(james, List.of(), false).resolve("example.test");

        assertThat(resolution.status()).isEqualTo(MxResolution.Status.TEMPORARY_FAILURE);
        assertThat(resolution.explanation()).isEqualTo("the address of mx.example.test could not be looked up now");
    }

    @Test
    void anMxHostThatDoesNotExistShouldStillBeNoHost() {
        JamesLikeDns james = new JamesLikeDns().mx("example.test", "gone.example.test");

        MxResolution resolution = new JamesMxResolver(james, List.of(), false).resolve("example.test");

        assertThat(resolution.status()).isEqualTo(MxResolution.Status.NO_HOST);
        assertThat(resolution.explanation()).isEqualTo("no address for gone.example.test");
    }

    @Test
    void aTemporaryFailureOnOneMxHostShouldLeaveTheOthers() throws Exception {
        JamesLikeDns james = new JamesLikeDns().mx("example.test", "mx1.example.test", "mx2.example.test")
            .tryAgain("mx1.example.test").address("mx2.example.test", "192.0.2.2");

        MxResolution resolution = new JamesMxResolver(james, List.of(), false).resolve("example.test");

        assertThat(resolution.status()).isEqualTo(MxResolution.Status.FOUND);
        assertThat(resolution.endpoints()).containsExactly(new SmtpEndpoint("mx2.example.test",
            InetAddress.getByName("192.0.2.2"), 25, 25));
    }

    @Test
    void aTemporaryFailureWithAMissingHostBesideShouldSayBoth() {
        JamesLikeDns james = new JamesLikeDns().mx("example.test", "mx1.example.test", "gone.example.test")
            .tryAgain("mx1.example.test");

        MxResolution resolution = new JamesMxResolver(james, List.of(), false).resolve("example.test");

        assertThat(resolution.status()).isEqualTo(MxResolution.Status.TEMPORARY_FAILURE);
        assertThat(resolution.explanation()).isEqualTo("the address of mx1.example.test could not be looked up now;"
            + " no address for gone.example.test");
    }
}

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
}

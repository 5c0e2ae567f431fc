package io.github.mxgovernor.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mxgovernor.testing.TestPki;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsTrustTest {
    @TempDir
    Path temp;

    @Test
    void theJdkDefaultShouldTrustSomeAnchors() {
        TlsTrust trust = TlsTrust.jdkDefault();

        assertThat(trust.trustManager().getAcceptedIssuers()).isNotEmpty();
        assertThat(trust).hasToString("the JDK's default trust store");
    }

    @Test
    void loadShouldReadAStoreAndTrustItsCertificates() throws Exception {
        Path file = store(TestPki.authority().trustStore(), "secret");

        TlsTrust trust = TlsTrust.load(file, "secret".toCharArray(), "PKCS12");

        assertThat(trust.trustManager().getAcceptedIssuers()).containsExactly(TestPki.authority().caCertificate());
        assertThat(trust.description()).isEqualTo("trust store " + file + " (PKCS12, 1 certificates)");
        assertThat(trust.clientContext().getProtocol()).isEqualTo("TLS");
    }

    @Test
    void loadShouldRefuseAMissingFile() {
        Path missing = temp.resolve("none.p12");

        assertThatThrownBy(() -> TlsTrust.load(missing, null, "PKCS12"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("trust store " + missing + " cannot be read as PKCS12: ");
    }

    @Test
    void loadShouldRefuseAWrongPassword() throws Exception {
        Path file = store(TestPki.authority().trustStore(), "secret");

        assertThatThrownBy(() -> TlsTrust.load(file, "wrong".toCharArray(), "PKCS12"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("trust store " + file + " cannot be read as PKCS12: ");
    }

    @Test
    void loadShouldRefuseAStoreWithoutCertificates() throws Exception {
        KeyStore empty = KeyStore.getInstance("PKCS12");
        empty.load(null, null);
        Path file = store(empty, "secret");

        assertThatThrownBy(() -> TlsTrust.load(file, "secret".toCharArray(), "PKCS12"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("trust store " + file + " holds no certificate");
    }

    @Test
    void loadShouldRefuseAnUnknownType() {
        assertThatThrownBy(() -> TlsTrust.load(temp.resolve("x"), null, "PEMISH"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("trust store type 'PEMISH' is not known to the JDK");
    }

    private Path store(KeyStore store, String password) throws Exception {
        Path file = temp.resolve("trust.p12");
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password.toCharArray());
        }
        return file;
    }
}

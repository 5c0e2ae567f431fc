package io.github.mxgovernor.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate for {@code mx.test}, made once per test run with the JDK's {@code keytool} (no
 * extra dependency), with a server context that presents it and a client context that trusts it.
 */
final class TestCertificate {
    static final String HOST_NAME = "mx.test";
    private static final char[] PASSWORD = "changeit".toCharArray();
    private static TestCertificate instance;

    private final SSLContext serverContext;
    private final SSLContext trustingClientContext;
    private final X509Certificate certificate;

    private TestCertificate(KeyStore keyStore) throws GeneralSecurityException {
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(keyStore, PASSWORD);
        serverContext = SSLContext.getInstance("TLS");
        serverContext.init(keys.getKeyManagers(), null, null);

        certificate = (X509Certificate) keyStore.getCertificate("mx");
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        try {
            trusted.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        trusted.setCertificateEntry("mx", certificate);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        trustingClientContext = SSLContext.getInstance("TLS");
        trustingClientContext.init(null, trust.getTrustManagers(), null);
    }

    static synchronized TestCertificate mxTest() throws Exception {
        if (instance == null) {
            instance = new TestCertificate(generate());
        }
        return instance;
    }

    SSLContext serverContext() {
        return serverContext;
    }

    /** A client context whose only trust anchor is this certificate. */
    SSLContext trustingClientContext() {
        return trustingClientContext;
    }

    X509Certificate certificate() {
        return certificate;
    }

    private static KeyStore generate() throws Exception {
        Path directory = Files.createTempDirectory("mx-governor-tls");
        Path store = directory.resolve("mx.p12");
        Path keytool = Paths.get(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-alias", "mx",
            "-keyalg", "EC", "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA", "-dname", "CN=" + HOST_NAME,
            "-ext", "SAN=dns:" + HOST_NAME, "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
            "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD)))
            .redirectErrorStream(true)
            .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + output);
        }
        KeyStore keyStore = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keyStore.load(in, PASSWORD);
        }
        Files.delete(store);
        Files.delete(directory);
        return keyStore;
    }
}

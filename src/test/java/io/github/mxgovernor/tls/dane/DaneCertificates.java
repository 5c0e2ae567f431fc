package io.github.mxgovernor.tls.dane;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Certificates for DANE tests, made once per test run with the JDK's {@code keytool} (EC P-256): a test CA, a
 * leaf for {@code mx.example} it issued, a self-signed certificate with the same key and name, a leaf for
 * {@code other.example} and one for {@code *.example}, both issued by the CA.
 */
final class DaneCertificates {
    static final String MX_HOST = "mx.example";
    static final char[] PASSWORD = "changeit".toCharArray();
    private static DaneCertificates instance;

    final X509Certificate ca;
    final X509Certificate leaf;
    final PrivateKey leafKey;
    final X509Certificate selfSignedLeaf;
    final X509Certificate otherLeaf;
    final X509Certificate wildcardLeaf;

    private DaneCertificates(Path directory) throws Exception {
        // one key store per key, so that each step's commands run side by side
        keytools(directory,
            List.of("ca", "-genkeypair", "-alias", "ca", "-dname", "CN=DANE Test CA", "-ext", "bc:c",
                "-validity", "3650"),
            List.of("leaf", "-genkeypair", "-alias", "leaf", "-dname", "CN=" + MX_HOST, "-ext", "SAN=dns:" + MX_HOST,
                "-validity", "30"),
            List.of("other", "-genkeypair", "-alias", "other", "-dname", "CN=other.example", "-validity", "30"));
        keytools(directory,
            List.of("leaf", "-certreq", "-alias", "leaf", "-file", "leaf.csr"),
            List.of("other", "-certreq", "-alias", "other", "-file", "other.csr"));
        keytools(directory,
            List.of("ca", "-gencert", "-alias", "ca", "-infile", "leaf.csr", "-outfile", "leaf.crt",
                "-ext", "SAN=dns:" + MX_HOST, "-validity", "30", "-rfc"),
            List.of("ca", "-gencert", "-alias", "ca", "-infile", "other.csr", "-outfile", "other.crt",
                "-ext", "SAN=dns:other.example", "-validity", "30", "-rfc"),
            List.of("ca", "-gencert", "-alias", "ca", "-infile", "other.csr", "-outfile", "wildcard.crt",
                "-ext", "SAN=dns:*.example", "-validity", "30", "-rfc"));

        ca = (X509Certificate) load(directory, "ca").getCertificate("ca");
        KeyStore leafStore = load(directory, "leaf");
        selfSignedLeaf = (X509Certificate) leafStore.getCertificate("leaf");
        leafKey = (PrivateKey) leafStore.getKey("leaf", PASSWORD);
        leaf = read(directory.resolve("leaf.crt"));
        otherLeaf = read(directory.resolve("other.crt"));
        wildcardLeaf = read(directory.resolve("wildcard.crt"));
    }

    static synchronized DaneCertificates get() throws Exception {
        if (instance == null) {
            Path directory = Files.createTempDirectory("mx-governor-dane");
            try {
                instance = new DaneCertificates(directory);
            } finally {
                try (Stream<Path> files = Files.walk(directory)) {
                    List<Path> paths = new ArrayList<>();
                    files.sorted(Comparator.reverseOrder()).forEach(paths::add);
                    for (Path path : paths) {
                        Files.delete(path);
                    }
                }
            }
        }
        return instance;
    }

    /** The presentation form of a TLSA record for {@code certificate}, with the fields given. */
    static TlsaRecord tlsa(int usage, int selector, int matchingType, X509Certificate certificate) throws Exception {
        byte[] selected = selector == 0 ? certificate.getEncoded() : certificate.getPublicKey().getEncoded();
        byte[] data;
        if (matchingType == 1) {
            data = MessageDigest.getInstance("SHA-256").digest(selected);
        } else if (matchingType == 2) {
            data = MessageDigest.getInstance("SHA-512").digest(selected);
        } else {
            data = selected;
        }
        return new TlsaRecord(usage, selector, matchingType, data);
    }

    private static X509Certificate read(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static KeyStore load(Path directory, String store) throws Exception {
        KeyStore keyStore = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(directory.resolve(store + ".p12"))) {
            keyStore.load(in, PASSWORD);
        }
        return keyStore;
    }

    /** Runs keytool commands at once, each a key store name followed by keytool's arguments. */
    @SafeVarargs
    private static void keytools(Path directory, List<String>... commands) throws IOException, InterruptedException {
        List<Process> processes = new ArrayList<>();
        for (List<String> arguments : commands) {
            processes.add(keytool(directory, arguments.get(0), arguments.subList(1, arguments.size())));
        }
        for (int i = 0; i < processes.size(); i++) {
            Process process = processes.get(i);
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException("keytool " + String.join(" ", commands[i]) + " failed: " + output);
            }
        }
    }

    private static Process keytool(Path directory, String store, List<String> arguments) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "keytool").toString());
        // a short-lived tool: the JIT's top tier and the parallel collector only slow its start
        command.addAll(List.of("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"));
        command.addAll(arguments);
        if (arguments.get(0).equals("-genkeypair")) {
            command.addAll(List.of("-keyalg", "EC", "-groupname", "secp256r1", "-keypass", new String(PASSWORD)));
        }
        command.addAll(List.of("-sigalg", "SHA256withECDSA", "-storetype", "PKCS12", "-keystore", store + ".p12",
            "-storepass", new String(PASSWORD)));
        return new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
    }
}

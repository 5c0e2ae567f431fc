package io.github.mxgovernor.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made for the test run, and server certificates it issues: for given host names, expired,
 * or self-signed (issued by nobody the CA's clients trust). EC P-256 keys; nothing touches the disk.
 */
public final class TestPki {
    private static final char[] PASSWORD = "changeit".toCharArray();
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());
    private static TestPki instance;

    private final KeyPair caKeys;
    private final X509Certificate caCertificate;

    private TestPki() throws GeneralSecurityException {
        caKeys = keyPair();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=mx-governor test CA");
        caCertificate = sign(new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(Duration.ofDays(1))),
            Date.from(now.plus(Duration.ofDays(30))), name, caKeys.getPublic()), caKeys.getPrivate(), true, List.of());
    }

    /** The run's test CA. */
    public static synchronized TestPki authority() {
        if (instance == null) {
            try {
                instance = new TestPki();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("cannot make the test CA", e);
            }
        }
        return instance;
    }

    public X509Certificate caCertificate() {
        return caCertificate;
    }

    /** A trust store holding only the test CA. */
    public KeyStore trustStore() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("test-ca", caCertificate);
            return store;
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the test trust store", e);
        }
    }

    /** A client TLS context that trusts only the test CA. */
    public SSLContext clientContext() {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make the test client context", e);
        }
    }

    /** Writes the test CA's certificate as PEM, for servers that read files (redis-server). */
    public void writeCaPem(Path file) throws IOException {
        Files.writeString(file, pem("CERTIFICATE", encoded(caCertificate)));
    }

    private static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encode a certificate", e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    /** A certificate issued by the test CA for these host names, valid from a day ago for 30 days. */
    public ServerCertificate issue(String... hostNames) {
        Instant now = Instant.now();
        return issue(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)), hostNames);
    }

    /** A certificate issued by the test CA for this host name that expired yesterday. */
    public ServerCertificate expired(String hostName) {
        Instant now = Instant.now();
        return issue(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)), hostName);
    }

    /** A self-signed certificate for this host name: no client of the test CA trusts it. */
    public ServerCertificate selfSigned(String hostName) {
        try {
            KeyPair keys = keyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=" + hostName);
            X509Certificate certificate = sign(new JcaX509v3CertificateBuilder(name, serial(),
                Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))), name,
                keys.getPublic()), keys.getPrivate(), false, List.of(hostName));
            return new ServerCertificate(keys.getPrivate(), List.of(certificate));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make a self-signed certificate", e);
        }
    }

    private ServerCertificate issue(Instant notBefore, Instant notAfter, String... hostNames) {
        try {
            KeyPair keys = keyPair();
            X509Certificate certificate = sign(new JcaX509v3CertificateBuilder(caCertificate, serial(),
                Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + hostNames[0]), keys.getPublic()),
                caKeys.getPrivate(), false, List.of(hostNames));
            return new ServerCertificate(keys.getPrivate(), List.of(certificate, caCertificate));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue a certificate", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer, boolean authority,
                                        List<String> hostNames) throws GeneralSecurityException {
        try {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(authority));
            if (authority) {
                builder.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                List<GeneralName> names = new ArrayList<>();
                for (String hostName : hostNames) {
                    // An IPv4 literal is an address name, which is what a client connecting to it checks.
                    names.add(new GeneralName(hostName.matches("\\d+\\.\\d+\\.\\d+\\.\\d+")
                        ? GeneralName.iPAddress : GeneralName.dNSName, hostName));
                }
                builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(new GeneralName[0])));
            }
            ContentSigner contentSigner = new JcaContentSignerBuilder("SHA256withECDSA").build(signer);
            return new JcaX509CertificateConverter().getCertificate(builder.build(contentSigner));
        } catch (GeneralSecurityException e) {
            throw e;
        } catch (Exception e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIALS.incrementAndGet());
    }

    /** A server's key and chain (leaf first), ready for a TLS server. */
    public static final class ServerCertificate {
        private final PrivateKey key;
        private final List<X509Certificate> chain;

        ServerCertificate(PrivateKey key, List<X509Certificate> chain) {
            this.key = key;
            this.chain = List.copyOf(chain);
        }

        public X509Certificate certificate() {
            return chain.get(0);
        }

        public List<X509Certificate> chain() {
            return chain;
        }

        /** Writes the chain (leaf first) and the PKCS#8 key as PEM files, for servers that read files. */
        public void writePem(Path chainFile, Path keyFile) throws IOException {
            StringBuilder chainPem = new StringBuilder();
            for (X509Certificate certificate : chain) {
                chainPem.append(pem("CERTIFICATE", encoded(certificate)));
            }
            Files.writeString(chainFile, chainPem);
            Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()));
        }

        /** A server TLS context that presents this certificate. */
        public SSLContext serverContext() {
            try {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setKeyEntry("server", key, PASSWORD, chain.toArray(new X509Certificate[0]));
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, PASSWORD);
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(keys.getKeyManagers(), null, null);
                return context;
            } catch (Exception e) {
                throw new IllegalStateException("cannot make a server context", e);
            }
        }
    }
}

package io.github.mxgovernor.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.util.Collections;
import java.util.Objects;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust anchors certificates are verified against: the JDK's default trust store, or one the operator names.
 * Used for {@code tls="verify"} sessions and for fetching MTA-STS policies.
 */
public final class TlsTrust {
    private final X509ExtendedTrustManager trustManager;
    private final String description;

    private TlsTrust(X509ExtendedTrustManager trustManager, String description) {
        this.trustManager = trustManager;
        this.description = description;
    }

    /** The JDK's default trust store ({@code cacerts}, or what {@code javax.net.ssl.trustStore} names). */
    public static TlsTrust jdkDefault() {
        try {
            return new TlsTrust(trustManagerFor(null), "the JDK's default trust store");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's default trust store cannot be read: " + e.getMessage(), e);
        }
    }

    /** Trusts exactly the certificates of {@code store} (for tests and embedders). */
    public static TlsTrust of(KeyStore store, String description) throws GeneralSecurityException {
        return new TlsTrust(trustManagerFor(Objects.requireNonNull(store, "store")), description);
    }

    /**
     * Reads a trust store file.
     *
     * @param type a {@link KeyStore} type such as {@code PKCS12} or {@code JKS}
     * @param password the store's password; may be null for a PKCS12 store of certificates only
     * @throws IllegalArgumentException naming the file and saying what is wrong: missing, unreadable, wrong
     *     password or type, no certificate in it
     */
    public static TlsTrust load(Path file, char[] password, String type) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(type, "type");
        KeyStore store;
        try {
            store = KeyStore.getInstance(type);
        } catch (KeyStoreException e) {
            throw new IllegalArgumentException("trust store type '" + type + "' is not known to the JDK");
        }
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("trust store " + file + " cannot be read as " + type + ": "
                + e.getMessage(), e);
        }
        try {
            int certificates = 0;
            for (String alias : Collections.list(store.aliases())) {
                if (store.isCertificateEntry(alias) || store.getCertificate(alias) != null) {
                    certificates++;
                }
            }
            if (certificates == 0) {
                throw new IllegalArgumentException("trust store " + file + " holds no certificate");
            }
            return new TlsTrust(trustManagerFor(store), "trust store " + file + " (" + type + ", " + certificates
                + " certificates)");
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("trust store " + file + " cannot be used: " + e.getMessage(), e);
        }
    }

    private static X509ExtendedTrustManager trustManagerFor(KeyStore store) throws GeneralSecurityException {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(store);
        for (TrustManager manager : factory.getTrustManagers()) {
            if (manager instanceof X509ExtendedTrustManager) {
                return (X509ExtendedTrustManager) manager;
            }
        }
        throw new GeneralSecurityException("the JDK offers no X.509 trust manager");
    }

    /** Verifies PKIX chains; with an {@link javax.net.ssl.SSLSocket} whose parameters ask for it, host names too. */
    public X509ExtendedTrustManager trustManager() {
        return trustManager;
    }

    /** A client TLS context that verifies against these anchors (for HTTPS: MTA-STS policies). */
    public SSLContext clientContext() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trustManager}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot create a TLS context", e);
        }
    }

    /** For logs: which store this is. */
    public String description() {
        return description;
    }

    @Override
    public String toString() {
        return description;
    }
}

package io.github.mxgovernor.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * One of the store's Lua scripts, read from this package's resources, with the SHA-1 digest Redis knows it by. Run by
 * digest ({@code EVALSHA}); a server that does not know it yet (a new or restarted one) is sent the text once.
 */
final class LuaScript {
    static final LuaScript LEASE_ACQUIRE = load("lease-acquire");
    static final LuaScript LEASE_RENEW = load("lease-renew");
    static final LuaScript LEASE_COUNT = load("lease-count");
    static final LuaScript RATE_TAKE = load("rate-take");
    static final LuaScript FLOW_PUBLISH = load("flow-publish");
    static final LuaScript COUNTS_ADD = load("counts-add");
    static final LuaScript COUNTS_CLEAR = load("counts-clear");
    static final LuaScript RELEASE_TAKE = load("release-take");
    static final LuaScript RELEASE_GIVE = load("release-give");

    private final String name;
    private final String text;
    private final String sha;

    LuaScript(String name, String text) {
        this.name = name;
        this.text = text;
        this.sha = sha1(text);
    }

    private static LuaScript load(String name) {
        String resource = name + ".lua";
        try (InputStream in = LuaScript.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the store script " + resource + " is missing from the JAR");
            }
            return new LuaScript(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the store script " + resource, e);
        }
    }

    private static String sha1(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder(40);
            for (byte b : digest) {
                hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
            }
            return hex.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JDK", e);
        }
    }

    String name() {
        return name;
    }

    String text() {
        return text;
    }

    String sha() {
        return sha;
    }

    @Override
    public String toString() {
        return name;
    }
}

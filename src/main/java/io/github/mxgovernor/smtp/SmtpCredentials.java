package io.github.mxgovernor.smtp;

import java.util.Objects;

/**
 * A user name and password for SMTP AUTH (RFC 4954) to a gateway. The session sends them only over TLS, with
 * PLAIN (RFC 4616) or LOGIN. {@link #toString()} never shows the password.
 */
public final class SmtpCredentials {
    private final String username;
    private final String password;

    public SmtpCredentials(String username, String password) {
        this.username = Objects.requireNonNull(username, "username");
        this.password = Objects.requireNonNull(password, "password");
        if (username.isEmpty()) {
            throw new IllegalArgumentException("the SMTP AUTH user name is empty");
        }
        if (username.indexOf('\0') >= 0 || password.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("the SMTP AUTH user name and password cannot contain NUL");
        }
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SmtpCredentials)) {
            return false;
        }
        SmtpCredentials that = (SmtpCredentials) o;
        return username.equals(that.username) && password.equals(that.password);
    }

    @Override
    public int hashCode() {
        return Objects.hash(username, password);
    }

    @Override
    public String toString() {
        return username + ":****";
    }
}

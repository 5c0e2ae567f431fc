package io.github.mxgovernor.smtp;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the sender asked of delivery status notifications (RFC 3461): RET and ENVID for MAIL FROM, NOTIFY and
 * ORCPT per recipient. Values are plain text; the session encodes them as xtext and sends them only to a
 * server that offers DSN. Immutable; built with {@link #builder()}.
 */
public final class DsnRequest {
    /** RFC 3461's longest ENVID. */
    public static final int MAX_ENVELOPE_ID_LENGTH = 100;

    /** No DSN parameters at all. */
    public static final DsnRequest NONE = builder().build();

    /** How much of the message a failure notification returns. */
    public enum Ret { FULL, HDRS }

    /** When the recipient's notification is asked for. */
    public enum Notify { NEVER, SUCCESS, FAILURE, DELAY }

    /** NOTIFY and ORCPT of one recipient. */
    public static final class Recipient {
        private final Set<Notify> notify;
        private final Optional<String> originalRecipient;

        /**
         * @param notify empty for no NOTIFY parameter; {@link Notify#NEVER} only alone
         * @param originalRecipient the address the sender first gave (ORCPT, type rfc822), when known
         */
        public Recipient(Set<Notify> notify, Optional<String> originalRecipient) {
            Objects.requireNonNull(notify, "notify");
            if (notify.contains(Notify.NEVER) && notify.size() > 1) {
                throw new IllegalArgumentException("NOTIFY=NEVER cannot be combined with other values, was " + notify);
            }
            this.notify = notify.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(notify));
            this.originalRecipient = Objects.requireNonNull(originalRecipient, "originalRecipient");
            originalRecipient.ifPresent(address -> requireNoControl("ORCPT", address));
        }

        public Set<Notify> notifyOn() {
            return notify;
        }

        public Optional<String> originalRecipient() {
            return originalRecipient;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Recipient)) {
                return false;
            }
            Recipient that = (Recipient) o;
            return notify.equals(that.notify) && originalRecipient.equals(that.originalRecipient);
        }

        @Override
        public int hashCode() {
            return Objects.hash(notify, originalRecipient);
        }

        @Override
        public String toString() {
            return "NOTIFY=" + notify + originalRecipient.map(address -> " ORCPT=" + address).orElse("");
        }
    }

    /** Builds a {@link DsnRequest}; each setter checks its value. */
    public static final class Builder {
        private Optional<Ret> ret = Optional.empty();
        private Optional<String> envelopeId = Optional.empty();
        private final Map<String, Recipient> recipients = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder ret(Ret value) {
            ret = Optional.of(Objects.requireNonNull(value, "ret"));
            return this;
        }

        /** The sender's envelope identifier: printable ASCII, at most {@value #MAX_ENVELOPE_ID_LENGTH} characters. */
        public Builder envelopeId(String value) {
            Objects.requireNonNull(value, "envelopeId");
            if (value.isEmpty() || value.length() > MAX_ENVELOPE_ID_LENGTH) {
                throw new IllegalArgumentException("ENVID must be 1.." + MAX_ENVELOPE_ID_LENGTH
                    + " characters, was " + value.length());
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < 0x20 || c > 0x7e) {
                    throw new IllegalArgumentException("ENVID must be printable ASCII, has 0x"
                        + Integer.toHexString(c) + " at index " + i);
                }
            }
            envelopeId = Optional.of(value);
            return this;
        }

        public Builder recipient(String address, Recipient parameters) {
            Objects.requireNonNull(address, "address");
            recipients.put(address, Objects.requireNonNull(parameters, "parameters"));
            return this;
        }

        public DsnRequest build() {
            return new DsnRequest(this);
        }
    }

    private final Optional<Ret> ret;
    private final Optional<String> envelopeId;
    private final Map<String, Recipient> recipients;

    private DsnRequest(Builder builder) {
        this.ret = builder.ret;
        this.envelopeId = builder.envelopeId;
        this.recipients = Collections.unmodifiableMap(new LinkedHashMap<>(builder.recipients));
    }

    public static Builder builder() {
        return new Builder();
    }

    public Optional<Ret> ret() {
        return ret;
    }

    public Optional<String> envelopeId() {
        return envelopeId;
    }

    /** Parameters per recipient address; a recipient absent here gets none. */
    public Map<String, Recipient> recipients() {
        return recipients;
    }

    public boolean isEmpty() {
        return ret.isEmpty() && envelopeId.isEmpty() && recipients.isEmpty();
    }

    /** RFC 3461 xtext: '+', '=', controls, space and non-ASCII (as UTF-8 bytes) become {@code +XX}. */
    static String xtext(String text) {
        StringBuilder encoded = new StringBuilder(text.length() + 8);
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c < 0x21 || c > 0x7e || c == '+' || c == '=') {
                encoded.append('+').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            } else {
                encoded.append((char) c);
            }
        }
        return encoded.toString();
    }

    private static void requireNoControl(String name, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(name + " contains a control character (0x"
                    + Integer.toHexString(c) + " at index " + i + ")");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DsnRequest)) {
            return false;
        }
        DsnRequest that = (DsnRequest) o;
        return ret.equals(that.ret) && envelopeId.equals(that.envelopeId) && recipients.equals(that.recipients);
    }

    @Override
    public int hashCode() {
        return Objects.hash(ret, envelopeId, recipients);
    }

    @Override
    public String toString() {
        return "DSN" + ret.map(value -> " RET=" + value).orElse("")
            + envelopeId.map(value -> " ENVID=" + value).orElse("") + " " + recipients;
    }
}

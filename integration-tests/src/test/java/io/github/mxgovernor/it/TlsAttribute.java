package io.github.mxgovernor.it;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;

/** The {@code mxgovernor.tls} attribute of a delivered mail (a map of strings), as a test reads it. */
final class TlsAttribute {
    static final AttributeName NAME = AttributeName.of("mxgovernor.tls");

    private TlsAttribute() {
    }

    static Optional<Map<String, String>> of(Mail mail) {
        return mail.getAttribute(NAME).map(attribute -> {
            Map<String, String> fields = new LinkedHashMap<>();
            @SuppressWarnings("unchecked")
            Map<String, AttributeValue<?>> map = (Map<String, AttributeValue<?>>) attribute.getValue().value();
            map.forEach((name, value) -> fields.put(name, String.valueOf(value.value())));
            return fields;
        });
    }
}

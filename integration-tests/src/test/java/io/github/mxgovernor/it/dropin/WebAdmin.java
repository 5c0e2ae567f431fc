package io.github.mxgovernor.it.dropin;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A client of James's web admin API on 127.0.0.1: the calls an operator makes with curl. */
final class WebAdmin {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    private final String base;

    WebAdmin(int port) {
        this.base = "http://127.0.0.1:" + port;
    }

    /** {@code PUT /domains/<domain>}. */
    void createDomain(String domain) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(uri("/domains/" + encode(domain))).PUT(HttpRequest.BodyPublishers.noBody()));
    }

    /** {@code PUT /users/<user>} with its password. */
    void createUser(String user, String password) throws IOException, InterruptedException {
        String body = JSON.createObjectNode().put("password", password).toString();
        send(HttpRequest.newBuilder(uri("/users/" + encode(user)))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(body)));
    }

    /**
     * Every mail of the mail repository at {@code path} (e.g. {@code var/mail/delivered/} for
     * {@code memory://var/mail/delivered/}) with its attributes, as the web admin shows them:
     * {@code GET /mailRepositories/<path>/mails/<key>?additionalFields=attributes}.
     */
    List<JsonNode> repositoryMails(String path) throws IOException, InterruptedException {
        String mails = "/mailRepositories/" + encode(path) + "/mails";
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode key : getJson(mails + "?limit=1000")) {
            found.add(getJson(mails + "/" + encode(key.asText()) + "?additionalFields=attributes"));
        }
        return found;
    }

    private JsonNode getJson(String path) throws IOException, InterruptedException {
        return JSON.readTree(send(HttpRequest.newBuilder(uri(path)).GET()));
    }

    private String send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpRequest built = request.timeout(TIMEOUT).build();
        HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException(built.method() + " " + built.uri() + " answered " + response.statusCode() + ": "
                + response.body());
        }
        return response.body();
    }

    private URI uri(String path) {
        return URI.create(base + path);
    }

    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}

package io.github.mxgovernor.testing;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.mailrepository.api.MailRepositoryPath;
import org.apache.james.mailrepository.api.MailRepositoryStore;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.james.mailrepository.api.Protocol;

/**
 * James's {@link MailRepositoryStore} as a test sets it: the protocols it knows (others are refused as James's own
 * store refuses them), and a {@link MailRepositoryDouble} per URL, created on first use and kept while the store lives,
 * so that a mailet started again finds what the previous one stored.
 */
public final class MailRepositoryStoreDouble implements MailRepositoryStore {
    private final Set<String> protocols;
    private final Optional<Protocol> defaultProtocol;
    private final Map<MailRepositoryUrl, MailRepositoryDouble> repositories = new ConcurrentHashMap<>();

    /** @param protocols the protocols known, the first one the default */
    public MailRepositoryStoreDouble(String... protocols) {
        this.protocols = Set.of(protocols);
        this.defaultProtocol = protocols.length == 0 ? Optional.empty() : Optional.of(new Protocol(protocols[0]));
    }

    /** The repository of {@code url}, created if needed. */
    public MailRepositoryDouble repository(String url) {
        return repositories.computeIfAbsent(MailRepositoryUrl.from(url), key -> new MailRepositoryDouble());
    }

    @Override
    public MailRepository select(MailRepositoryUrl url) throws MailRepositoryStoreException {
        if (!protocols.contains(url.getProtocol().getValue())) {
            throw new UnsupportedRepositoryStoreException("No Mail Repository associated with "
                + url.getProtocol().getValue());
        }
        return repositories.computeIfAbsent(url, key -> new MailRepositoryDouble());
    }

    @Override
    public Optional<Protocol> defaultProtocol() {
        return defaultProtocol;
    }

    @Override
    public Optional<MailRepository> get(MailRepositoryUrl url) {
        return Optional.ofNullable(repositories.get(url));
    }

    @Override
    public Stream<MailRepository> getByPath(MailRepositoryPath path) {
        return repositories.entrySet().stream().filter(entry -> entry.getKey().getPath().equals(path))
            .map(Map.Entry::getValue);
    }

    @Override
    public Stream<MailRepositoryUrl> getUrls() {
        return repositories.keySet().stream();
    }
}

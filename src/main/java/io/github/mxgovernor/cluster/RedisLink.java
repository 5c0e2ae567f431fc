package io.github.mxgovernor.cluster;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The Lettuce client of one store: one connection for commands and scripts, one for pub/sub, both multiplexed on
 * Lettuce's event loops, so no caller ever waits for the network. Lettuce's defaults are changed where they would
 * make a caller wait: commands are refused at once while disconnected (not buffered), every command has the short
 * deadline of {@link StoreSettings#timeout()}, and the request queue is bounded. Lettuce reconnects an established
 * connection by itself (backing off up to 5 s); a connection that never came up is tried again by {@link #connect()}.
 *
 * <p>Every failure is turned into a {@link StoreException} with a clear message and told to {@link StoreHealth}.
 */
final class RedisLink implements AutoCloseable {
    private static final int REQUEST_QUEUE = 10_000;
    /** Error codes of a server that will not serve us now, whatever the command: not a script's fault. */
    private static final Pattern REFUSALS = Pattern.compile(
        "(NOAUTH|WRONGPASS|NOPERM|OOM|LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|NOREPLICAS)\\b");

    private final StoreSettings settings;
    private final StoreHealth health;
    private final ClientResources resources;
    private final AbstractRedisClient client;
    private final RedisURI uri;
    private final AtomicLong commands = new AtomicLong();
    private final AtomicLong scriptLoads = new AtomicLong();
    private volatile StatefulConnection<String, String> connection;
    private volatile RedisClusterAsyncCommands<String, String> async;
    private volatile StatefulRedisPubSubConnection<String, String> pubSub;

    RedisLink(StoreSettings settings, StoreHealth health) {
        this.settings = settings;
        this.health = health;
        this.uri = RedisURI.create(settings.uri());
        uri.setTimeout(settings.timeout());
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(1)
            .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(5), 2, TimeUnit.MILLISECONDS))
            .build();
        ClientOptions options = options(settings);
        if (settings.cluster()) {
            RedisClusterClient cluster = RedisClusterClient.create(resources, uri);
            // Follow failovers and resharding: the topology is read again when the cluster redirects or drops us.
            cluster.setOptions(ClusterClientOptions.builder(options).topologyRefreshOptions(
                ClusterTopologyRefreshOptions.builder().enableAllAdaptiveRefreshTriggers().build()).build());
            this.client = cluster;
        } else {
            RedisClient single = RedisClient.create(resources, uri);
            single.setOptions(options);
            this.client = single;
        }
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
                if (handler == connection) {
                    health.down("Cluster store " + settings.address() + ": the connection was lost");
                }
            }

            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> handler, SocketAddress address) {
                // UP only once ClusterStore has taken its leases again (see ClusterStore.probe).
            }
        });
    }

    private static ClientOptions options(StoreSettings settings) {
        SslOptions.Builder ssl = SslOptions.builder().jdkSslProvider();
        settings.trustManagers().ifPresent(ssl::trustManager);
        return ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .requestQueueSize(REQUEST_QUEUE)
            .timeoutOptions(TimeoutOptions.enabled(settings.timeout()))
            .socketOptions(SocketOptions.builder().connectTimeout(settings.connectTimeout()).keepAlive(true).build())
            .sslOptions(ssl.build())
            .build();
    }

    /** Whether the command connection exists (it may be reconnecting). */
    boolean isConnected() {
        return connection != null;
    }

    /** Whether the command connection is open now. */
    boolean isOpen() {
        StatefulConnection<String, String> current = connection;
        return current != null && current.isOpen();
    }

    /** Whether the announcements connection exists and is subscribed (it may be reconnecting). */
    boolean isSubscribed() {
        return pubSub != null;
    }

    /** Opens the command connection unless there is one; fails with a {@link StoreException}. */
    @SuppressWarnings("unchecked")
    CompletableFuture<Void> connectCommands() {
        if (connection != null) {
            return CompletableFuture.completedFuture(null);
        }
        CompletionStage<? extends StatefulConnection<String, String>> opening;
        if (client instanceof RedisClusterClient) {
            RedisClusterClient cluster = (RedisClusterClient) client;
            // The topology first: which node serves which slots.
            opening = cluster.refreshPartitionsAsync().thenCompose(ignored -> cluster.connectAsync(StringCodec.UTF8));
        } else {
            opening = ((RedisClient) client).connectAsync(StringCodec.UTF8, uri);
        }
        return guard(opening.toCompletableFuture(), "connecting", settings.connectTimeout()).thenAccept(opened -> {
            synchronized (this) {
                if (connection == null) {
                    connection = opened;
                    async = opened instanceof io.lettuce.core.api.StatefulRedisConnection
                        ? ((io.lettuce.core.api.StatefulRedisConnection<String, String>) opened).async()
                        : ((io.lettuce.core.cluster.api.StatefulRedisClusterConnection<String, String>) opened)
                            .async();
                    return;
                }
            }
            opened.closeAsync();
        });
    }

    /**
     * Opens the announcements connection and subscribes to {@code channel} unless that is done; fails with a
     * {@link StoreException}.
     *
     * @param onMessage told of every message on the channel (on a Lettuce thread; keep it short)
     */
    CompletableFuture<Void> subscribe(String channel, Consumer<String> onMessage) {
        if (pubSub != null) {
            return CompletableFuture.completedFuture(null);
        }
        CompletionStage<? extends StatefulRedisPubSubConnection<String, String>> opening =
            client instanceof RedisClusterClient
                ? ((RedisClusterClient) client).connectPubSubAsync(StringCodec.UTF8)
                : ((RedisClient) client).connectPubSubAsync(StringCodec.UTF8, uri);
        // A failure here is not the store's: commands may go on; it is tried again (see ClusterStore).
        return guard(opening.toCompletableFuture(), "connecting for announcements", settings.connectTimeout(), false)
            .thenCompose(opened -> {
                opened.addListener(new RedisPubSubAdapter<String, String>() {
                    @Override
                    public void message(String from, String message) {
                        onMessage.accept(message);
                    }
                });
                // Lettuce subscribes again by itself after a reconnection.
                return guard(opened.async().subscribe(channel).toCompletableFuture(), "subscribing to " + channel,
                    settings.timeout(), false).thenAccept(ignored -> {
                        synchronized (this) {
                            if (pubSub == null) {
                                pubSub = opened;
                                return;
                            }
                        }
                        opened.closeAsync();
                    });
            });
    }

    /**
     * Runs one command within the deadline; fails with a {@link StoreException} (told to {@link StoreHealth}) when
     * not connected, on error or on timeout. Never blocks.
     */
    <T> CompletableFuture<T> call(String what, Function<RedisClusterAsyncCommands<String, String>, RedisFuture<T>> command) {
        RedisClusterAsyncCommands<String, String> commandsNow = async;
        if (commandsNow == null) {
            return notConnected();
        }
        return guard(send(commandsNow, command), what, settings.timeout());
    }

    private <T> CompletableFuture<T> notConnected() {
        StoreException failure = new StoreException(StoreException.Kind.UNREACHABLE, "Cluster store "
            + settings.address() + " is not connected", null);
        health.failed(failure);
        return CompletableFuture.failedFuture(failure);
    }

    /** Runs a script by its digest, sending its text when the server does not know it; one deadline for both. */
    <T> CompletableFuture<T> script(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        RedisClusterAsyncCommands<String, String> commandsNow = async;
        if (commandsNow == null) {
            return notConnected();
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        send(commandsNow, c -> c.<T>evalsha(script.sha(), type, keys, args)).whenComplete((value, failure) -> {
            if (failure == null) {
                result.complete(value);
            } else if (unwrap(failure) instanceof RedisNoScriptException) {
                scriptLoads.incrementAndGet();
                send(commandsNow, c -> c.<T>eval(script.text(), type, keys, args)).whenComplete((loaded, again) -> {
                    if (again == null) {
                        result.complete(loaded);
                    } else {
                        result.completeExceptionally(again);
                    }
                });
            } else {
                result.completeExceptionally(failure);
            }
        });
        return guard(result, "script " + script.name(), settings.timeout());
    }

    private <T> CompletableFuture<T> send(RedisClusterAsyncCommands<String, String> commandsNow,
                                          Function<RedisClusterAsyncCommands<String, String>, RedisFuture<T>> command) {
        commands.incrementAndGet();
        try {
            return command.apply(commandsNow).toCompletableFuture();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Adds the deadline, and turns any failure into a {@link StoreException} told to {@link StoreHealth}. */
    private <T> CompletableFuture<T> guard(CompletableFuture<T> pending, String what, Duration deadline) {
        return guard(pending, what, deadline, true);
    }

    private <T> CompletableFuture<T> guard(CompletableFuture<T> pending, String what, Duration deadline,
                                           boolean tell) {
        CompletableFuture<T> result = new CompletableFuture<>();
        pending.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS).whenComplete((value, failure) -> {
            if (failure == null) {
                result.complete(value);
                return;
            }
            StoreException described = describe(what, unwrap(failure), deadline);
            if (tell) {
                health.failed(described);
            }
            result.completeExceptionally(described);
        });
        return result;
    }

    private StoreException describe(String what, Throwable failure, Duration deadline) {
        String store = "Cluster store " + settings.address();
        if (failure instanceof StoreException) {
            return (StoreException) failure;
        }
        if (failure instanceof TimeoutException
            || failure instanceof io.lettuce.core.RedisCommandTimeoutException) {
            return new StoreException(StoreException.Kind.UNREACHABLE, store + " did not answer " + what + " within "
                + deadline.toMillis() + " ms", failure);
        }
        String message = deepestMessage(failure);
        String upper = message.toUpperCase(Locale.ROOT);
        if (upper.startsWith("WRONGPASS") || upper.startsWith("NOAUTH") || upper.contains("WRONGPASS")
            || upper.contains("NOAUTH")) {
            return new StoreException(StoreException.Kind.REFUSED, store + " refused the credentials (" + message
                + "): check the user and password in " + StoreSettings.STORE, failure);
        }
        if (failure instanceof RedisCommandExecutionException) {
            return REFUSALS.matcher(upper).lookingAt()
                ? new StoreException(StoreException.Kind.REFUSED, store + ": " + what + " was refused: " + message,
                    failure)
                : new StoreException(StoreException.Kind.COMMAND, store + ": " + what + " failed: " + message,
                    failure);
        }
        return new StoreException(StoreException.Kind.UNREACHABLE, store + ": " + what + " failed: " + message,
            failure);
    }

    private static String deepestMessage(Throwable failure) {
        String message = null;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return message == null ? failure.getClass().getSimpleName() : message;
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Commands sent since start (each one a round trip, though several travel together when sent at once). */
    long commands() {
        return commands.get();
    }

    /** Times a script had to be sent as text because the server did not know it. */
    long scriptLoads() {
        return scriptLoads.get();
    }

    @Override
    public void close() {
        StatefulConnection<String, String> commandConnection = connection;
        StatefulRedisPubSubConnection<String, String> announcements = pubSub;
        connection = null;
        async = null;
        pubSub = null;
        try {
            if (announcements != null) {
                announcements.closeAsync().get(2, TimeUnit.SECONDS);
            }
            if (commandConnection != null) {
                commandConnection.closeAsync().get(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Closing anyway: the resources below go down with their sockets.
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }
}

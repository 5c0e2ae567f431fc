package org.apache.james.queue.rabbitmq;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;

import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.backends.rabbitmq.RabbitMQConnectionFactory;
import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.apache.james.blob.api.HashBlobId;
import org.apache.james.blob.mail.MimeMessageStore;
import org.apache.james.metrics.api.NoopGaugeRegistry;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.RawMailQueueItemDecoratorFactory;
import org.apache.james.queue.rabbitmq.view.RabbitMQMailQueueConfiguration;
import org.apache.james.queue.rabbitmq.view.api.FakeMailQueueView;
import org.apache.james.server.blob.deduplication.BlobStoreFactory;

/**
 * James's own RabbitMQ mail queue factory, as James's distributed server builds it, in the test JVM: against a broker
 * given by URI, with blobs in memory ({@link ConcurrentMemoryBlobStoreDAO}) and without Cassandra (James's {@link FakeMailQueueView}, what
 * {@code cassandra.view.enabled=false} selects). Its constructors are package-private, hence this package.
 */
public final class PrivateRabbitMqQueues implements AutoCloseable {
    private final SimpleConnectionPool connections;
    private final ReactorRabbitMQChannelPool channels;
    private final RabbitMQMailQueueFactory factory;

    public PrivateRabbitMqQueues(URI amqp, URI management) {
        RabbitMQConfiguration configuration = RabbitMQConfiguration.builder()
            .amqpUri(amqp)
            .managementUri(management)
            .managementCredentials(new RabbitMQConfiguration.ManagementCredentials("guest", "guest".toCharArray()))
            .build();
        RecordingMetricFactory metrics = new RecordingMetricFactory();
        connections = new SimpleConnectionPool(new RabbitMQConnectionFactory(configuration),
            SimpleConnectionPool.Configuration.builder().retries(2).initialDelay(Duration.ofMillis(5)));
        channels = new ReactorRabbitMQChannelPool(connections.getResilientConnection(),
            ReactorRabbitMQChannelPool.Configuration.builder().retries(2).maxBorrowDelay(Duration.ofMillis(250))
                .maxChannel(10), metrics);
        channels.start();
        RabbitMQMailQueueFactory.PrivateFactory queues = new RabbitMQMailQueueFactory.PrivateFactory(metrics,
            new NoopGaugeRegistry(), channels.getSender(), channels::createReceiver,
            new MimeMessageStore.Factory(BlobStoreFactory.builder().blobStoreDAO(new ConcurrentMemoryBlobStoreDAO())
                .blobIdFactory(new HashBlobId.Factory()).defaultBucketName().passthrough()),
            new HashBlobId.Factory(), new FakeMailQueueView.Factory(), Clock.systemUTC(),
            new RawMailQueueItemDecoratorFactory(),
            RabbitMQMailQueueConfiguration.builder().sizeMetricsEnabled(false).build());
        factory = new RabbitMQMailQueueFactory(channels.getSender(), new RabbitMQMailQueueManagement(configuration),
            queues, configuration);
    }

    public MailQueueFactory<RabbitMQMailQueue> factory() {
        return factory;
    }

    @Override
    public void close() {
        channels.close();
        connections.close();
    }
}

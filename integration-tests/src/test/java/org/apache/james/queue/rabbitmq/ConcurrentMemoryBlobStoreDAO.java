package org.apache.james.queue.rabbitmq;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.james.blob.api.BlobId;
import org.apache.james.blob.api.BlobStoreDAO;
import org.apache.james.blob.api.BucketName;
import org.apache.james.blob.api.ObjectNotFoundException;
import org.apache.james.blob.api.ObjectStoreIOException;
import org.reactivestreams.Publisher;

import com.google.common.io.ByteSource;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Blobs in memory, safe for reads concurrent with writes. James's own {@code MemoryBlobStoreDAO} (3.8.1) writes under a
 * lock but reads its {@code HashBasedTable} without one: a read while another thread's write grows the table may miss
 * a blob that is there, and James's RabbitMQ queue then discards that mail as having lost its blobs. James's servers
 * keep queue blobs in Cassandra or S3; a test that enqueues and dequeues from several threads needs this instead.
 */
final class ConcurrentMemoryBlobStoreDAO implements BlobStoreDAO {
    private final Map<BucketName, Map<BlobId, byte[]>> buckets = new ConcurrentHashMap<>();

    @Override
    public InputStream read(BucketName bucketName, BlobId blobId) {
        return new ByteArrayInputStream(bytes(bucketName, blobId));
    }

    @Override
    public Publisher<InputStream> readReactive(BucketName bucketName, BlobId blobId) {
        return Mono.fromCallable(() -> read(bucketName, blobId));
    }

    @Override
    public Publisher<byte[]> readBytes(BucketName bucketName, BlobId blobId) {
        return Mono.fromCallable(() -> bytes(bucketName, blobId));
    }

    @Override
    public Publisher<Void> save(BucketName bucketName, BlobId blobId, byte[] data) {
        return Mono.fromRunnable(() -> buckets.computeIfAbsent(bucketName, name -> new ConcurrentHashMap<>())
            .put(blobId, data.clone()));
    }

    @Override
    public Publisher<Void> save(BucketName bucketName, BlobId blobId, InputStream inputStream) {
        return Mono.fromCallable(() -> inputStream.readAllBytes())
            .onErrorMap(IOException.class, e -> new ObjectStoreIOException("cannot read the blob's content", e))
            .flatMap(bytes -> Mono.from(save(bucketName, blobId, bytes)));
    }

    @Override
    public Publisher<Void> save(BucketName bucketName, BlobId blobId, ByteSource content) {
        return Mono.fromCallable(content::read)
            .onErrorMap(IOException.class, e -> new ObjectStoreIOException("cannot read the blob's content", e))
            .flatMap(bytes -> Mono.from(save(bucketName, blobId, bytes)));
    }

    @Override
    public Publisher<Void> delete(BucketName bucketName, BlobId blobId) {
        return Mono.fromRunnable(() -> {
            Map<BlobId, byte[]> bucket = buckets.get(bucketName);
            if (bucket != null) {
                bucket.remove(blobId);
            }
        });
    }

    @Override
    public Publisher<Void> delete(BucketName bucketName, Collection<BlobId> blobIds) {
        return Flux.fromIterable(blobIds).concatMap(blobId -> delete(bucketName, blobId)).then();
    }

    @Override
    public Publisher<Void> deleteBucket(BucketName bucketName) {
        return Mono.fromRunnable(() -> buckets.remove(bucketName));
    }

    @Override
    public Publisher<BucketName> listBuckets() {
        return Flux.fromIterable(buckets.keySet());
    }

    @Override
    public Publisher<BlobId> listBlobs(BucketName bucketName) {
        return Flux.fromIterable(buckets.getOrDefault(bucketName, Map.of()).keySet());
    }

    private byte[] bytes(BucketName bucketName, BlobId blobId) {
        byte[] bytes = buckets.getOrDefault(bucketName, Map.of()).get(blobId);
        if (bytes == null) {
            throw new ObjectNotFoundException("blob '" + blobId.asString() + "' not found in bucket '"
                + bucketName.asString() + "'");
        }
        return bytes;
    }
}

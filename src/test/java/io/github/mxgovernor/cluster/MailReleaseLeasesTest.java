package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.testing.RedisServer;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Release leases of two nodes (two stores in one JVM) on one private Redis. */
class MailReleaseLeasesTest {
    private static final String MAIL = "mxgw-abc-s-0123456789abcdef-mta5.am0.yahoodns.net";

    @RegisterExtension
    final RedisStores redisStores = new RedisStores();
    private RedisServer redis;

    @Test
    void oneNodeHoldsAMailsLeaseAtATimeAndOnlyItsHolderGivesItBack() throws Exception {
        redis = redisStores.start();
        MailReleaseLeases a = MailReleaseLeases.on(node("a"));
        MailReleaseLeases b = MailReleaseLeases.on(node("b"));

        assertThat(a.tryAcquire(MAIL, false)).isTrue();
        assertThat(b.tryAcquire(MAIL, true)).as("held by a, even for b's own mail").isFalse();
        assertThat(a.tryAcquire(MAIL, false)).as("its holder takes it again").isTrue();
        assertThat(b.tryAcquire("mxgw-other", false)).as("another mail's lease is free").isTrue();

        b.release(MAIL);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> !b.tryAcquire(MAIL, false));
        assertThat(redis.command("EXISTS", a.leaseKey(MAIL))).as("a's lease still there").isEqualTo(":1");

        a.release(MAIL);
        await().atMost(Duration.ofSeconds(2)).until(() -> b.tryAcquire(MAIL, false));
        long ttl = Long.parseLong(redis.command("PTTL", a.leaseKey(MAIL)).substring(1).trim());
        assertThat(ttl).as("b's lease expires by itself").isBetween(1L, MailReleaseLeases.LEASE_TIME.toMillis());
    }

    @Test
    void theLeaseOfANodeThatDiedExpiresByItself() throws Exception {
        redis = redisStores.start();
        ClusterStore dying = node("a");
        MailReleaseLeases a = MailReleaseLeases.on(dying, Duration.ofMillis(500));
        MailReleaseLeases b = MailReleaseLeases.on(node("b"));
        assertThat(a.tryAcquire(MAIL, true)).isTrue();

        dying.crash();

        assertThat(b.tryAcquire(MAIL, false)).isFalse();
        await().atMost(Duration.ofSeconds(3)).until(() -> b.tryAcquire(MAIL, false));
    }

    @Test
    void whileTheStoreIsAwayANodeReleasesOnlyTheMailsItStoredItself() throws Exception {
        redis = redisStores.start();
        ClusterStore store = node("a");
        MailReleaseLeases a = MailReleaseLeases.on(store);

        redis.kill();
        // the first call may be the one that finds the store away: it answers as the store-down rule says
        assertThat(a.tryAcquire(MAIL, false)).isFalse();
        await().atMost(Duration.ofSeconds(2)).until(() -> !store.isUp());

        assertThat(a.tryAcquire(MAIL, true)).as("its own mail").isTrue();
        assertThat(a.tryAcquire(MAIL, false)).as("a mail found in the repository").isFalse();
        a.release(MAIL);

        redis.start();
        await().atMost(Duration.ofSeconds(5)).until(store::isUp);
        assertThat(a.tryAcquire(MAIL, false)).as("back: the lease decides").isTrue();
    }

    @Test
    void aStoreThatDoesNotAnswerInTimeCountsAsAway() throws Exception {
        redis = redisStores.start("--enable-debug-command", "local");
        ClusterStore store = node("a");
        MailReleaseLeases a = MailReleaseLeases.on(store);
        assertThat(a.tryAcquire("warm-up", true)).isTrue();

        Thread sleeper = new Thread(() -> {
            try {
                redis.command("DEBUG", "SLEEP", "1");
            } catch (Exception e) {
                // the server answers after its sleep
            }
        });
        sleeper.start();
        Thread.sleep(100);
        long started = System.nanoTime();
        boolean own = a.tryAcquire(MAIL, true);
        boolean found = a.tryAcquire("mxgw-found", false);
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        sleeper.join();

        assertThat(own).isTrue();
        assertThat(found).isFalse();
        assertThat(tookMillis).as("at most about the deadline (250 ms) each").isLessThan(1_000);
    }

    private ClusterStore node(String name) {
        ClusterStore store = redisStores.open(redisStores.settings(name).build());
        assertThat(store.isUp()).as("store of %s up", name).isTrue();
        return store;
    }
}

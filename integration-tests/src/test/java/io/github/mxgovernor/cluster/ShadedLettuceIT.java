package io.github.mxgovernor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.mxgovernor.flowcontrol.FlowCause;
import io.github.mxgovernor.flowcontrol.FlowState;
import io.github.mxgovernor.testing.RedisServer;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.jar.JarFile;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin JAR as operators install it: Lettuce only under our relocated name, without its CDI service file or
 * GraalVM metadata, and the relocated copy working on the Netty and Reactor James ships (this test's class path has
 * no unrelocated Lettuce).
 */
class ShadedLettuceIT {
    @TempDir
    Path directory;

    @Test
    void pluginJarShouldHoldLettuceOnlyRelocated() throws Exception {
        Path jar = Paths.get(ClusterStore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(jar.getFileName().toString()).endsWith(".jar");

        List<String> entries;
        try (JarFile file = new JarFile(jar.toFile())) {
            entries = file.stream().map(entry -> entry.getName()).collect(Collectors.toList());
        }

        assertThat(entries).noneMatch(name -> name.startsWith("io/lettuce/"))
            .noneMatch(name -> name.startsWith("META-INF/native-image/"))
            .noneMatch(name -> name.endsWith(".kotlin_module"))
            .noneMatch(name -> name.startsWith("META-INF/services/"))
            .contains("io/github/mxgovernor/shaded/lettuce/core/RedisClient.class",
                "io/github/mxgovernor/cluster/lease-acquire.lua");
        assertThat(Arrays.stream(Class.forName("io.github.mxgovernor.cluster.RedisLink").getDeclaredFields())
            .map(field -> field.getType().getName()))
            .contains("io.github.mxgovernor.shaded.lettuce.core.AbstractRedisClient");
        assertThatThrownBy(() -> Class.forName("io.lettuce.core.RedisClient"))
            .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void relocatedClientShouldShareACapAndAStateBetweenTwoNodes() throws Exception {
        try (RedisServer redis = RedisServer.start(directory.resolve("redis"));
             ClusterStore a = ClusterStore.open(StoreSettings.builder(redis.hostAndPort()).nodeName("a").nodes(2)
                 .build());
             ClusterStore b = ClusterStore.open(StoreSettings.builder(redis.hostAndPort()).nodeName("b").nodes(2)
                 .build())) {
            assertThat(a.isUp()).isTrue();
            assertThat(b.isUp()).isTrue();

            assertThat(a.connections("shared:google").acquire(1).join()).isNotNull();
            assertThat(b.connections("shared:google").acquire(1).join()).isNull();
            SharedMessageRate rate = b.rate("shared:google", 36_000);
            await().atMost(Duration.ofSeconds(2)).until(rate::tryConsume);

            List<SharedFlowState> heard = new CopyOnWriteArrayList<>();
            b.flowStates().watch("mx1.example.com", heard::add);
            a.flowStates().publish(SharedFlowState.builder("mx1.example.com", FlowState.Kind.SUSPENDED)
                .until(Instant.now().plus(Duration.ofHours(1))).origin(FlowState.Origin.OPERATOR)
                .cause(FlowCause.Kind.OPERATOR, "suspended from node a", null, null).build()).join();
            await().atMost(Duration.ofSeconds(1)).until(() -> !heard.isEmpty());
            assertThat(heard.get(0).description()).isEqualTo("suspended from node a");
        }
    }
}

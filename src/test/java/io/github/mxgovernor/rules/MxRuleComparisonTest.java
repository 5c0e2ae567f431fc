package io.github.mxgovernor.rules;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mxgovernor.cluster.ClusterScope;
import io.github.mxgovernor.flowcontrol.FlowControlPolicy;
import io.github.mxgovernor.flowcontrol.Recovery;
import io.github.mxgovernor.tls.TlsMode;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

/**
 * A rules reload keeps a destination's rate and flow control only when its rule did not change but for where it is
 * written: {@link MxRule#equalExceptSource} must see every field. Built by reflection over the fields, so that a new
 * field that the comparison forgets fails this test.
 */
class MxRuleComparisonTest {
    /** Fields derived from others, which the comparison need not see. */
    private static final List<String> DERIVED = List.of("mxMaskArray");

    @Test
    void aRuleThatDiffersInAnyFieldButItsSourceShouldNotBeEqualExceptSource() throws Exception {
        List<String> compared = new ArrayList<>();
        for (Field field : MxRule.class.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) || DERIVED.contains(field.getName())) {
                continue;
            }
            MxRule rule = rule();
            MxRule changed = rule();
            field.setAccessible(true);
            field.set(changed, other(field.get(rule)));

            assertThat(changed).as(field.getName()).isNotEqualTo(rule);
            if (field.getName().equals("source")) {
                assertThat(changed.equalExceptSource(rule)).as(field.getName()).isTrue();
            } else {
                assertThat(changed.equalExceptSource(rule)).as(field.getName()).isFalse();
                assertThat(rule.equalExceptSource(changed)).as(field.getName()).isFalse();
            }
            compared.add(field.getName());
        }
        assertThat(compared).contains("name", "dane", "transactionTimeout", "flowControl", "source", "clusterScope").hasSize(17);
    }

    @Test
    void equalRulesShouldBeEqualInEveryWayAndHashAlike() {
        assertThat(rule()).isEqualTo(rule()).hasSameHashCodeAs(rule());
        assertThat(rule().equalExceptSource(rule())).isTrue();
    }

    private static MxRule rule() {
        return MxRule.builder("yahoo").mxMasks("*.yahoodns.net").recipientDomainMask(HostMask.parse("yahoo.com"))
            .maxConnections(5).maxMessagesPerConnection(20).messagesPerHour(1000)
            .connectTimeout(Duration.ofSeconds(30)).commandTimeout(Duration.ofMinutes(2))
            .dataTimeout(Duration.ofMinutes(3)).transactionTimeout(Duration.ofMinutes(20))
            .idleTimeout(Duration.ofSeconds(20)).limitScope(LimitScope.PER_MX_HOST).tlsMode(TlsMode.REQUIRED)
            .dane(false).source("mx-rules.xml:4").build();
    }

    /** A value of the same type as {@code value}, unequal to it. */
    private static Object other(Object value) {
        if (value instanceof String) {
            return value + "x";
        }
        if (value instanceof Integer) {
            return (Integer) value + 1;
        }
        if (value instanceof Boolean) {
            return !(Boolean) value;
        }
        if (value instanceof Duration) {
            return ((Duration) value).plusSeconds(1);
        }
        if (value instanceof OptionalLong) {
            return OptionalLong.of(((OptionalLong) value).orElse(0) + 1);
        }
        if (value instanceof Optional) {
            return Optional.of(HostMask.parse("other.example"));
        }
        if (value instanceof List) {
            return List.of(HostMask.parse("*.other.example"));
        }
        if (value instanceof LimitScope) {
            return value == LimitScope.SHARED ? LimitScope.PER_MX_HOST : LimitScope.SHARED;
        }
        if (value instanceof ClusterScope) {
            return value == ClusterScope.CLUSTER ? ClusterScope.NODE : ClusterScope.CLUSTER;
        }
        if (value instanceof TlsMode) {
            return value == TlsMode.VERIFY ? TlsMode.REQUIRED : TlsMode.VERIFY;
        }
        if (value instanceof FlowControlPolicy) {
            return FlowControlPolicy.builder().recovery(new Recovery(9, Duration.ofMinutes(3))).build();
        }
        throw new AssertionError("no other value known for a field of type " + value.getClass()
            + ": teach this test, and MxRule.equalExceptSource, the new field");
    }
}

package io.github.mxgovernor.james;

import io.github.mxgovernor.governor.Governor;
import io.github.mxgovernor.james.jmx.GovernorBeans;

import java.time.Clock;
import java.util.Optional;

import javax.management.JMException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one {@link Governor} of a JVM, shared by every governed mailet so that caps hold across mailet
 * instances. Reference-counted: the last mailet destroyed drops it, so a James restarted in the same JVM
 * (tests) starts from clean counters.
 *
 * <p>With the governor live, its JMX beans are registered on the platform MBean server ({@link GovernorBeans}), and
 * the mailets' rules sources are gathered so that one {@code reloadRules} reaches every mailet. {@link #current()}
 * lets tools in the same JVM (the demo, the benchmark) read the live counters.
 */
public final class SharedGovernor {
    private static final Logger LOGGER = LoggerFactory.getLogger(SharedGovernor.class);

    private static Governor governor;
    private static RulesSources rulesSources;
    private static GovernorBeans beans;
    private static int users;

    private SharedGovernor() {
    }

    static synchronized Governor acquire() {
        if (governor == null) {
            Clock clock = Clock.systemUTC();
            governor = new Governor(clock);
            rulesSources = new RulesSources(governor, clock);
            try {
                beans = GovernorBeans.register(governor, rulesSources);
            } catch (JMException e) {
                LOGGER.warn("mx-governor's JMX beans could not be registered: delivery goes on, without them", e);
            }
        }
        users++;
        return governor;
    }

    /** The governor of the governed mailets running in this JVM; empty while none runs. */
    public static synchronized Optional<Governor> current() {
        return Optional.ofNullable(governor);
    }

    /** Lets {@code reloadRules} reach a mailet that holds the governor. */
    static synchronized void addRulesSource(RulesSource source) {
        if (rulesSources == null) {
            throw new IllegalStateException("acquire the governor before adding a rules source");
        }
        rulesSources.add(source);
    }

    static synchronized void removeRulesSource(RulesSource source) {
        if (rulesSources != null) {
            rulesSources.remove(source);
        }
    }

    static synchronized void release() {
        if (users > 0 && --users == 0) {
            if (beans != null) {
                beans.close();
            }
            governor = null;
            rulesSources = null;
            beans = null;
        }
    }
}

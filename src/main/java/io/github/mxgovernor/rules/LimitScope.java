package io.github.mxgovernor.rules;

/**
 * What an {@link MxRule}'s limits are counted against.
 *
 * <ul>
 *   <li>{@link #PER_MX_HOST} ({@code scope="per-mx"} in the rules file): every MX host the rule matches gets its own
 *       connection quota and message rate.</li>
 *   <li>{@link #SHARED} ({@code scope="shared"}): one quota and one rate shared by every MX host the rule matches,
 *       for providers whose limits are provider-wide (an "MX rollup").</li>
 * </ul>
 */
public enum LimitScope {
    PER_MX_HOST("per-mx"),
    SHARED("shared");

    private final String configValue;

    LimitScope(String configValue) {
        this.configValue = configValue;
    }

    /** The value of the {@code scope} attribute in the rules file. */
    public String configValue() {
        return configValue;
    }
}

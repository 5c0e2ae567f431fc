package io.github.mxgovernor.deferral;

/**
 * Why a mail (or some of its recipients) was put back to wait. Local reasons are our own decisions (a cap,
 * a rate, flow control): they never count against the retry budget. The others are failed attempts.
 */
public enum DeferralReason {
    CONNECTION_QUOTA_REACHED("Messages queued (connection quotas reached)", true),
    RATE_LIMITED("Messages queued (message rate reached)", true),
    DYNAMIC_FLOW_CONTROL("Messages queued (dynamic flow control)", true),
    SUSPENDED("Messages queued (destination suspended)", true),
    SMTP_TEMPORARY_FAILURE("Temporary failure reported by the remote server", false),
    CONNECTION_FAILED("Could not connect to any MX host", false),
    DNS_TEMPORARY_FAILURE("Temporary DNS failure", false),
    TLS_POLICY_FAILURE("TLS policy could not be met", false);

    private final String message;
    private final boolean local;

    DeferralReason(String message, boolean local) {
        this.message = message;
        this.local = local;
    }

    /** The operator-facing sentence, for example "Messages queued (connection quotas reached)". */
    public String message() {
        return message;
    }

    /** True when the deferral is our own decision and no attempt was made against the server. */
    public boolean isLocal() {
        return local;
    }
}

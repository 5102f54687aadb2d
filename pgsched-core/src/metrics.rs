//! Metric names and how the runtime records them, through the `metrics` facade: pgsched
//! forces no exporter on its users (the `pgsched` crate's `prometheus` feature offers one).
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `pgsched_jobs_enqueued_total` | counter | `job` | jobs written by schedule calls (inserted or replaced) |
//! | `pgsched_jobs_claimed_total` | counter | `job` | attempts claimed by this worker |
//! | `pgsched_jobs_completed_total` | counter | `job` | attempts that completed (counted once the outcome is written) |
//! | `pgsched_jobs_failed_total` | counter | `job`, `reason` | jobs failed for good (once written) |
//! | `pgsched_jobs_retried_total` | counter | `job`, `reason` | failed attempts scheduled for a retry (once written) |
//! | `pgsched_late_claims_total` | counter | — | claimed jobs given back unstarted because the claim answered too late to start them within their lease |
//! | `pgsched_jobs_expired_total` | counter | `priority` | jobs expired by this worker (not started within their misfire grace: came due while no worker ran, or held back by higher priorities) |
//! | `pgsched_jobs_recovered_total` | counter | `outcome` (`requeued`/`failed`) | jobs with an expired lease handled by this worker's sweeps |
//! | `pgsched_lease_lost_total` | counter | — | attempts whose lease was lost (nothing written) |
//! | `pgsched_job_duration_seconds` | histogram | `job` | run time of an attempt |
//! | `pgsched_job_queue_lag_seconds` | histogram | `job` | start minus due time |
//! | `pgsched_jobs_running` | gauge | — | attempts running in this worker |
//! | `pgsched_worker_free_slots` | gauge | — | free concurrency slots of this worker |

/// Jobs written by schedule calls.
pub const ENQUEUED: &str = "pgsched_jobs_enqueued_total";
/// Attempts claimed.
pub const CLAIMED: &str = "pgsched_jobs_claimed_total";
/// Attempts completed.
pub const COMPLETED: &str = "pgsched_jobs_completed_total";
/// Jobs failed for good.
pub const FAILED: &str = "pgsched_jobs_failed_total";
/// Attempts scheduled for a retry.
pub const RETRIED: &str = "pgsched_jobs_retried_total";
/// Claimed jobs given back unstarted: the claim answered too late to start them safely.
pub const LATE_CLAIMS: &str = "pgsched_late_claims_total";
/// Jobs expired (misfire).
pub const EXPIRED: &str = "pgsched_jobs_expired_total";
/// Orphaned jobs recovered.
pub const RECOVERED: &str = "pgsched_jobs_recovered_total";
/// Leases lost.
pub const LEASE_LOST: &str = "pgsched_lease_lost_total";
/// Attempt run time.
pub const DURATION: &str = "pgsched_job_duration_seconds";
/// Start minus due time.
pub const QUEUE_LAG: &str = "pgsched_job_queue_lag_seconds";
/// Attempts running.
pub const RUNNING: &str = "pgsched_jobs_running";
/// Free concurrency slots.
pub const FREE_SLOTS: &str = "pgsched_worker_free_slots";

/// Registers descriptions with the installed recorder (call once, at start).
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        ENQUEUED,
        "Jobs written by schedule calls (inserted or replaced)"
    );
    describe_counter!(CLAIMED, "Attempts claimed by this worker");
    describe_counter!(COMPLETED, "Attempts that completed");
    describe_counter!(FAILED, "Jobs failed for good");
    describe_counter!(RETRIED, "Failed attempts scheduled for a retry");
    describe_counter!(
        LATE_CLAIMS,
        "Claimed jobs given back unstarted: the claim answered too late to start them within their lease"
    );
    describe_counter!(
        EXPIRED,
        "Jobs expired (not started within their misfire grace)"
    );
    describe_counter!(
        RECOVERED,
        "Jobs whose lease expired, handled by this worker's sweeps"
    );
    describe_counter!(LEASE_LOST, "Attempts whose lease was lost");
    describe_histogram!(DURATION, Unit::Seconds, "Run time of an attempt");
    describe_histogram!(QUEUE_LAG, Unit::Seconds, "Start minus due time");
    describe_gauge!(RUNNING, "Attempts running in this worker");
    describe_gauge!(FREE_SLOTS, "Free concurrency slots of this worker");
}

/// Counts and logs jobs this worker expired (by the misfire sweep, or by the promotion of a
/// job that came due past its grace).
pub(crate) fn count_expired(expired: &[(crate::JobId, crate::Priority)]) {
    for (id, priority) in expired {
        ::metrics::counter!(EXPIRED, "priority" => priority.label()).increment(1);
        tracing::info!(%id, %priority, "expired: not started within its misfire grace");
    }
}

//! Rows read back from PostgreSQL, and their conversion into core types.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use pgsched_core::retention::VacuumReport;
use pgsched_core::store::{
    ClaimedJob, Lease, PeriodicState, Promotion, PromotionFloor, VacuumStatsDay, VacuumTotals,
    WorkerInfo,
};
use pgsched_core::{
    Error, JobId, JobInfo, JobOutput, JobStatus, Priority, QueueInfo, QueueName, QueueSettings,
    RateLimit,
};

use crate::dashboard::JobSummary;

/// Reads a non-negative count stored as `integer`.
fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// Reads an optional millisecond duration stored as `bigint`.
fn millis(value: Option<i64>) -> Option<Duration> {
    value
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Duration::from_millis)
}

/// Stores a duration as milliseconds (saturating; durations this long mean "forever").
pub(crate) fn to_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Stores a schema hash (`u64`) in a `bigint` column, bit for bit.
pub(crate) fn hash_to_db(hash: u64) -> i64 {
    i64::from_ne_bytes(hash.to_ne_bytes())
}

fn hash_from_db(hash: i64) -> u64 {
    u64::from_ne_bytes(hash.to_ne_bytes())
}

/// A row returned by `claim_jobs`.
#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow {
    id: String,
    name: String,
    payload: Vec<u8>,
    schema_hash: Option<i64>,
    attempts: i32,
    max_retries: i32,
    priority: i16,
    run_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    lease_token: i64,
    timeout_ms: Option<i64>,
    trace_context: Option<String>,
    queue: String,
    concurrency_key: Option<String>,
    passes_slot: bool,
    claimed_at: DateTime<Utc>,
}

impl From<ClaimRow> for ClaimedJob {
    fn from(row: ClaimRow) -> Self {
        ClaimedJob {
            lease: Lease {
                id: JobId::from_stored(row.id),
                token: row.lease_token,
            },
            name: row.name,
            payload: row.payload,
            schema_hash: row.schema_hash.map(hash_from_db),
            attempt: count(row.attempts),
            max_retries: count(row.max_retries),
            priority: Priority::from_db_value(row.priority),
            run_at: row.run_at,
            created_at: row.created_at,
            claimed_at: row.claimed_at,
            timeout: millis(row.timeout_ms),
            trace_context: row.trace_context,
            queue: QueueName::from_stored(row.queue),
            concurrency_key: row.concurrency_key,
            passes_slot: row.passes_slot,
        }
    }
}

/// The columns every job row read back carries: a job as a list shows it (the dashboard's
/// jobs list reads just these, see `dashboard_jobs_newest.sql`), and the head of [`JobRow`].
#[derive(sqlx::FromRow)]
pub(crate) struct JobHeadRow {
    id: String,
    name: String,
    status: String,
    priority: i16,
    attempts: i32,
    max_retries: i32,
    run_at: DateTime<Utc>,
    last_error: Option<String>,
    worker_id: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    queue: String,
}

impl TryFrom<JobHeadRow> for JobSummary {
    type Error = Error;

    fn try_from(row: JobHeadRow) -> Result<Self, Error> {
        Ok(JobSummary {
            waiting: row.status == "scheduled",
            status: parse_status(&row.status)?,
            id: JobId::from_stored(row.id),
            name: row.name,
            queue: QueueName::from_stored(row.queue),
            priority: Priority::from_db_value(row.priority),
            attempts: count(row.attempts),
            max_retries: count(row.max_retries),
            run_at: row.run_at,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            last_error: row.last_error,
            worker_id: row.worker_id,
        })
    }
}

/// A row returned by `get_job` and `list_jobs`: the head every job row has, then the job's
/// options, payload, dependencies and output.
#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    #[sqlx(flatten)]
    head: JobHeadRow,
    misfire_grace_ms: Option<i64>,
    timeout_ms: Option<i64>,
    payload: Vec<u8>,
    schema_hash: Option<i64>,
    concurrency_key: Option<String>,
    parents: Vec<String>,
    dependents: Vec<String>,
    output: Option<Vec<u8>>,
    output_schema_hash: Option<i64>,
}

impl TryFrom<JobRow> for JobInfo {
    type Error = Error;

    fn try_from(row: JobRow) -> Result<Self, Error> {
        // The head's columns read once, as the jobs list reads them.
        let head = JobSummary::try_from(row.head)?;
        Ok(JobInfo {
            id: head.id,
            name: head.name,
            status: head.status,
            priority: head.priority,
            attempts: head.attempts,
            max_retries: head.max_retries,
            run_at: head.run_at,
            last_error: head.last_error,
            worker_id: head.worker_id,
            misfire_grace: millis(row.misfire_grace_ms),
            timeout: millis(row.timeout_ms),
            created_at: head.created_at,
            started_at: head.started_at,
            finished_at: head.finished_at,
            payload: row.payload,
            schema_hash: row.schema_hash.map(hash_from_db),
            queue: head.queue,
            concurrency_key: row.concurrency_key,
            parents: row.parents.into_iter().map(JobId::from_stored).collect(),
            dependents: row.dependents.into_iter().map(JobId::from_stored).collect(),
            output: match (row.output, row.output_schema_hash) {
                (Some(bytes), Some(hash)) => Some(JobOutput {
                    bytes,
                    schema_hash: hash_from_db(hash),
                }),
                _ => None,
            },
        })
    }
}

/// A row returned by `list_workers`.
#[derive(sqlx::FromRow)]
pub(crate) struct WorkerRow {
    id: String,
    host: String,
    pid: i32,
    started_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    job_ids: Vec<String>,
}

impl From<WorkerRow> for WorkerInfo {
    fn from(row: WorkerRow) -> Self {
        WorkerInfo {
            id: row.id,
            host: row.host,
            pid: u32::try_from(row.pid).unwrap_or(0),
            started_at: row.started_at,
            last_seen_at: row.last_seen_at,
            jobs: row.job_ids.into_iter().map(JobId::from_stored).collect(),
        }
    }
}

/// A row returned by `periodic_states` / `periodic_state`.
#[derive(sqlx::FromRow)]
pub(crate) struct PeriodicRow {
    dedup_key: String,
    job_name: String,
    schedule: String,
    enabled: bool,
    last_window: Option<DateTime<Utc>>,
    last_job_id: Option<String>,
    schedule_since: DateTime<Utc>,
    registered_at: Option<DateTime<Utc>>,
    registered_by: Option<String>,
    updated_at: DateTime<Utc>,
    pub(crate) db_now: DateTime<Utc>,
}

impl From<PeriodicRow> for PeriodicState {
    fn from(row: PeriodicRow) -> Self {
        PeriodicState {
            key: row.dedup_key,
            job_name: row.job_name,
            schedule: row.schedule,
            enabled: row.enabled,
            last_window: row.last_window,
            last_job_id: row.last_job_id.map(JobId::from_stored),
            since: row.schedule_since,
            registered_at: row.registered_at,
            registered_by: row.registered_by,
            updated_at: row.updated_at,
        }
    }
}

fn counted(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The per-status deletion counts of `retention_stats` and `retention_totals` rows.
#[derive(sqlx::FromRow)]
pub(crate) struct DeletedCountsRow {
    deleted_completed: i64,
    deleted_failed: i64,
    deleted_cancelled: i64,
    deleted_expired: i64,
}

impl From<DeletedCountsRow> for VacuumReport {
    fn from(row: DeletedCountsRow) -> Self {
        VacuumReport {
            completed: counted(row.deleted_completed),
            failed: counted(row.deleted_failed),
            cancelled: counted(row.deleted_cancelled),
            expired: counted(row.deleted_expired),
        }
    }
}

/// A row returned by `retention_stats`.
#[derive(sqlx::FromRow)]
pub(crate) struct RetentionStatsRow {
    stat_date: NaiveDate,
    #[sqlx(flatten)]
    deleted: DeletedCountsRow,
    runs: i64,
    last_run: DateTime<Utc>,
    last_worker: String,
}

impl From<RetentionStatsRow> for VacuumStatsDay {
    fn from(row: RetentionStatsRow) -> Self {
        VacuumStatsDay {
            date: row.stat_date,
            deleted: row.deleted.into(),
            runs: counted(row.runs),
            last_run: row.last_run,
            last_worker: row.last_worker,
        }
    }
}

/// The row returned by `retention_totals`.
#[derive(sqlx::FromRow)]
pub(crate) struct RetentionTotalsRow {
    #[sqlx(flatten)]
    deleted: DeletedCountsRow,
    runs: i64,
    last_run: Option<DateTime<Utc>>,
}

impl From<RetentionTotalsRow> for VacuumTotals {
    fn from(row: RetentionTotalsRow) -> Self {
        VacuumTotals {
            deleted: row.deleted.into(),
            runs: counted(row.runs),
            last_run: row.last_run,
        }
    }
}

/// The row of promote_jobs.sql.
#[derive(sqlx::FromRow)]
pub(crate) struct PromotionRow {
    promoted: i64,
    lasting_run_at: Option<DateTime<Utc>>,
    lasting_id: Option<String>,
    expiring_run_at: Option<DateTime<Utc>>,
    expiring_id: Option<String>,
    next_due_ms: Option<i64>,
}

impl From<PromotionRow> for Promotion {
    fn from(row: PromotionRow) -> Promotion {
        let key = |at: Option<DateTime<Utc>>, id: Option<String>| {
            at.zip(id).map(|(at, id)| (at, JobId::from_stored(id)))
        };
        Promotion {
            promoted: counted(row.promoted),
            reached: PromotionFloor {
                lasting: key(row.lasting_run_at, row.lasting_id),
                expiring: key(row.expiring_run_at, row.expiring_id),
            },
            next_due: millis(row.next_due_ms),
        }
    }
}

/// Reads a status column (guarded by a CHECK constraint, so an error means a newer schema).
pub(crate) fn parse_status(status: &str) -> Result<JobStatus, Error> {
    // A job waiting for its due time is pending to every reader (see migration 0006).
    let status = if status == "scheduled" {
        "pending"
    } else {
        status
    };
    status
        .parse()
        .map_err(|reason: String| Error::store("read job status", reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_survive_the_signed_column() {
        for hash in [0, 1, u64::MAX, 0x8000_0000_0000_0000, 0x64c1_ec85_e0a6_a3ba] {
            assert_eq!(hash_from_db(hash_to_db(hash)), hash);
        }
    }

    #[test]
    fn durations_and_counts_read_back() {
        assert_eq!(millis(Some(1500)), Some(Duration::from_millis(1500)));
        assert_eq!(millis(Some(-1)), None);
        assert_eq!(count(-3), 0);
        assert_eq!(to_millis(Duration::MAX), i64::MAX);
    }
}

/// A row returned by `list_queues`.
#[derive(sqlx::FromRow)]
pub(crate) struct QueueRow {
    name: String,
    paused: bool,
    concurrency_limit: Option<i32>,
    rate_limit: Option<i32>,
    rate_period_ms: Option<i64>,
    key_rate_limit: Option<i32>,
    key_rate_period_ms: Option<i64>,
    pending: i64,
    running: i64,
}

/// A rate limit from its stored starts and period in milliseconds (a queue's or its keys':
/// both set, or neither).
pub(crate) fn stored_rate(starts: Option<i32>, period_ms: Option<i64>) -> Option<RateLimit> {
    match (starts, millis(period_ms)) {
        (Some(starts), Some(per)) => Some(RateLimit {
            starts: count(starts),
            per,
        }),
        _ => None,
    }
}

impl From<QueueRow> for QueueInfo {
    fn from(row: QueueRow) -> Self {
        QueueInfo {
            name: QueueName::from_stored(row.name),
            settings: QueueSettings {
                paused: row.paused,
                concurrency_limit: row.concurrency_limit.map(count),
                rate_limit: stored_rate(row.rate_limit, row.rate_period_ms),
                key_rate_limit: stored_rate(row.key_rate_limit, row.key_rate_period_ms),
            },
            pending: counted(row.pending),
            running: counted(row.running),
        }
    }
}

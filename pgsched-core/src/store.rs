//! The storage seam: what the runtime and the scheduling API need from a database.
//!
//! `pgsched-pg` implements [`JobStore`] for PostgreSQL. The trait speaks only in domain types
//! and is an internal seam between pgsched's crates, not a stable extension point. Every
//! method that changes a claimed job is fenced by its lease token: a write whose token is no
//! longer current changes nothing and is reported back as not applied.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use crate::claim_floor::{ClaimFloor, PromotionFloor};
use crate::error::Result;
use crate::job::{ConflictResolution, JobId, JobInfo, JobStatus, NewJob, Scheduled};
use crate::priority::Priority;
use crate::queue::{QueueInfo, QueueName, RateLimit};
use crate::retention::{DeletedBatch, RetentionBatch, VacuumReport};

/// A claim's proof of ownership: the job and the token written when it was claimed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The job.
    pub id: JobId,
    /// The token written by the claim; unique per claim.
    pub token: i64,
}

/// What one claim asks of one queue (see [`JobStore::claim_queues`]).
#[derive(Debug, Clone, Copy)]
pub struct QueueClaim<'a> {
    /// The queue.
    pub queue: &'a QueueName,
    /// The most jobs to take from it (the worker's free slots for it).
    pub limit: u32,
    /// Where its reads start.
    pub floor: &'a ClaimFloor,
    /// Jobs of this queue the worker has finished but whose outcomes are not written yet,
    /// whose slots of the queue's limit ([`ClaimedJob::passes_slot`]) the claim may pass on to
    /// the jobs it takes instead of waiting for the outcomes to free them (empty: none).
    pub passing: &'a [Lease],
}

/// A job handed to a worker by [`JobStore::claim`].
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// Its lease.
    pub lease: Lease,
    /// The registered name that runs it.
    pub name: String,
    /// The encoded arguments.
    pub payload: Vec<u8>,
    /// The schema hash stored with the payload.
    pub schema_hash: Option<u64>,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
    /// Its priority.
    pub priority: Priority,
    /// When it was due.
    pub run_at: DateTime<Utc>,
    /// When it was written (its insertion order, after priority and due time).
    pub created_at: DateTime<Utc>,
    /// When it was claimed, by the database clock.
    pub claimed_at: DateTime<Utc>,
    /// Per-attempt timeout stored with it.
    pub timeout: Option<Duration>,
    /// The trace it was scheduled in (see [`crate::trace`]).
    pub trace_context: Option<String>,
    /// The queue it was claimed from.
    pub queue: QueueName,
    /// Its concurrency key, if any.
    pub concurrency_key: Option<String>,
    /// It holds a slot of its queue's concurrency limit and none of a key's: once it ends,
    /// the worker's next claim from the queue can take the slot over
    /// ([`QueueClaim::passing`]).
    pub passes_slot: bool,
}

impl ClaimedJob {
    /// Start minus due time (zero if claimed early, which the claim never does).
    #[must_use]
    pub fn queue_lag(&self) -> Duration {
        (self.claimed_at - self.run_at).to_std().unwrap_or_default()
    }
}

/// How an attempt ended, as written back to the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Completed successfully, with no output (the job returns `()`).
    Completed,
    /// Completed successfully, returning this output (stored with the job).
    CompletedWith(crate::codec::JobOutput),
    /// Failed for good, with its reason.
    Failed {
        /// `last_error` text.
        error: String,
    },
    /// Failed; run again after `delay` (by the database clock).
    Retry {
        /// How long to wait.
        delay: Duration,
        /// `last_error` text.
        error: String,
    },
}

/// Longest `last_error` written, in bytes (errors can carry whole payloads or backtraces).
pub const MAX_ERROR_BYTES: usize = 64 * 1024;

impl Finish {
    /// This outcome in a form any database accepts, for when the database refused it
    /// (`why`): the error text with every character outside printable ASCII escaped
    /// (`\u{1f525}`) and a note saying why, within [`MAX_ERROR_BYTES`]; a retry delay at most
    /// [`crate::retry::LONGEST_RETRY_DELAY`].
    #[must_use]
    pub fn storable(&self, why: &str) -> Finish {
        let text = |error: &str| {
            let mut text = ascii_escaped(&format!(
                "[stored with non-ASCII characters escaped: the database refused the original ({why})] {error}"
            ));
            text.truncate(MAX_ERROR_BYTES);
            text
        };
        match self {
            Finish::Completed => Finish::Completed,
            Finish::CompletedWith(output) => Finish::CompletedWith(output.clone()),
            Finish::Failed { error } => Finish::Failed { error: text(error) },
            Finish::Retry { delay, error } => Finish::Retry {
                delay: (*delay).min(crate::retry::LONGEST_RETRY_DELAY),
                error: text(error),
            },
        }
    }
}

/// `text` with every character outside printable ASCII (and newline) written as `\u{…}`.
fn ascii_escaped(text: &str) -> String {
    use std::fmt::Write;
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if character == '\n' || character == ' ' || character.is_ascii_graphic() {
            escaped.push(character);
        } else {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(character));
        }
    }
    escaped
}

/// A lease to give back without finishing the job (shutdown, or a claim that answered too
/// late).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The lease held.
    pub lease: Lease,
    /// Whether the job never started, so its attempt is given back.
    pub refund_attempt: bool,
    /// What to write to the job's `last_error`, so an operator can tell why its attempts
    /// grew; `None` keeps the one it has.
    pub last_error: Option<String>,
}

impl Release {
    /// A job claimed but never started: given back with its attempt refunded, its
    /// `last_error` unchanged.
    #[must_use]
    pub fn unstarted(lease: Lease) -> Release {
        Release {
            lease,
            refund_attempt: true,
            last_error: None,
        }
    }

    /// A job whose attempt `worker` stopped at shutdown before it completed: given back with
    /// the attempt counted and `last_error` `shutdown: released by worker <id> before
    /// completion`.
    #[must_use]
    pub fn interrupted(lease: Lease, worker: &str) -> Release {
        Release {
            lease,
            refund_attempt: false,
            last_error: Some(format!(
                "shutdown: released by worker {worker} before completion"
            )),
        }
    }
}

/// What an orphan sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs whose lease had expired and that are pending again.
    pub requeued: Vec<JobId>,
    /// Jobs whose lease had expired on their last allowed attempt: failed.
    pub failed: Vec<JobId>,
}

/// A worker process as registered in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRecord {
    /// Unique per process: `host:pid:nonce`.
    pub id: String,
    /// Host name.
    pub host: String,
    /// OS process id.
    pub pid: u32,
}

/// A live worker process and the jobs it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Unique per process: `host:pid:nonce`.
    pub id: String,
    /// Host name.
    pub host: String,
    /// OS process id.
    pub pid: u32,
    /// When it registered.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// The running jobs whose lease it holds, by id.
    pub jobs: Vec<JobId>,
}

/// Which jobs [`JobStore::list_jobs`] returns.
///
/// Build one with [`JobFilter::new`] (every status and name, the newest 50) and the setters:
///
/// ```
/// use pgsched_core::JobStatus;
/// use pgsched_core::store::JobFilter;
/// let filter = JobFilter::new().status(JobStatus::Failed).name("send_email").limit(10);
/// assert_eq!(filter.status, Some(JobStatus::Failed));
/// assert_eq!(filter.name.as_deref(), Some("send_email"));
/// assert_eq!(filter.limit, 10);
/// assert_eq!(JobFilter::new().limit, 50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this name.
    pub name: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<QueueName>,
    /// At most this many, newest first.
    pub limit: u32,
}

impl Default for JobFilter {
    /// Every status and name, the newest 50.
    fn default() -> Self {
        JobFilter::new()
    }
}

impl JobFilter {
    /// Every status and name, the newest 50.
    #[must_use]
    pub const fn new() -> JobFilter {
        JobFilter {
            status: None,
            name: None,
            queue: None,
            limit: 50,
        }
    }

    /// Only jobs in this status.
    #[must_use]
    pub fn status(mut self, status: JobStatus) -> JobFilter {
        self.status = Some(status);
        self
    }

    /// Only jobs of this name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> JobFilter {
        self.name = Some(name.into());
        self
    }

    /// At most this many, newest first.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> JobFilter {
        self.limit = limit;
        self
    }
}

/// A store notifies listening workers at most once per this window (see the store's
/// notifier); a worker woken by a notification claims once more after twice this window, so
/// a job whose wake-up was folded into an earlier one is not left for the poll.
pub const NOTIFY_COALESCE: Duration = Duration::from_millis(20);

/// What one promotion pass did (see [`JobStore::promote`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Promotion {
    /// Jobs that became claimable.
    pub promoted: u64,
    /// The last job each probe promoted (where the next pass may start).
    pub reached: PromotionFloor,
    /// How long until the next waiting job is due (`None`: none is waiting).
    pub next_due: Option<Duration>,
}

/// A wake-up from the store's notification channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// Jobs were written, or became claimable.
    Notified,
    /// A running job of this queue freed its slot of a queue's or a key's cluster-wide limit:
    /// a claim in that queue that the limit held back may take a job now.
    SlotFreed(QueueName),
    /// The notification connection was re-established; notifications may have been lost.
    Reconnected,
}

/// A periodic schedule as registered in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicRegistration {
    /// Its dedup key.
    pub key: String,
    /// The job it enqueues.
    pub job_name: String,
    /// The schedule as text (`cron:<expr>:tz:<zone>` or `every:<ms>ms`).
    pub schedule: String,
    /// Whether a new schedule starts enabled.
    pub enabled: bool,
}

/// A periodic schedule's persisted state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicState {
    /// Its dedup key.
    pub key: String,
    /// The job it enqueues, as last registered.
    pub job_name: String,
    /// The schedule in force (`cron:<expr>:tz:<zone>` or `every:<ms>ms`): the one written by
    /// the most recently started worker. Replicas with another schedule enqueue nothing.
    pub schedule: String,
    /// Whether it enqueues windows (shared by every replica, kept across redeploys).
    pub enabled: bool,
    /// The latest window enqueued (under any schedule the key had).
    pub last_window: Option<DateTime<Utc>>,
    /// The job of that window (or of the last manual trigger).
    pub last_job_id: Option<JobId>,
    /// Since when `schedule` is in force (the key's first registration, or the last change of
    /// schedule): its windows before this instant are never enqueued.
    pub since: DateTime<Utc>,
    /// When a worker last registered the schedule (`None`: only management calls did).
    pub registered_at: Option<DateTime<Utc>>,
    /// The id of that worker.
    pub registered_by: Option<String>,
    /// The row's last change of any kind (registration, enqueue, enable or disable).
    pub updated_at: DateTime<Utc>,
}

/// Retention statistics of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacuumStatsDay {
    /// The day.
    pub date: NaiveDate,
    /// Jobs deleted that day, per status.
    pub deleted: VacuumReport,
    /// Passes run that day.
    pub runs: u64,
    /// The last pass.
    pub last_run: DateTime<Utc>,
    /// The worker that ran it.
    pub last_worker: String,
}

/// Retention statistics over all time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VacuumTotals {
    /// Jobs deleted, per status.
    pub deleted: VacuumReport,
    /// Passes run.
    pub runs: u64,
    /// The last pass.
    pub last_run: Option<DateTime<Utc>>,
}

/// What the store's "an awaited job ended" channel delivered (see
/// [`JobStore::listen_ended`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// This job, marked awaited by [`JobStore::await_job`], ended.
    Job(JobId),
    /// The connection was lost: until [`Ended::Reconnected`], endings go unheard.
    Lost,
    /// The connection was re-established; endings may have been missed meanwhile.
    Reconnected,
}

/// A live subscription to "an awaited job ended" notifications.
#[async_trait]
pub trait EndListener: Send {
    /// The next ending, or a change of the connection. Reconnects (with capped backoff) on
    /// the call after [`Ended::Lost`] and never ends.
    async fn next(&mut self) -> Ended;
}

/// A live subscription to "jobs were written" notifications.
#[async_trait]
pub trait Listener: Send {
    /// The next wake-up. Reconnects (with capped backoff) by itself and never ends.
    async fn next(&mut self) -> Wakeup;
}

/// The database operations pgsched needs. See the module docs.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates or upgrades the schema.
    async fn migrate(&self) -> Result<()>;

    /// Writes jobs in one transaction, `batch_size` per statement. Ids are unique within
    /// `jobs`; results are aligned with `jobs`.
    async fn schedule(
        &self,
        jobs: &[NewJob],
        conflict: ConflictResolution,
        batch_size: usize,
    ) -> Result<Vec<Scheduled>>;

    /// Claims, in one statement, due jobs of each queue of `queues` for `worker`: up to that
    /// queue's `limit`, most urgent first, within the queue's and the keys' limits, reading
    /// each priority from where its `floor` says (see [`ClaimFloor`]), each with a fresh lease
    /// of `lease` length. Nothing from a paused queue. The jobs come grouped by queue, each
    /// queue's in claim order.
    ///
    /// A queue's `passing` jobs that still hold their lease and their slot give their slots
    /// to jobs this claim takes, in the same transaction: their outcomes (still to be written)
    /// then free nothing, and the slot was never free for another worker to take meanwhile.
    /// The limit stays exact: a passing job has ended.
    async fn claim_queues(
        &self,
        worker: &str,
        queues: &[QueueClaim<'_>],
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>>;

    /// [`JobStore::claim_queues`] from one queue: up to `limit` due jobs of `queue`.
    async fn claim(
        &self,
        worker: &str,
        queue: &QueueName,
        limit: u32,
        lease: Duration,
        floor: &ClaimFloor,
    ) -> Result<Vec<ClaimedJob>> {
        self.claim_queues(
            worker,
            &[QueueClaim {
                queue,
                limit,
                floor,
                passing: &[],
            }],
            lease,
        )
        .await
    }

    /// Writes outcomes; returns, aligned with the input, whether each lease was still held.
    async fn finish(&self, outcomes: &[(Lease, Finish)]) -> Result<Vec<bool>>;

    /// Extends the given leases to `lease` from now; returns the tokens still held.
    async fn renew_leases(&self, leases: &[Lease], lease: Duration) -> Result<Vec<i64>>;

    /// Puts jobs back to pending without finishing them; returns how many were released.
    async fn release(&self, releases: &[Release]) -> Result<u64>;

    /// Sends jobs whose lease expired back to pending (or fails them on their last attempt),
    /// at most `limit` of them.
    async fn recover_orphans(&self, limit: u32) -> Result<Recovered>;

    /// Marks waiting jobs (scheduled or pending) past their misfire grace as expired, at most
    /// `limit` of each; returns each with its priority.
    async fn expire_misfired(&self, limit: u32) -> Result<Vec<(JobId, Priority)>>;

    /// Makes jobs that waited for a later due time claimable now that it has come, by the
    /// database clock, at most `limit` of each kind (jobs that never expire, jobs that can);
    /// jobs already past their misfire grace are left to [`JobStore::expire_misfired`]. Each
    /// probe starts where `floor` says.
    /// Wakes listening workers when it promoted any.
    async fn promote(&self, limit: u32, floor: &PromotionFloor) -> Result<Promotion>;

    /// Cancels a waiting (blocked, scheduled or pending) or running job; false if it was
    /// none of these.
    async fn cancel(&self, id: &JobId) -> Result<bool>;

    /// One job as inspection shows it.
    async fn job(&self, id: &JobId) -> Result<Option<JobInfo>>;

    /// The workflow of job `id`: it and every job linked to it by dependencies, in either
    /// direction, at most `limit`, oldest first (empty if the job does not exist).
    async fn workflow(&self, id: &JobId, limit: u32) -> Result<Vec<JobInfo>>;

    /// The parents of job `child` (only `parent`, when given, if it is one), by id, each
    /// with its status and output.
    async fn parents(&self, child: &JobId, parent: Option<&JobId>) -> Result<Vec<JobInfo>>;

    /// Jobs matching `filter`, newest (by creation) first.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobInfo>>;

    /// Puts a failed or expired job back to pending, due now by the database clock, with its
    /// attempts reset and its lease cleared (`last_error` is kept as history); wakes workers.
    /// False if the job is not failed or expired.
    async fn retry_job(&self, id: &JobId) -> Result<bool>;

    /// Workers seen within `seen_within`, oldest registration first, with the running jobs
    /// each holds.
    async fn list_workers(&self, seen_within: Duration) -> Result<Vec<WorkerInfo>>;

    /// Registers a worker process.
    async fn register_worker(&self, worker: &WorkerRecord) -> Result<()>;

    /// Refreshes a worker's "last seen" time, registering it again if its registration was
    /// removed meanwhile (a live worker pruned as dead after a long pause).
    async fn touch_worker(&self, worker: &WorkerRecord) -> Result<()>;

    /// Removes a worker's registration (graceful exit).
    async fn deregister_worker(&self, worker_id: &str) -> Result<()>;

    /// Deletes the registrations of workers not seen for `older_than`; returns their ids.
    async fn prune_workers(&self, older_than: Duration) -> Result<Vec<String>>;

    /// How long until the earliest claimable pending job of any of `queues` is due, by the
    /// database clock (`None`: none; a paused queue, or one at its concurrency limit, has
    /// none). Zero when one is due already. One call for all the queues a worker waits on.
    async fn next_due(&self, queues: &[QueueName]) -> Result<Option<Duration>>;

    /// Every queue that has jobs or settings, with its settings and job counts, by name.
    async fn queues(&self) -> Result<Vec<QueueInfo>>;

    /// Pauses (`true`) or resumes a queue for every worker.
    async fn set_queue_paused(&self, queue: &QueueName, paused: bool) -> Result<()>;

    /// Sets (or with `None` lifts) a queue's cluster-wide concurrency limit.
    async fn set_queue_concurrency_limit(
        &self,
        queue: &QueueName,
        limit: Option<u32>,
    ) -> Result<()>;

    /// Sets (or with `None` lifts) a queue's cluster-wide rate limit.
    async fn set_queue_rate_limit(&self, queue: &QueueName, rate: Option<RateLimit>) -> Result<()>;

    /// Sets (or with `None` lifts) a queue's per-key rate limit: each of its concurrency keys
    /// starts at most `rate.starts` jobs per `rate.per`, cluster-wide.
    async fn set_queue_key_rate_limit(
        &self,
        queue: &QueueName,
        rate: Option<RateLimit>,
    ) -> Result<()>;

    /// Removes up to `limit` keys' rate slots that are free again (they change no decision:
    /// a slot without a row is free); returns how many.
    async fn prune_key_rate_slots(&self, limit: u32) -> Result<u64>;

    /// Registers periodic schedules. A new key gets its `enabled` default (or, the first time,
    /// the state of the row an earlier version kept under its hashed default key: see
    /// [`crate::periodic::legacy_adoptions`]); an existing key keeps its enabled state and
    /// last window.
    ///
    /// With an `owner` (a starting worker's id) the registration takes over: it writes its
    /// job name and schedule into existing rows with the time and the owner, and a changed
    /// schedule is in force from now on. Without one (a management call) only missing rows
    /// are created, so looking at schedules never overrides the schedule replicas follow.
    async fn register_periodic(
        &self,
        schedules: &[PeriodicRegistration],
        owner: Option<&str>,
    ) -> Result<()>;

    /// Every schedule's state, with the database clock.
    async fn periodic_states(&self) -> Result<(DateTime<Utc>, Vec<PeriodicState>)>;

    /// One schedule's state (`None` if the key is not registered).
    async fn periodic_state(&self, key: &str) -> Result<Option<PeriodicState>>;

    /// Enqueues `job` as `window` of schedule `key`, unless that window (or a later one) was
    /// already enqueued, the schedule is disabled, `schedule` (with `job`'s name) is not the
    /// one in force for the key, or `window` is before it came into force. True if this call
    /// enqueued it. The job is due at its `run_at`: the window for a worker's tick, `None`
    /// (now, by the database clock) for a test's clock ahead of the database's.
    async fn enqueue_periodic(
        &self,
        key: &str,
        schedule: &str,
        window: DateTime<Utc>,
        job: &NewJob,
    ) -> Result<bool>;

    /// Enables or disables a schedule (disabling cancels its not-yet-started run enqueued
    /// ahead). False if the key is not registered.
    async fn set_periodic_enabled(&self, key: &str, enabled: bool) -> Result<bool>;

    /// Takes this interval's retention turn for `worker`: true for exactly one caller per
    /// `interval` across all replicas (by the database clock).
    async fn claim_retention_turn(&self, worker: &str, interval: Duration) -> Result<bool>;

    /// Runs one bounded retention delete (see [`RetentionBatch`]).
    async fn delete_finished(&self, batch: RetentionBatch<'_>) -> Result<DeletedBatch>;

    /// Adds one retention pass to today's statistics.
    async fn record_retention_pass(&self, worker: &str, deleted: &VacuumReport) -> Result<()>;

    /// Retention statistics of the last `days` days, newest first.
    async fn retention_stats(&self, days: u32) -> Result<Vec<VacuumStatsDay>>;

    /// Retention statistics over all time.
    async fn retention_totals(&self) -> Result<VacuumTotals>;

    /// Subscribes to "jobs were written" notifications.
    async fn listen(&self) -> Result<Box<dyn Listener>>;

    /// Marks the job awaited, so that its end (completed, failed, cancelled, expired) is
    /// notified to [`JobStore::listen_ended`] subscribers, and returns it as
    /// [`JobStore::job`] does. A job that ends concurrently is either returned ended or
    /// notifies, never neither.
    async fn await_job(&self, id: &JobId) -> Result<Option<JobInfo>>;

    /// Subscribes to "an awaited job ended" notifications.
    async fn listen_ended(&self) -> Result<Box<dyn EndListener>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storable_outcomes_are_printable_ascii_with_the_reason() {
        let refused = Finish::Failed {
            error: "boom 🔥\0é".into(),
        };
        let Finish::Failed { error } = refused.storable("no LATIN1 equivalent") else {
            panic!("a failure stays a failure");
        };
        assert!(
            error
                .chars()
                .all(|c| c == '\n' || c == ' ' || c.is_ascii_graphic())
        );
        assert!(error.contains("no LATIN1 equivalent"), "{error}");
        assert!(error.ends_with("boom \\u{1f525}\\u{0}\\u{e9}"), "{error}");
    }

    #[test]
    fn storable_retries_have_a_bounded_delay_and_text() {
        let refused = Finish::Retry {
            delay: Duration::MAX,
            error: "é".repeat(MAX_ERROR_BYTES),
        };
        let Finish::Retry { delay, error } = refused.storable("interval out of range") else {
            panic!("a retry stays a retry");
        };
        assert_eq!(delay, crate::retry::LONGEST_RETRY_DELAY);
        assert_eq!(error.len(), MAX_ERROR_BYTES);
        assert_eq!(Finish::Completed.storable("x"), Finish::Completed);
    }
}

//! The storage seam: what the runtime and the scheduling API need from a database.
//!
//! `pgsched-pg` implements [`JobStore`] for PostgreSQL. The trait speaks only in domain types
//! and is an internal seam between pgsched's crates, not a stable extension point. Every
//! method that changes a claimed job is fenced by its lease token: a write whose token is no
//! longer current changes nothing and is reported back as not applied.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::{ConflictResolution, JobId, JobInfo, NewJob, Scheduled};
use crate::priority::Priority;

/// A claim's proof of ownership: the job and the token written when it was claimed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The job.
    pub id: JobId,
    /// The token written by the claim; unique per claim.
    pub token: i64,
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
    /// When it was claimed, by the database clock.
    pub claimed_at: DateTime<Utc>,
    /// Per-attempt timeout stored with it.
    pub timeout: Option<Duration>,
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
    /// Completed successfully.
    Completed,
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

/// A lease to give back without finishing the job (shutdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The lease held.
    pub lease: Lease,
    /// Whether the job never started, so its attempt is given back.
    pub refund_attempt: bool,
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

/// A wake-up from the store's notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// New jobs were written.
    Notified,
    /// The notification connection was re-established; notifications may have been lost.
    Reconnected,
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

    /// Claims up to `limit` due jobs for `worker`, most urgent first, writing a fresh lease of
    /// `lease` length.
    async fn claim(&self, worker: &str, limit: u32, lease: Duration) -> Result<Vec<ClaimedJob>>;

    /// Writes outcomes; returns, aligned with the input, whether each lease was still held.
    async fn finish(&self, outcomes: &[(Lease, Finish)]) -> Result<Vec<bool>>;

    /// Extends the given leases to `lease` from now; returns the tokens still held.
    async fn renew_leases(&self, leases: &[Lease], lease: Duration) -> Result<Vec<i64>>;

    /// Puts jobs back to pending without finishing them; returns how many were released.
    async fn release(&self, releases: &[Release]) -> Result<u64>;

    /// Sends jobs whose lease expired back to pending (or fails them on their last attempt),
    /// at most `limit` of them.
    async fn recover_orphans(&self, limit: u32) -> Result<Recovered>;

    /// Marks pending jobs past their misfire grace as expired, at most `limit` of them.
    async fn expire_misfired(&self, limit: u32) -> Result<Vec<JobId>>;

    /// Cancels a pending or running job; false if it was neither.
    async fn cancel(&self, id: &JobId) -> Result<bool>;

    /// One job as inspection shows it.
    async fn job(&self, id: &JobId) -> Result<Option<JobInfo>>;

    /// Registers a worker process.
    async fn register_worker(&self, worker: &WorkerRecord) -> Result<()>;

    /// Refreshes a worker's "last seen" time.
    async fn touch_worker(&self, worker_id: &str) -> Result<()>;

    /// Removes a worker's registration (graceful exit).
    async fn deregister_worker(&self, worker_id: &str) -> Result<()>;

    /// Deletes the registrations of workers not seen for `older_than`; returns their ids.
    async fn prune_workers(&self, older_than: Duration) -> Result<Vec<String>>;

    /// Subscribes to "jobs were written" notifications.
    async fn listen(&self) -> Result<Box<dyn Listener>>;
}

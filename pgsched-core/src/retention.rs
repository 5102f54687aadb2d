//! Retention ("vacuum") policies: how long finished jobs are kept, per terminal status.
//!
//! The seed's policies, with its gaps closed: a policy for `expired` too, ages measured from
//! when a job *finished* (not when it was created), and `keep_last(n)` counted per job name.

use std::fmt;
use std::time::Duration;

use crate::job::JobStatus;
use tokio_util::sync::CancellationToken;

use crate::store::JobStore;

/// How a policy decides what to delete (the seed's `VacuumTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VacuumTrigger {
    /// Delete as soon as the job finished.
    Immediate,
    /// Delete a number of days after the job finished.
    TimeBased,
    /// Keep only the newest jobs per job name.
    CountBased,
    /// Never delete.
    Never,
}

impl VacuumTrigger {
    /// The seed's label ("immediate", "time_based", "count_based", "never").
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            VacuumTrigger::Immediate => "immediate",
            VacuumTrigger::TimeBased => "time_based",
            VacuumTrigger::CountBased => "count_based",
            VacuumTrigger::Never => "never",
        }
    }
}

impl fmt::Display for VacuumTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The retention policy of one terminal status.
///
/// ```
/// use pgsched_core::retention::{VacuumPolicy, VacuumTrigger};
/// assert_eq!(VacuumPolicy::after_days(7).trigger(), VacuumTrigger::TimeBased);
/// assert_eq!(VacuumPolicy::after_days(7).days(), Some(7));
/// assert_eq!(VacuumPolicy::keep_last(100).keep_count(), Some(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VacuumPolicy {
    /// Delete jobs as soon as they reach the status.
    Immediate,
    /// Delete jobs this many days after they finished.
    AfterDays(u32),
    /// Keep only the newest `n` jobs (by finish time) per job name.
    KeepLast(u32),
    /// Never delete.
    Never,
}

impl VacuumPolicy {
    /// Delete as soon as finished.
    #[must_use]
    pub const fn immediate() -> VacuumPolicy {
        VacuumPolicy::Immediate
    }

    /// Delete `days` days after the job finished.
    #[must_use]
    pub const fn after_days(days: u32) -> VacuumPolicy {
        VacuumPolicy::AfterDays(days)
    }

    /// Keep the newest `count` per job name.
    #[must_use]
    pub const fn keep_last(count: u32) -> VacuumPolicy {
        VacuumPolicy::KeepLast(count)
    }

    /// Keep forever.
    #[must_use]
    pub const fn never() -> VacuumPolicy {
        VacuumPolicy::Never
    }

    /// Its trigger kind.
    #[must_use]
    pub const fn trigger(self) -> VacuumTrigger {
        match self {
            VacuumPolicy::Immediate => VacuumTrigger::Immediate,
            VacuumPolicy::AfterDays(_) => VacuumTrigger::TimeBased,
            VacuumPolicy::KeepLast(_) => VacuumTrigger::CountBased,
            VacuumPolicy::Never => VacuumTrigger::Never,
        }
    }

    /// The days of a time-based policy.
    #[must_use]
    pub const fn days(self) -> Option<u32> {
        match self {
            VacuumPolicy::AfterDays(days) => Some(days),
            _ => None,
        }
    }

    /// The count of a count-based policy.
    #[must_use]
    pub const fn keep_count(self) -> Option<u32> {
        match self {
            VacuumPolicy::KeepLast(count) => Some(count),
            _ => None,
        }
    }

    /// What to delete, as the store understands it (`None`: nothing).
    #[must_use]
    pub fn rule(self) -> Option<RetentionRule> {
        match self {
            VacuumPolicy::Immediate => Some(RetentionRule::FinishedBefore(Duration::ZERO)),
            VacuumPolicy::AfterDays(days) => Some(RetentionRule::FinishedBefore(
                Duration::from_secs(u64::from(days) * 86_400),
            )),
            VacuumPolicy::KeepLast(count) => Some(RetentionRule::KeepLast(count)),
            VacuumPolicy::Never => None,
        }
    }
}

/// A deletion rule for one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionRule {
    /// Jobs that finished at least this long ago (by the database clock).
    FinishedBefore(Duration),
    /// All but the newest `n` per job name.
    KeepLast(u32),
}

/// One bounded delete statement of a retention pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionBatch<'a> {
    /// The terminal status it deletes from.
    pub status: JobStatus,
    /// What it deletes.
    pub rule: RetentionRule,
    /// For [`RetentionRule::KeepLast`]: the job name it starts at, as the previous batch of
    /// the pass returned it in [`DeletedBatch::resume_at`] (`None`: the first name).
    pub resume_at: Option<&'a str>,
    /// Most rows it deletes.
    pub limit: u32,
    /// Longest it may run (it is cancelled, not waited for).
    pub timeout: Duration,
}

/// What one bounded delete statement did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletedBatch {
    /// Rows deleted.
    pub deleted: u64,
    /// For [`RetentionRule::KeepLast`], which visits job names in order: the last name it deleted
    /// from, where the next batch of the same pass resumes (names before it are done).
    pub resume_at: Option<String>,
}

/// Default retention of completed jobs: 1 day (the seed's).
pub const COMPLETED_DEFAULT: VacuumPolicy = VacuumPolicy::AfterDays(1);
/// Default retention of failed jobs: 7 days (the seed's).
pub const FAILED_DEFAULT: VacuumPolicy = VacuumPolicy::AfterDays(7);
/// Default retention of cancelled jobs: 3 days (the seed's).
pub const CANCELLED_DEFAULT: VacuumPolicy = VacuumPolicy::AfterDays(3);
/// Default retention of expired jobs: 7 days, like failures (the seed kept them forever).
pub const EXPIRED_DEFAULT: VacuumPolicy = VacuumPolicy::AfterDays(7);
/// Default interval between retention passes: 1 minute. (The seed's hour let a busy table
/// grow by an hour of finished jobs; a pass with nothing to delete costs a few index probes.)
pub const INTERVAL_DEFAULT: Duration = Duration::from_secs(60);
/// Default most rows one retention delete statement removes: 1,000.
pub const BATCH_SIZE_DEFAULT: u32 = 1000;
/// Default longest one retention delete statement may run: 5 s.
pub const STATEMENT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// Retention of finished jobs (the seed's `VacuumConfig`).
///
/// Build one with [`VacuumConfig::new`] (the defaults) and the setters, each named after the
/// field it sets; what is not set keeps its default:
///
/// ```
/// use std::time::Duration;
/// use pgsched_core::retention::{VacuumConfig, VacuumPolicy};
/// let config = VacuumConfig::new()
///     .completed(VacuumPolicy::immediate())
///     .failed(VacuumPolicy::keep_last(1000))
///     .interval(Duration::from_secs(3600))
///     .track_metrics(true);
/// assert_eq!(config.completed, VacuumPolicy::immediate());
/// assert_eq!(config.cancelled, VacuumPolicy::after_days(3));
/// assert_eq!(config.expired, VacuumPolicy::after_days(7));
/// assert_eq!(config.interval, Duration::from_secs(3600));
/// assert!(config.track_metrics);
/// assert_eq!(config.batch_size, 1000);
/// ```
///
/// | status | default policy |
/// |---|---|
/// | completed | `after_days(1)` |
/// | failed | `after_days(7)` |
/// | cancelled | `after_days(3)` |
/// | expired | `after_days(7)` |
///
/// "Vacuum" is the public name of retention (the seed's word), unrelated to PostgreSQL's own
/// `VACUUM`. How passes run:
///
/// - **One replica starts a pass per `interval`** across all replicas: each replica checks
///   regularly, and only the one that wins a compare-and-set on `vacuum_state.last_run_at`
///   (by the database clock) runs the pass. A worker built with `vacuum_enabled(false)`
///   (`PGSCHED_VACUUM_ENABLED=false`) stays out of it.
/// - A pass deletes everything its policies make eligible, up to
///   [`MAX_BATCHES_PER_STATUS`] batches per status; a pass that reaches that bound is
///   followed by the next at once. A policy whose statement fails (a timeout, a lost
///   connection) stops only itself: the other statuses are purged and the pass's statistics
///   recorded all the same.
/// - Deletes run in bounded batches (`batch_size`) from partial indexes on
///   `(status, finished_at)` and, for `keep_last`, `(status, name, finished_at)`: each job
///   name's N-th newest row is found by a short backward index scan and older rows are
///   deleted by range, so `keep_last` never sorts a whole status. Each batch is its own short
///   transaction under `statement_timeout`, with `SKIP LOCKED`: a pass never blocks claims,
///   and two passes at once delete each row once.
/// - Pending and running jobs are never touched, and neither are periodic schedules, so
///   deleting finished periodic runs never re-opens their windows.
/// - With `track_metrics`, per-day (UTC) statistics are kept: deleted per status, passes,
///   last run, which worker. A pass run by hand (the facade's `run_vacuum()`) runs even when
///   the timer is disabled: it is an explicit request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumConfig {
    /// Completed jobs. Default: [`COMPLETED_DEFAULT`].
    pub completed: VacuumPolicy,
    /// Failed jobs. Default: [`FAILED_DEFAULT`].
    pub failed: VacuumPolicy,
    /// Cancelled jobs. Default: [`CANCELLED_DEFAULT`].
    pub cancelled: VacuumPolicy,
    /// Expired jobs. Default: [`EXPIRED_DEFAULT`].
    pub expired: VacuumPolicy,
    /// Time between passes, across all replicas together; a pass that reached its bound
    /// with rows left is followed by the next at once. Default: [`INTERVAL_DEFAULT`].
    pub interval: Duration,
    /// Whether per-day statistics are kept. Default false.
    pub track_metrics: bool,
    /// Most rows one delete statement removes. Default: [`BATCH_SIZE_DEFAULT`].
    pub batch_size: u32,
    /// Longest one delete statement may run (it is cancelled, not waited for). Default:
    /// [`STATEMENT_TIMEOUT_DEFAULT`].
    pub statement_timeout: Duration,
}

impl Default for VacuumConfig {
    /// As [`VacuumConfig::new`].
    fn default() -> Self {
        VacuumConfig::new()
    }
}

impl VacuumConfig {
    /// The defaults (the `*_DEFAULT` constants of this module), no statistics.
    #[must_use]
    pub const fn new() -> VacuumConfig {
        VacuumConfig {
            completed: COMPLETED_DEFAULT,
            failed: FAILED_DEFAULT,
            cancelled: CANCELLED_DEFAULT,
            expired: EXPIRED_DEFAULT,
            interval: INTERVAL_DEFAULT,
            track_metrics: false,
            batch_size: BATCH_SIZE_DEFAULT,
            statement_timeout: STATEMENT_TIMEOUT_DEFAULT,
        }
    }

    /// The policy of completed jobs.
    #[must_use]
    pub const fn completed(mut self, policy: VacuumPolicy) -> VacuumConfig {
        self.completed = policy;
        self
    }

    /// The policy of failed jobs.
    #[must_use]
    pub const fn failed(mut self, policy: VacuumPolicy) -> VacuumConfig {
        self.failed = policy;
        self
    }

    /// The policy of cancelled jobs.
    #[must_use]
    pub const fn cancelled(mut self, policy: VacuumPolicy) -> VacuumConfig {
        self.cancelled = policy;
        self
    }

    /// The policy of expired jobs.
    #[must_use]
    pub const fn expired(mut self, policy: VacuumPolicy) -> VacuumConfig {
        self.expired = policy;
        self
    }

    /// Time between passes, across all replicas together.
    #[must_use]
    pub const fn interval(mut self, interval: Duration) -> VacuumConfig {
        self.interval = interval;
        self
    }

    /// Whether per-day statistics are kept.
    #[must_use]
    pub const fn track_metrics(mut self, track: bool) -> VacuumConfig {
        self.track_metrics = track;
        self
    }

    /// Most rows one delete statement removes.
    #[must_use]
    pub const fn batch_size(mut self, rows: u32) -> VacuumConfig {
        self.batch_size = rows;
        self
    }

    /// Longest one delete statement may run before it is cancelled.
    #[must_use]
    pub const fn statement_timeout(mut self, timeout: Duration) -> VacuumConfig {
        self.statement_timeout = timeout;
        self
    }

    /// The policy of each terminal status.
    #[must_use]
    pub fn policies(&self) -> [(JobStatus, VacuumPolicy); 4] {
        [
            (JobStatus::Completed, self.completed),
            (JobStatus::Failed, self.failed),
            (JobStatus::Cancelled, self.cancelled),
            (JobStatus::Expired, self.expired),
        ]
    }
}

/// What one retention pass deleted, per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VacuumReport {
    /// Completed jobs deleted.
    pub completed: u64,
    /// Failed jobs deleted.
    pub failed: u64,
    /// Cancelled jobs deleted.
    pub cancelled: u64,
    /// Expired jobs deleted.
    pub expired: u64,
}

impl VacuumReport {
    /// Adds `deleted` jobs of `status`.
    pub fn add(&mut self, status: JobStatus, deleted: u64) {
        match status {
            JobStatus::Completed => self.completed += deleted,
            JobStatus::Failed => self.failed += deleted,
            JobStatus::Cancelled => self.cancelled += deleted,
            JobStatus::Expired => self.expired += deleted,
            JobStatus::Blocked | JobStatus::Pending | JobStatus::Running => {}
        }
    }

    /// All deleted jobs.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.completed + self.failed + self.cancelled + self.expired
    }
}

/// Most batches one status gets in one pass, so a pass always ends and records its
/// statistics (the next pass, started at once, continues).
pub const MAX_BATCHES_PER_STATUS: u32 = 1000;

/// One retention pass: each status's policy, in bounded batches, until no row it makes
/// eligible is left (at most [`MAX_BATCHES_PER_STATUS`] batches per status; the next pass
/// continues) or `stop` is cancelled (checked between batches). A policy whose statement
/// fails (a timeout, a lost connection) stops only itself: the other statuses are still
/// deleted from and the statistics still recorded. Safe to run on several replicas at once (each
/// row is deleted once); statistics are recorded when `track_metrics`.
///
/// # Errors
/// The first store error, after every other policy ran and the statistics were recorded;
/// what was deleted stays deleted.
pub async fn run_pass(
    store: &dyn JobStore,
    config: &VacuumConfig,
    worker: &str,
    stop: &CancellationToken,
) -> crate::Result<VacuumReport> {
    let mut report = VacuumReport::default();
    let mut first_error = None;
    for (status, policy) in config.policies() {
        let Some(rule) = policy.rule() else { continue };
        if let Err(error) = delete_by_policy(store, config, status, rule, stop, &mut report).await {
            tracing::warn!(%status, "retention: this policy stopped, the others go on: {error}");
            first_error.get_or_insert(error);
        }
    }
    if config.track_metrics {
        store.record_retention_pass(worker, &report).await?;
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Whether a pass stopped because it reached its bound, with rows of some status left: the
/// next pass should start at once rather than at the next interval.
#[must_use]
pub fn pass_was_cut_short(report: &VacuumReport, config: &VacuumConfig) -> bool {
    let bound = u64::from(MAX_BATCHES_PER_STATUS) * u64::from(config.batch_size.max(1));
    [
        report.completed,
        report.failed,
        report.cancelled,
        report.expired,
    ]
    .iter()
    .any(|&deleted| deleted >= bound)
}

/// One status's policy, batch after batch, adding what it deleted to `report`.
async fn delete_by_policy(
    store: &dyn JobStore,
    config: &VacuumConfig,
    status: JobStatus,
    rule: RetentionRule,
    stop: &CancellationToken,
    report: &mut VacuumReport,
) -> crate::Result<()> {
    let batch = config.batch_size.max(1);
    let mut resume_at = None;
    for _ in 0..MAX_BATCHES_PER_STATUS {
        // Stop between batches, never inside one: a batch is a short transaction that is
        // left to finish rather than abandoned half-way.
        if stop.is_cancelled() {
            return Ok(());
        }
        let done = store
            .delete_finished(RetentionBatch {
                status,
                rule,
                resume_at: resume_at.as_deref(),
                limit: batch,
                timeout: config.statement_timeout,
            })
            .await?;
        report.add(status, done.deleted);
        if done.deleted < u64::from(batch) {
            break;
        }
        resume_at = done.resume_at;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_labels_are_the_seeds() {
        let labels: Vec<_> = [
            VacuumTrigger::Immediate,
            VacuumTrigger::TimeBased,
            VacuumTrigger::CountBased,
            VacuumTrigger::Never,
        ]
        .iter()
        .map(|t| t.label())
        .collect();
        assert_eq!(labels, ["immediate", "time_based", "count_based", "never"]);
    }

    #[test]
    fn factories_set_their_fields() {
        assert_eq!(
            VacuumPolicy::immediate().trigger(),
            VacuumTrigger::Immediate
        );
        assert_eq!(VacuumPolicy::after_days(3).days(), Some(3));
        assert_eq!(VacuumPolicy::after_days(3).keep_count(), None);
        assert_eq!(VacuumPolicy::keep_last(5).keep_count(), Some(5));
        assert_eq!(VacuumPolicy::never().trigger(), VacuumTrigger::Never);
        assert_eq!(VacuumPolicy::never().rule(), None);
        assert_eq!(
            VacuumPolicy::after_days(2).rule(),
            Some(RetentionRule::FinishedBefore(Duration::from_secs(172_800)))
        );
        assert_eq!(
            VacuumPolicy::immediate().rule(),
            Some(RetentionRule::FinishedBefore(Duration::ZERO))
        );
    }

    #[test]
    fn defaults_are_the_seeds_plus_expired() {
        let config = VacuumConfig::default();
        assert_eq!(config.completed, VacuumPolicy::after_days(1));
        assert_eq!(config.failed, VacuumPolicy::after_days(7));
        assert_eq!(config.cancelled, VacuumPolicy::after_days(3));
        assert_eq!(config.expired, VacuumPolicy::after_days(7));
        assert_eq!(config.interval, Duration::from_secs(60));
        assert!(!config.track_metrics);
    }

    #[test]
    fn partial_configs_keep_the_other_defaults() {
        let config = VacuumConfig::new().failed(VacuumPolicy::never());
        assert_eq!(config.completed, COMPLETED_DEFAULT);
        assert_eq!(config.failed, VacuumPolicy::Never);
        let statuses: Vec<_> = config.policies().iter().map(|(s, _)| *s).collect();
        assert_eq!(
            statuses,
            [
                JobStatus::Completed,
                JobStatus::Failed,
                JobStatus::Cancelled,
                JobStatus::Expired
            ]
        );
    }

    #[test]
    fn reports_add_up_per_status() {
        let mut report = VacuumReport::default();
        report.add(JobStatus::Completed, 3);
        report.add(JobStatus::Expired, 2);
        report.add(JobStatus::Pending, 100);
        assert_eq!(
            (report.completed, report.expired, report.total()),
            (3, 2, 5)
        );
    }
}

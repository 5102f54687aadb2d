//! Settings of the worker and of scheduling, with the seed's defaults.
//!
//! Each default is written once, as a `*_DEFAULT` constant here; the `Default` impls use the
//! constants, and every doc that mentions a default (fields here, the facade's builder
//! setters) links to the constant instead of restating its value.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::job::{JobId, NewJob, validate_job_name};
use crate::queue::WorkerQueues;
use crate::retention::VacuumConfig;
use crate::retry::RetryPolicy;
use crate::runtime::TickSource;

/// Default `max_concurrent_jobs` (the seed's).
pub const MAX_CONCURRENT_JOBS_DEFAULT: usize = 25;
/// Default `batch_claim_limit` (the seed's).
pub const BATCH_CLAIM_LIMIT_DEFAULT: u32 = 10;
/// Default longest wait between claims without a notification.
pub const POLL_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);
/// Default lease length (the seed's `LEASE_DURATION`).
pub const LEASE_DURATION_DEFAULT: Duration = Duration::from_secs(60);
/// Default lease renewal period: a third of [`LEASE_DURATION_DEFAULT`].
pub const HEARTBEAT_INTERVAL_DEFAULT: Duration = Duration::from_secs(20);
/// Default period of orphan recovery and misfire expiry.
pub const SWEEP_INTERVAL_DEFAULT: Duration = Duration::from_secs(5);
/// Default most rows one sweep statement touches.
pub const SWEEP_BATCH_DEFAULT: u32 = 500;
/// Default time running jobs get at shutdown.
pub const SHUTDOWN_GRACE_DEFAULT: Duration = Duration::from_secs(30);
/// Default attempts, in all, of a job whose name or argument schema the worker does not know.
pub const UNKNOWN_JOB_ATTEMPTS_DEFAULT: u32 = 5;
/// Default period of the periodic-schedule check.
pub const PERIODIC_TICK_DEFAULT: Duration = Duration::from_secs(1);
/// Default time after which a silent worker is considered dead (the seed's
/// `HEARTBEAT_THRESHOLD`).
pub const DEAD_WORKER_AFTER_DEFAULT: Duration = Duration::from_secs(120);
/// Default misfire grace (the seed's `misfire_grace_time`).
pub const MISFIRE_GRACE_DEFAULT: Duration = Duration::from_secs(300);
/// Default payload limit: 256 KiB.
pub const MAX_PAYLOAD_BYTES_DEFAULT: usize = 256 * 1024;

/// Default limit of a job's encoded output: 1 MiB.
pub const MAX_OUTPUT_BYTES_DEFAULT: usize = 1024 * 1024;

/// How a worker claims, runs and keeps jobs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// Jobs run at once by this worker when it serves only the default queue (`queues` is
    /// `None`). Default [`MAX_CONCURRENT_JOBS_DEFAULT`].
    pub max_concurrent_jobs: usize,
    /// The queues this worker serves and the slots of each; `None`: only the default queue,
    /// with `max_concurrent_jobs` slots. A worker never claims from a queue not listed here.
    pub queues: Option<WorkerQueues>,
    /// Most jobs one claim takes from one queue (a claim is one statement for all the queues
    /// this worker serves). Default [`BATCH_CLAIM_LIMIT_DEFAULT`].
    pub batch_claim_limit: u32,
    /// Longest wait between claims when no notification arrives. Default
    /// [`POLL_INTERVAL_DEFAULT`].
    pub poll_interval: Duration,
    /// Lease written by a claim and by each renewal. Default [`LEASE_DURATION_DEFAULT`].
    pub lease_duration: Duration,
    /// How often leases are renewed and the worker row refreshed. Default
    /// [`HEARTBEAT_INTERVAL_DEFAULT`]. A job whose lease has not been renewed for `lease_duration -
    /// heartbeat_interval` is cancelled locally, before any other worker may take it.
    pub heartbeat_interval: Duration,
    /// How often expired leases are recovered and misfired jobs expired. Default
    /// [`SWEEP_INTERVAL_DEFAULT`].
    pub sweep_interval: Duration,
    /// Most rows one sweep statement touches. Default [`SWEEP_BATCH_DEFAULT`].
    pub sweep_batch: u32,
    /// How long shutdown waits for running jobs before cancelling and releasing them.
    /// Default [`SHUTDOWN_GRACE_DEFAULT`].
    pub shutdown_grace: Duration,
    /// Backoff between retries of failed attempts.
    pub retry: RetryPolicy,
    /// Attempts a job whose name, or whose payload's argument schema, this worker does not
    /// know gets before it fails (a rolling deploy may bring a worker that knows it; each
    /// attempt waits out the retry backoff). Default [`UNKNOWN_JOB_ATTEMPTS_DEFAULT`].
    pub unknown_job_attempts: u32,
    /// A worker not seen for this long is considered dead and its registration is removed
    /// (the seed's `HEARTBEAT_THRESHOLD`). Default [`DEAD_WORKER_AFTER_DEFAULT`].
    pub dead_worker_after: Duration,
    /// How often each replica checks its periodic schedules for due windows; windows due
    /// within one tick are enqueued ahead. Default [`PERIODIC_TICK_DEFAULT`].
    pub periodic_tick: Duration,
    /// Retention of finished jobs.
    pub vacuum: VacuumConfig,
    /// Whether this worker takes part in retention passes. Default true.
    pub vacuum_enabled: bool,
    /// Whether to subscribe to notifications (disable behind a transaction pooler).
    /// Default true.
    pub listen: bool,
    /// Largest encoded output a job may return, in bytes: a bigger one fails the job with
    /// `output_too_large` (it is never truncated). Default [`MAX_OUTPUT_BYTES_DEFAULT`].
    pub max_output_bytes: usize,
    /// Where the periodic and sweep loops take their ticks from: tokio intervals by default;
    /// tests drive them by hand or observe them. Not a setting: decisions use the database
    /// clock whatever ticks the loops.
    #[doc(hidden)]
    pub ticks: TickSource,
    /// How attempts continue the trace their job was scheduled in; `None`: they do not (the
    /// `pgsched` crate's `opentelemetry` feature installs one).
    pub continue_trace: Option<crate::trace::ContinueTrace>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_concurrent_jobs: MAX_CONCURRENT_JOBS_DEFAULT,
            queues: None,
            batch_claim_limit: BATCH_CLAIM_LIMIT_DEFAULT,
            poll_interval: POLL_INTERVAL_DEFAULT,
            lease_duration: LEASE_DURATION_DEFAULT,
            heartbeat_interval: HEARTBEAT_INTERVAL_DEFAULT,
            sweep_interval: SWEEP_INTERVAL_DEFAULT,
            sweep_batch: SWEEP_BATCH_DEFAULT,
            shutdown_grace: SHUTDOWN_GRACE_DEFAULT,
            retry: RetryPolicy::default(),
            unknown_job_attempts: UNKNOWN_JOB_ATTEMPTS_DEFAULT,
            dead_worker_after: DEAD_WORKER_AFTER_DEFAULT,
            periodic_tick: PERIODIC_TICK_DEFAULT,
            vacuum: VacuumConfig::default(),
            vacuum_enabled: true,
            listen: true,
            max_output_bytes: MAX_OUTPUT_BYTES_DEFAULT,
            ticks: TickSource::default(),
            continue_trace: None,
        }
    }
}

impl WorkerConfig {
    /// How long a lease may go unrenewed before this worker abandons its attempt:
    /// `lease_duration - heartbeat_interval`, counted from when the claim or the last
    /// successful renewal was *sent* (the database counts from when it took effect, later),
    /// so the worker always stops before the database could hand the job to another.
    #[must_use]
    pub fn abandon_lease_after(&self) -> Duration {
        self.lease_duration.saturating_sub(self.heartbeat_interval)
    }

    /// How long one lease renewal may take before it is given up and sent again: half of
    /// [`WorkerConfig::abandon_lease_after`], at least one heartbeat interval. Long enough
    /// for a slow database to answer (cutting a renewal short wastes it, and the next one
    /// queues behind it on the connection), short enough for a second renewal, on a fresh
    /// connection if the first one hung, before the attempt is abandoned.
    #[must_use]
    pub fn renewal_deadline(&self) -> Duration {
        (self.abandon_lease_after() / 2).max(self.heartbeat_interval)
    }

    /// The longest a claim may take to answer for its jobs to be started: half a heartbeat
    /// interval before [`WorkerConfig::abandon_lease_after`]. Jobs of a claim that took longer
    /// (it waited on a lock or a stalled server) are given back at once, attempt refunded,
    /// instead of being started with a lease about to run out.
    #[must_use]
    pub fn latest_start_after_claim(&self) -> Duration {
        self.abandon_lease_after()
            .saturating_sub(self.heartbeat_interval / 2)
    }

    /// The queues this worker serves, with their slots.
    #[must_use]
    pub fn served_queues(&self) -> WorkerQueues {
        self.queues
            .clone()
            .unwrap_or_else(|| WorkerQueues::default_only(self.max_concurrent_jobs))
    }

    /// Checks the settings against each other.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the setting.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if self.served_queues().total_slots() == 0 {
            return Err(Error::config("queues", "a worker needs at least one slot"));
        }
        if self.max_concurrent_jobs == 0 {
            return Err(Error::config("max_concurrent_jobs", "must be at least 1"));
        }
        if self.batch_claim_limit == 0 {
            return Err(Error::config("batch_claim_limit", "must be at least 1"));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::config("poll_interval", "must be positive"));
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval * 2 > self.lease_duration {
            return Err(Error::config(
                "heartbeat_interval",
                format!(
                    "must be positive and at most half of lease_duration ({:?})",
                    self.lease_duration
                ),
            ));
        }
        if self.dead_worker_after <= self.heartbeat_interval {
            return Err(Error::config(
                "dead_worker_after",
                "must be longer than heartbeat_interval, or live workers would be pruned",
            ));
        }
        if self.vacuum.interval.is_zero() || self.vacuum.batch_size == 0 {
            return Err(Error::config(
                "vacuum",
                "retention needs a positive interval and batch size",
            ));
        }
        if self.periodic_tick.is_zero() {
            return Err(Error::config("periodic_tick", "must be positive"));
        }
        if self.sweep_interval.is_zero() || self.sweep_batch == 0 {
            return Err(Error::config(
                "sweep_interval",
                "sweeps need a positive interval and batch",
            ));
        }
        Ok(())
    }
}

/// Defaults applied when a job is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduleDefaults {
    /// Misfire grace of jobs that do not set one; `None` never expires. Default
    /// [`MISFIRE_GRACE_DEFAULT`].
    pub misfire_grace: Option<Duration>,
    /// Largest accepted encoded payload. Default [`MAX_PAYLOAD_BYTES_DEFAULT`].
    pub max_payload_bytes: usize,
}

impl Default for ScheduleDefaults {
    fn default() -> Self {
        ScheduleDefaults {
            misfire_grace: Some(MISFIRE_GRACE_DEFAULT),
            max_payload_bytes: MAX_PAYLOAD_BYTES_DEFAULT,
        }
    }
}

impl ScheduleDefaults {
    /// `job` as the store writes it: its name and payload size checked against the limits,
    /// its misfire grace resolved against [`ScheduleDefaults::misfire_grace`], and a generated
    /// id ([`NewJob::fresh_id`]) generated anew, so that each copy of one job description
    /// (a cloned spec, the same spec twice in a bulk call) is a job of its own.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad name,
    /// [`Error::PayloadTooLarge`] over the limit.
    pub fn resolve(&self, mut job: NewJob) -> Result<NewJob> {
        validate_job_name(&job.name)?;
        if job.payload.len() > self.max_payload_bytes {
            return Err(Error::PayloadTooLarge {
                job: job.name,
                size: job.payload.len(),
                limit: self.max_payload_bytes,
            });
        }
        if let Some(key) = &job.concurrency_key {
            crate::queue::validate_concurrency_key(key)?;
        }
        if job.options.concurrency == 0 {
            return Err(Error::InvalidInput {
                what: "key concurrency",
                reason: format!(
                    "job `{}` allows 0 jobs per concurrency key; use at least 1",
                    job.name
                ),
            });
        }
        crate::queue::validate_concurrency_limit("key concurrency", job.options.concurrency)?;
        job.options.misfire_grace = job.options.misfire_grace.resolve(self.misfire_grace).into();
        if job.fresh_id {
            job.id = JobId::generate();
        }
        // Each parent once: the job waits for as many parents as it has edges.
        let mut seen = std::collections::HashSet::with_capacity(job.parents.len());
        job.parents.retain(|parent| seen.insert(parent.clone()));
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_and_valid() {
        let config = WorkerConfig::default();
        assert_eq!(config.max_concurrent_jobs, 25);
        assert_eq!(config.batch_claim_limit, 10);
        assert_eq!(config.lease_duration, Duration::from_secs(60));
        assert!(config.validate().is_ok());
        assert_eq!(
            ScheduleDefaults::default().misfire_grace,
            Some(Duration::from_secs(300))
        );
    }

    #[test]
    fn lease_timings_derive_from_lease_and_heartbeat() {
        let config = WorkerConfig::default(); // 60 s lease, 20 s heartbeat
        assert_eq!(config.abandon_lease_after(), Duration::from_secs(40));
        assert_eq!(config.renewal_deadline(), Duration::from_secs(20));
        assert_eq!(config.latest_start_after_claim(), Duration::from_secs(30));
        let fast = WorkerConfig {
            lease_duration: Duration::from_secs(30),
            heartbeat_interval: Duration::from_millis(100),
            ..WorkerConfig::default()
        };
        // A tiny heartbeat does not cut renewals short: a slow answer still lands.
        assert_eq!(fast.renewal_deadline(), Duration::from_millis(14_950));
    }

    #[test]
    fn heartbeat_must_fit_twice_in_the_lease() {
        let config = WorkerConfig {
            lease_duration: Duration::from_secs(3),
            heartbeat_interval: Duration::from_secs(2),
            ..WorkerConfig::default()
        };
        assert!(config.validate().is_err());
        let zero = WorkerConfig {
            max_concurrent_jobs: 0,
            ..WorkerConfig::default()
        };
        assert!(zero.validate().is_err());
    }
}

//! The job model: ids, statuses, what a schedule request carries and what inspection returns.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, validate_key};
use crate::priority::Priority;
use crate::queue::QueueName;

use pgsched_names::Key;
pub use pgsched_names::{MAX_JOB_ID_BYTES, MAX_JOB_NAME_BYTES};

/// A job's id: text, chosen by the caller or generated (a UUIDv7, time-ordered).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// A new unique id (UUIDv7: time-ordered, so new rows land at the end of the index).
    #[must_use]
    pub fn generate() -> JobId {
        JobId(uuid::Uuid::now_v7().to_string())
    }

    /// Validates a caller-supplied id: non-empty, at most [`MAX_JOB_ID_BYTES`] bytes,
    /// no NUL character (PostgreSQL text cannot hold it).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule that was broken.
    pub fn new(id: impl Into<String>) -> Result<JobId> {
        let id = id.into();
        validate_key(Key::JOB_ID, &id)?;
        Ok(JobId(id))
    }

    /// Wraps an id read back from the store (already validated when it was written).
    #[must_use]
    pub fn from_stored(id: String) -> JobId {
        JobId(id)
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned `String`.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for JobId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for JobId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Validates a job name (non-empty, at most [`MAX_JOB_NAME_BYTES`] bytes, no NUL).
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule that was broken.
pub fn validate_job_name(name: &str) -> Result<()> {
    validate_key(Key::JOB_NAME, name)
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting for the jobs it runs after (its parents) to complete; no worker claims it
    /// until the last one has.
    Blocked,
    /// Waiting for its due time or for a free worker.
    Pending,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Finished successfully.
    Completed,
    /// Failed for good (retries exhausted, undecodable, unknown, or lost too often).
    Failed,
    /// Cancelled by a caller.
    Cancelled,
    /// Not started within its misfire grace after its due time.
    Expired,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Blocked,
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::Expired,
    ];

    /// The text stored in the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Blocked => "blocked",
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Expired => "expired",
        }
    }

    /// Whether the job will never run again (completed, failed, cancelled, expired).
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        !matches!(
            self,
            JobStatus::Blocked | JobStatus::Pending | JobStatus::Running
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown job status {s:?}"))
    }
}

/// What scheduling does when the job id is already taken (the seed's three modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ConflictResolution {
    /// Fail with [`Error::AlreadyExists`] (bulk: report it at that index). The default for
    /// single schedules.
    #[default]
    Raise,
    /// Keep the existing job, whatever its status, and return its id.
    Ignore,
    /// Rewrite the existing job with the new definition and make it pending again, unless it
    /// is running: a running job is left alone and the call reports [`Error::JobRunning`].
    Replace,
}

impl ConflictResolution {
    /// The lowercase label ("raise", "ignore", "replace").
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            ConflictResolution::Raise => "raise",
            ConflictResolution::Ignore => "ignore",
            ConflictResolution::Replace => "replace",
        }
    }
}

impl fmt::Display for ConflictResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How long after its due time a pending job may still start before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MisfireGrace {
    /// The scheduler's default (300 s unless configured).
    #[default]
    Default,
    /// Expire the job if it has not started this long after its due time.
    After(Duration),
    /// Never expire.
    Never,
}

impl MisfireGrace {
    /// Resolves [`MisfireGrace::Default`] against the scheduler's default: `None` = never.
    #[must_use]
    pub fn resolve(self, default: Option<Duration>) -> Option<Duration> {
        match self {
            MisfireGrace::Default => default,
            MisfireGrace::After(grace) => Some(grace),
            MisfireGrace::Never => None,
        }
    }
}

impl From<Option<Duration>> for MisfireGrace {
    /// `Some(d)` expires after `d`; `None` never expires (the seed's `misfire_grace_time=None`).
    fn from(value: Option<Duration>) -> Self {
        value.map_or(MisfireGrace::Never, MisfireGrace::After)
    }
}

impl From<Duration> for MisfireGrace {
    fn from(value: Duration) -> Self {
        MisfireGrace::After(value)
    }
}

/// What a job that runs after others (its parents) does when one of them ends failed,
/// cancelled or expired instead of completed. Either way its `last_error` says which parent
/// ended how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OnParentFailure {
    /// The job is cancelled (and so are the jobs that run after it, by their own policy).
    #[default]
    Cancel,
    /// The job runs anyway, once every parent has ended.
    Run,
}

impl OnParentFailure {
    /// The text stored in the database (`cancel`, `run`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OnParentFailure::Cancel => "cancel",
            OnParentFailure::Run => "run",
        }
    }
}

/// The options a job is scheduled with: its attribute sets them (the definition's
/// [`defaults`](crate::JobDefinition::defaults)) and each schedule call may override them. An
/// option that becomes a job column is a field here and a line in the store's job row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions {
    /// The queue it waits in; only workers serving that queue run it.
    pub queue: QueueName,
    /// Its priority.
    pub priority: Priority,
    /// How many times a failed attempt is retried.
    pub max_retries: u32,
    /// How long after its due time it may still start. In a [`NewJob`] ready to be written
    /// it is resolved ([`ScheduleDefaults::resolve`](crate::ScheduleDefaults::resolve)): never
    /// [`MisfireGrace::Default`].
    pub misfire_grace: MisfireGrace,
    /// How long one attempt may run before it is cancelled; `None` is unbounded.
    pub timeout: Option<Duration>,
    /// With a [`concurrency key`](NewJob::concurrency_key): at most this many jobs of that key
    /// run at once, cluster-wide (at least 1).
    pub concurrency: u32,
    /// What it does when a parent (a job it runs after) does not complete.
    pub on_parent_failure: OnParentFailure,
}

impl JobOptions {
    /// The default queue, normal priority, no retries, the scheduler's misfire grace, no
    /// timeout, one job per concurrency key at a time, cancelled when a parent does not
    /// complete.
    pub const STANDARD: JobOptions = JobOptions {
        queue: QueueName::DEFAULT,
        concurrency: 1,
        priority: Priority::Normal,
        max_retries: 0,
        misfire_grace: MisfireGrace::Default,
        timeout: None,
        on_parent_failure: OnParentFailure::Cancel,
    };
}

/// One job to write: the single description of a job row in Rust. Built by a schedule call
/// (its options from the job's attribute and the call), checked and completed against the
/// scheduler's defaults by [`ScheduleDefaults::resolve`](crate::ScheduleDefaults::resolve),
/// then bound column by column by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Its id.
    pub id: JobId,
    /// Whether the id was generated for this job (a UUIDv7): no other job can have it, so it
    /// is written without a conflict check. Such an id is generated again when the job is
    /// resolved for writing, so copies of one description never share it.
    pub fresh_id: bool,
    /// The registered job name that will run it.
    pub name: String,
    /// The postcard-encoded arguments.
    pub payload: Vec<u8>,
    /// Hash of the argument schema the payload was written with; `None` skips the check.
    pub schema_hash: Option<u64>,
    /// When it is due; `None` means "now" by the database clock.
    pub run_at: Option<DateTime<Utc>>,
    /// Its options (queue, priority, retries, misfire grace, timeout, key concurrency).
    pub options: JobOptions,
    /// Jobs sharing this key run at most [`JobOptions::concurrency`] at a time, cluster-wide;
    /// `None`: no such limit.
    pub concurrency_key: Option<String>,
    /// Jobs sharing this key never run at the same time (at most one holds a live lease);
    /// `None`: no such limit. Periodic jobs with `advisory_lock` use their schedule's key.
    pub exclusive_key: Option<String>,
    /// The trace it was scheduled in (a W3C `traceparent`), continued by its attempts; see
    /// [`crate::trace`].
    pub trace_context: Option<String>,
    /// The jobs it runs after (its parents), each once: it stays
    /// [`blocked`](JobStatus::Blocked) until they have all completed. Each is a job that
    /// exists or another job of the same schedule call (see [`crate::dependencies`]).
    pub parents: Vec<JobId>,
}

impl NewJob {
    /// A job named `name` with its encoded arguments, a generated id, due now, with `options`.
    #[must_use]
    pub fn new(name: impl Into<String>, payload: Vec<u8>, options: JobOptions) -> NewJob {
        NewJob {
            id: JobId::generate(),
            fresh_id: true,
            name: name.into(),
            payload,
            schema_hash: None,
            run_at: None,
            options,
            concurrency_key: None,
            exclusive_key: None,
            trace_context: None,
            parents: Vec::new(),
        }
    }

    /// Gives the job a caller-chosen id (any text up to [`MAX_JOB_ID_BYTES`] without NUL).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty, oversized or NUL-containing id.
    pub fn with_id(self, id: impl Into<String>) -> Result<NewJob> {
        Ok(NewJob {
            id: JobId::new(id)?,
            fresh_id: false,
            ..self
        })
    }

    /// How long after `run_at` it may still start; `None` never expires. Meaningful once
    /// resolved by [`ScheduleDefaults::resolve`](crate::ScheduleDefaults::resolve) (an unresolved
    /// default reads as never).
    #[must_use]
    pub fn misfire_grace(&self) -> Option<Duration> {
        self.options.misfire_grace.resolve(None)
    }
}

/// What scheduling did with one job (bulk results are aligned with the input by index).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheduled {
    /// A new job was inserted.
    Inserted(JobId),
    /// An existing job was rewritten (`Replace`).
    Replaced(JobId),
    /// A job with this id already existed and was kept (`Ignore`).
    Kept(JobId),
    /// A job with this id already existed (`Raise`); nothing was written for this entry.
    AlreadyExists {
        /// The id.
        id: JobId,
        /// The existing job's status.
        status: JobStatus,
    },
    /// `Replace` met a running job; it was left alone.
    Running(JobId),
}

impl Scheduled {
    /// The job id this entry refers to.
    #[must_use]
    pub fn id(&self) -> &JobId {
        match self {
            Scheduled::Inserted(id)
            | Scheduled::Replaced(id)
            | Scheduled::Kept(id)
            | Scheduled::Running(id)
            | Scheduled::AlreadyExists { id, .. } => id,
        }
    }

    /// Whether this entry's definition was written (inserted or replaced).
    #[must_use]
    pub fn is_written(&self) -> bool {
        matches!(self, Scheduled::Inserted(_) | Scheduled::Replaced(_))
    }

    /// The single-schedule view: the id, or the conflict as an error.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] or [`Error::JobRunning`].
    pub fn into_result(self) -> Result<JobId> {
        match self {
            Scheduled::Inserted(id) | Scheduled::Replaced(id) | Scheduled::Kept(id) => Ok(id),
            Scheduled::AlreadyExists { id, status } => Err(Error::AlreadyExists { id, status }),
            Scheduled::Running(id) => Err(Error::JobRunning { id }),
        }
    }
}

/// A job as inspection shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    /// Its id.
    pub id: JobId,
    /// The registered name that runs it.
    pub name: String,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Its priority.
    pub priority: Priority,
    /// Attempts started so far (a crash or lost lease counts; a release at shutdown before
    /// the job started does not).
    pub attempts: u32,
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
    /// When it is (or was) due.
    pub run_at: DateTime<Utc>,
    /// The error of the last failed attempt, prefixed by its kind (`error:`, `panic:`, …).
    pub last_error: Option<String>,
    /// The worker that holds it (running) or last ran it.
    pub worker_id: Option<String>,
    /// The misfire grace stored with it; `None` never expires.
    pub misfire_grace: Option<Duration>,
    /// The per-attempt timeout stored with it.
    pub timeout: Option<Duration>,
    /// When it was first written.
    pub created_at: DateTime<Utc>,
    /// When its last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// The encoded arguments.
    pub payload: Vec<u8>,
    /// Hash of the argument schema the payload was written with (`None`: scheduled by name
    /// without one).
    pub schema_hash: Option<u64>,
    /// The queue it waits (or ran) in.
    pub queue: QueueName,
    /// Its concurrency key, if any.
    pub concurrency_key: Option<String>,
    /// The jobs it runs after, by id.
    pub parents: Vec<JobId>,
    /// The jobs that run after it, by id.
    pub dependents: Vec<JobId>,
    /// What the job returned, as stored (`None` unless it completed returning a value; read
    /// it typed with `Scheduler::job_output`).
    pub output: Option<crate::codec::JobOutput>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_ordered() {
        let a = JobId::generate();
        let b = JobId::generate();
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by creation time");
    }

    fn job() -> NewJob {
        let options = JobOptions {
            priority: Priority::High,
            max_retries: 2,
            ..JobOptions::STANDARD
        };
        NewJob::new("send", vec![1, 2, 3], options)
    }

    #[test]
    fn jobs_get_ids_the_default_grace_and_limits() {
        use crate::config::ScheduleDefaults;
        let defaults = ScheduleDefaults::default();
        let resolved = defaults.resolve(job()).expect("valid");
        assert_eq!(resolved.misfire_grace(), Some(Duration::from_secs(300)));
        assert_eq!(
            resolved.options.misfire_grace,
            MisfireGrace::After(Duration::from_secs(300))
        );
        assert!(resolved.fresh_id);
        let one = job();
        let (first, second) = (defaults.resolve(one.clone()), defaults.resolve(one));
        assert_ne!(
            first.expect("valid").id,
            second.expect("valid").id,
            "two copies of one job description are two jobs"
        );
        assert_eq!(resolved.options.priority, Priority::High);

        let never = NewJob {
            options: JobOptions {
                misfire_grace: MisfireGrace::Never,
                ..job().options
            },
            ..job()
        };
        assert_eq!(
            defaults.resolve(never).expect("valid").misfire_grace(),
            None
        );

        let named = job().with_id("welcome:42").expect("valid id");
        assert_eq!(named.id, "welcome:42");
        assert!(!named.fresh_id);
        assert!(job().with_id("").is_err());

        let tiny = ScheduleDefaults {
            max_payload_bytes: 2,
            ..defaults
        };
        assert!(matches!(
            tiny.resolve(job()),
            Err(Error::PayloadTooLarge {
                size: 3,
                limit: 2,
                ..
            })
        ));
        let bad_name = NewJob {
            name: String::new(),
            ..job()
        };
        assert!(defaults.resolve(bad_name).is_err());
    }

    #[test]
    fn ids_reject_empty_long_and_nul() {
        assert!(JobId::new("welcome:42").is_ok());
        assert!(JobId::new("'; DROP TABLE jobs;--").is_ok());
        assert!(matches!(
            JobId::new(""),
            Err(Error::InvalidInput { what: "job id", .. })
        ));
        assert!(JobId::new("a\0b").is_err());
        assert!(JobId::new("x".repeat(MAX_JOB_ID_BYTES)).is_ok());
        assert!(JobId::new("x".repeat(MAX_JOB_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn status_round_trips_and_knows_terminal_states() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
        }
        let terminal: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                JobStatus::Completed,
                JobStatus::Failed,
                JobStatus::Cancelled,
                JobStatus::Expired
            ]
        );
    }

    #[test]
    fn conflict_labels_are_the_seeds() {
        let labels: Vec<_> = [
            ConflictResolution::Raise,
            ConflictResolution::Ignore,
            ConflictResolution::Replace,
        ]
        .iter()
        .map(|c| c.label())
        .collect();
        assert_eq!(labels, ["raise", "ignore", "replace"]);
        assert_eq!(ConflictResolution::default(), ConflictResolution::Raise);
    }

    #[test]
    fn misfire_grace_resolves_against_the_default() {
        let default = Some(Duration::from_secs(300));
        assert_eq!(MisfireGrace::Default.resolve(default), default);
        assert_eq!(MisfireGrace::Never.resolve(default), None);
        assert_eq!(
            MisfireGrace::from(Some(Duration::from_secs(5))).resolve(default),
            Some(Duration::from_secs(5))
        );
        assert_eq!(MisfireGrace::from(None).resolve(default), None);
    }

    #[test]
    fn scheduled_maps_conflicts_to_errors() {
        let id = JobId::new("a").expect("valid id");
        assert_eq!(
            Scheduled::Kept(id.clone()).into_result().ok(),
            Some(id.clone())
        );
        assert!(matches!(
            Scheduled::AlreadyExists {
                id: id.clone(),
                status: JobStatus::Completed
            }
            .into_result(),
            Err(Error::AlreadyExists {
                status: JobStatus::Completed,
                ..
            })
        ));
        assert!(matches!(
            Scheduled::Running(id).into_result(),
            Err(Error::JobRunning { .. })
        ));
    }
}
